#include "storage/event_actions.h"

#include "storage/channels.h"

namespace pubsub {

namespace {

using outcome = event_action_outcome;

// Runs body inside BEGIN ... COMMIT; rolls back when it fails or decides not to act.
template <class Body>
result<outcome> in_transaction(pg::connection& c, Body&& body) {
    auto tx = pg::transaction::begin(c);
    if (!tx.ok()) return tx.error();
    result<outcome> out = body();
    if (!out.ok() || out->what != outcome::kind::done) return out;  // tx rolls back
    if (status s = tx->commit(); !s.ok()) return s;
    return out;
}

// Locks the event row; its status, or "" when there is no such event.
result<std::string> lock_event(pg::connection& c, const std::string& s, event_id id) {
    auto r = c.query("SELECT status FROM " + s +
                         ".tpubsub_events WHERE event_id = $1::bigint "
                         "FOR UPDATE",
                     {std::to_string(id)});
    if (!r.ok()) return r.error();
    if (r->rows() == 0) return std::string();
    return std::string(r->get(0, 0));
}

outcome not_found(event_id id) {
    return {outcome::kind::not_found, "no event with id " + std::to_string(id), 0};
}

std::string plural(int n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

result<event_action_outcome> retry_event(pg::connection& c, const std::string& schema,
                                         event_id id) {
    const std::string s = c.quote_identifier(schema);
    const std::string sid = std::to_string(id);
    return in_transaction(c, [&]() -> result<outcome> {
        auto st = lock_event(c, s, id);
        if (!st.ok()) return st.error();
        if (st->empty()) return not_found(id);
        if (*st != "failed" && *st != "cancelled") {
            return outcome{
                outcome::kind::not_applicable,
                "event " + sid + " is " + *st + ": only failed or cancelled events can be retried",
                0};
        }
        // A fresh budget: a delivery is dead again after max_retries more failed attempts.
        auto d = c.query("UPDATE " + s +
                             ".tpubsub_deliveries SET status = 'pending', retry_base = attempts, "
                             "next_attempt_at = NULL WHERE event_id = $1::bigint "
                             "AND status <> 'completed' RETURNING 1",
                         {sid});
        if (!d.ok()) return d.error();
        auto kept = c.query("SELECT count(*) FROM " + s +
                                ".tpubsub_deliveries WHERE event_id = $1::bigint "
                                "AND status = 'completed'",
                            {sid});
        if (!kept.ok()) return kept.error();
        auto e = c.query("UPDATE " + s +
                             ".tpubsub_events SET status = 'pending', claimed_by = NULL, "
                             "completed_at = NULL WHERE event_id = $1::bigint",
                         {sid});
        if (!e.ok()) return e.error();
        // Actions first: the owning router forgets the cancel before any sweep claims the event.
        auto n = c.query("SELECT pg_notify($2, 'retry ' || $1), pg_notify($3, $1)",
                         {sid, schema_channel(event_actions_channel, schema),
                          schema_channel("tpubsub_events", schema)});
        if (!n.ok()) return n.error();
        int requeued = d->rows();
        auto completed = static_cast<int>(kept->get_int(0, 0));
        std::string msg = "event " + sid + " is pending again: ";
        msg += requeued == 0 ? std::string(
                                   "no delivery was recorded, so every matching "
                                   "subscriber runs")
                             : plural(requeued, "delivery", "deliveries") + " will run again";
        if (completed > 0) {
            msg += " (" + plural(completed, "completed delivery is", "completed deliveries are") +
                   " kept)";
        }
        return outcome{outcome::kind::done, msg, requeued};
    });
}

result<event_action_outcome> cancel_event(pg::connection& c, const std::string& schema,
                                          event_id id) {
    const std::string s = c.quote_identifier(schema);
    const std::string sid = std::to_string(id);
    return in_transaction(c, [&]() -> result<outcome> {
        auto st = lock_event(c, s, id);
        if (!st.ok()) return st.error();
        if (st->empty()) return not_found(id);
        if (*st != "pending" && *st != "processing") {
            return outcome{outcome::kind::not_applicable,
                           "event " + sid + " is " + *st +
                               ": only pending or processing events can be cancelled",
                           0};
        }
        auto d = c.query("UPDATE " + s +
                             ".tpubsub_deliveries SET status = 'cancelled', "
                             "next_attempt_at = NULL, finished_at = coalesce(finished_at, now()) "
                             "WHERE event_id = $1::bigint AND status NOT IN ('completed', 'dead') "
                             "RETURNING 1",
                         {sid});
        if (!d.ok()) return d.error();
        auto e = c.query("UPDATE " + s +
                             ".tpubsub_events SET status = 'cancelled', completed_at = now(), "
                             "error_message = coalesce(error_message, 'cancelled by an operator') "
                             "WHERE event_id = $1::bigint",
                         {sid});
        if (!e.ok()) return e.error();
        auto n = c.query("SELECT pg_notify($2, 'cancel ' || $1)",
                         {sid, schema_channel(event_actions_channel, schema)});
        if (!n.ok()) return n.error();
        int cancelled = d->rows();
        std::string msg = "event " + sid + " cancelled (it was " + *st + ")";
        if (cancelled > 0) {
            msg += "; " + plural(cancelled, "scheduled delivery", "scheduled deliveries") +
                   " cancelled";
        }
        if (*st == "processing") msg += "; a handler already running is left to finish";
        return outcome{outcome::kind::done, msg, cancelled};
    });
}

result<std::vector<event_state>> load_event_states(pg::connection& c, const std::string& schema,
                                                   const std::vector<event_id>& ids) {
    const std::string array = pg::bigint_array(ids);
    auto r = c.query("SELECT event_id, status, coalesce(claimed_by, '') FROM " +
                         c.quote_identifier(schema) +
                         ".tpubsub_events WHERE event_id = ANY($1::bigint[])",
                     {array});
    if (!r.ok()) return status::error("cannot read event states: " + r.message());
    std::vector<event_state> out;
    out.reserve(static_cast<std::size_t>(r->rows()));
    for (int i = 0; i < r->rows(); ++i) {
        out.push_back({r->get_int(i, 0), std::string(r->get(i, 1)), std::string(r->get(i, 2))});
    }
    return out;
}

result<std::vector<delivery_row>> load_deliveries(pg::connection& c, const std::string& schema,
                                                  event_id id) {
    auto us = [](const char* col) {
        return std::string("coalesce((extract(epoch FROM ") + col + ") * 1000000)::bigint, 0)";
    };
    auto r = c.query(
        "SELECT subscriber_id, subscriber_name, status, coalesce(last_error, ''), "
        "attempts, " +
            us("next_attempt_at") + ", " + us("started_at") + ", " + us("finished_at") + " FROM " +
            c.quote_identifier(schema) +
            ".tpubsub_deliveries WHERE event_id = $1::bigint ORDER BY subscriber_id",
        {std::to_string(id)});
    if (!r.ok()) return status::error("cannot load deliveries: " + r.message());
    std::vector<delivery_row> out;
    for (int i = 0; i < r->rows(); ++i) {
        out.push_back({r->get_int(i, 0), std::string(r->get(i, 1)), std::string(r->get(i, 2)),
                       std::string(r->get(i, 3)), static_cast<int>(r->get_int(i, 4)),
                       r->get_int(i, 5), r->get_int(i, 6), r->get_int(i, 7)});
    }
    return out;
}

}  // namespace pubsub
