#include "storage/event_actions.h"

#include "storage/audit_log.h"
#include "storage/event_bulk.h"

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

// One audit entry for a single action, in its transaction; none without an actor.
status audit(pg::connection& c, const std::string& schema, const std::string& actor,
             const char* action, event_id id) {
    if (actor.empty()) return {};
    return record_audit(c, schema, {actor, action, std::to_string(id), 1, ""});
}

std::string plural(int n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

result<event_action_outcome> retry_event(pg::connection& c, const std::string& schema, event_id id,
                                         const std::string& actor) {
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
        auto requeued = apply_event_action(c, schema, bulk_action::retry, {id});
        if (!requeued.ok()) return requeued.error();
        auto kept = c.query("SELECT count(*) FROM " + s +
                                ".tpubsub_deliveries WHERE event_id = $1::bigint "
                                "AND status = 'completed'",
                            {sid});
        if (!kept.ok()) return kept.error();
        if (status a = audit(c, schema, actor, "events.retry", id); !a.ok()) return a;
        auto n = static_cast<int>(*requeued);
        auto completed = static_cast<int>(kept->get_int(0, 0));
        std::string msg = "event " + sid + " is pending again: ";
        msg += n == 0 ? std::string(
                            "no delivery was recorded, so every matching "
                            "subscriber runs")
                      : plural(n, "delivery", "deliveries") + " will run again";
        if (completed > 0) {
            msg += " (" + plural(completed, "completed delivery is", "completed deliveries are") +
                   " kept)";
        }
        return outcome{outcome::kind::done, msg, n};
    });
}

result<event_action_outcome> cancel_event(pg::connection& c, const std::string& schema, event_id id,
                                          const std::string& actor) {
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
        auto d = apply_event_action(c, schema, bulk_action::cancel, {id});
        if (!d.ok()) return d.error();
        if (status a = audit(c, schema, actor, "events.cancel", id); !a.ok()) return a;
        auto cancelled = static_cast<int>(*d);
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
