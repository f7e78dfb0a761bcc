#include "storage/event_store.h"

#include "storage/delivery_store.h"

namespace pubsub {

namespace {

constexpr const char* event_columns =
    "e.event_id, e.event_type, e.event_source, e.event_data::text, e.priority, "
    "(extract(epoch FROM e.created_at) * 1000000)::bigint, e.retry_count, "
    "e.status = 'processing' AND e.error_message IS NULL, "
    "coalesce((extract(epoch FROM e.run_at) * 1000000)::bigint, 0)";

// Names of event_columns, for a CTE that returns them.
constexpr const char* event_column_names =
    "event_id, event_type, event_source, event_data, priority, created_us, retry_count, "
    "running, run_at_us";
constexpr int event_column_count = 9;

event_ptr to_event(const pg::query_result& r, int i) {
    auto ev = std::make_shared<event>();
    ev->id = r.get_int(i, 0);
    ev->type = r.get(i, 1);
    ev->source = r.get(i, 2);
    auto data = r.get(i, 3);
    ev->data_json.reserve(data.size() + 64);  // simdjson padding for the matcher
    ev->data_json.assign(data);
    ev->priority = static_cast<int>(r.get_int(i, 4));
    ev->created_us = r.get_int(i, 5);
    // A `processing` row without an error had its first run under way when its node died:
    // that run counts, so PUBSUB_ATTEMPT tells the handler it may have seen the event
    // before. (After a failure retry_count already counts it; delivery rows then decide.)
    ev->attempt = static_cast<int>(r.get_int(i, 6)) + 1 + (r.get(i, 7) == "t");
    ev->run_at_us = r.get_int(i, 8);  // a scheduled event stays held until then
    ev->from_table = true;
    return ev;
}

std::vector<event_ptr> to_events(const pg::query_result& r) {
    std::vector<event_ptr> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(to_event(r, i));
    return out;
}

std::string nulls(int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += i == 0 ? "NULL" : ", NULL";
    return out;
}

// A statement that runs `events_sql` (a SELECT or an UPDATE ... RETURNING of event_columns)
// and reads the delivery rows of the events it returns: one round trip for both. `with` holds
// the CTEs events_sql uses ("" or "name AS (...), "). Event rows and delivery rows come back
// as one result, each padded with NULLs where the other's columns are (read_claimed).
//
// Both parts read one snapshot, taken before the claim's row locks. That loses nothing: an
// operator's retry changes the event row and its delivery rows in one transaction, so an event
// this statement finds claimable (committed before the snapshot) shows that retry's delivery
// rows too; a retry committed later left the row failed or cancelled in the snapshot, which
// no claim matches (a concurrent change only re-checks rows that matched). A node that stalled
// past its deadline may still write delivery rows after any claim read them: that is the
// at-least-once of failover (handlers get attempt numbers).
std::string with_deliveries(pg::connection& conn, const std::string& schema,
                            const std::string& with, const std::string& events_sql) {
    return "WITH " + with + "found (" + event_column_names + ") AS (" + events_sql +
           ") SELECT found.*, " + nulls(delivery_column_count) + " FROM found UNION ALL SELECT " +
           nulls(event_column_count) + ", " + delivery_columns("d") + " FROM " +
           conn.quote_identifier(schema) +
           ".tpubsub_deliveries d WHERE d.event_id IN (SELECT event_id FROM found)";
}

result<claimed_events> read_claimed(result<pg::query_result> r, std::string_view what) {
    if (!r.ok()) return status::error("cannot " + std::string(what) + ": " + r.message());
    claimed_events out;
    for (int i = 0; i < r->rows(); ++i) {
        if (!r->is_null(i, 0)) {
            out.events.push_back(to_event(*r, i));
        } else {
            out.deliveries.push_back(read_delivery_record(*r, i, event_column_count));
        }
    }
    return out;
}

const char* claim_statement(claim_kind kind) {
    return kind == claim_kind::orphaned ? "pubsub_claim_orphaned" : "pubsub_claim_unclaimed";
}

// The claim of `kind` with $1 the node id, $2 the limit, $3 the claim token.
std::string claim_sql(pg::connection& conn, const std::string& schema, claim_kind kind) {
    std::string s = conn.quote_identifier(schema);
    std::string open = s + ".tpubsub_events WHERE status IN ('pending', 'processing') AND ";
    // A node is live while its heartbeat is younger than the deadline in its own row. An
    // orphan claim takes at most an even share of the orphans (their count over the live
    // nodes'), so the first survivor to look does not take them all.
    std::string with, whose = "claimed_by IS NULL", limit = "$2::bigint", taken;
    if (kind == claim_kind::orphaned) {
        with = "live AS (SELECT node_id FROM " + s +
               ".tpubsub_nodes WHERE last_heartbeat > now() - make_interval(secs => "
               "dead_after_s)), ";
        whose = "claimed_by <> $1 AND claimed_by NOT IN (SELECT node_id FROM live)";
        taken = ", taken_from = e.claimed_by, taken_at = now()";  // e: the row before the update
        limit =
            "least($2::bigint, (SELECT ceil(count(*)::numeric / greatest(1, (SELECT "
            "count(*) FROM live)))::bigint FROM " +
            open + whose + "))";
    }
    return with_deliveries(
        conn, schema, with,
        "UPDATE " + s + ".tpubsub_events e SET claimed_by = $1, claim_token = $3" + taken +
            " FROM (SELECT event_id FROM " + open + whose +
            " ORDER BY priority DESC, event_id LIMIT " + limit +
            " FOR UPDATE SKIP LOCKED) c WHERE e.event_id = c.event_id RETURNING " + event_columns);
}

// The open events of `schema` that satisfy `condition` (over alias e), oldest first, at most
// `limit` (a parameter reference such as "$2", or "ALL").
result<std::vector<event_ptr>> select_open(pg::connection& conn, const std::string& schema,
                                           const std::string& condition, const std::string& limit,
                                           const std::vector<std::optional<std::string>>& params,
                                           std::string_view what) {
    auto r = conn.query(std::string("SELECT ") + event_columns + " FROM " +
                            conn.quote_identifier(schema) +
                            ".tpubsub_events e WHERE e.status IN ('pending', 'processing') AND " +
                            condition + " ORDER BY e.event_id LIMIT " + limit,
                        params);
    if (!r.ok()) return status::error("cannot " + std::string(what) + ": " + r.message());
    return to_events(*r);
}

}  // namespace

result<std::vector<event_ptr>> load_own_open_events(pg::connection& conn, const std::string& schema,
                                                    const std::string& node_id, std::size_t limit,
                                                    event_id after) {
    return select_open(conn, schema, "e.claimed_by = $1 AND e.event_id > $3::bigint", "$2::bigint",
                       {node_id, std::to_string(limit), std::to_string(after)}, "load open events");
}

result<std::vector<event_ptr>> load_own_events(pg::connection& conn, const std::string& schema,
                                               const std::string& node_id,
                                               std::span<const event_id> ids) {
    std::string list = "{";
    for (event_id id : ids) {
        if (list.size() > 1) list += ',';
        list += std::to_string(id);
    }
    list += '}';
    return select_open(conn, schema, "e.claimed_by = $1 AND e.event_id = ANY($2::bigint[])", "ALL",
                       {node_id, list}, "read scheduled events");
}

result<std::vector<event_ptr>> load_open_events(pg::connection& conn, const std::string& schema,
                                                std::size_t limit) {
    return select_open(conn, schema, "true", "$1::bigint", {std::to_string(limit)},
                       "load open events");
}

status prepare_claims(pg::connection& conn, const std::string& schema) {
    // Those of an earlier prepare_claims on this session go first (PREPARE does not replace).
    auto old =
        conn.query("SELECT name FROM pg_prepared_statements WHERE name IN ($1, $2)",
                   {claim_statement(claim_kind::unclaimed), claim_statement(claim_kind::orphaned)});
    if (!old.ok()) return status::error("cannot prepare the claims: " + old.message());
    for (int i = 0; i < old->rows(); ++i) {
        if (status st = conn.exec("DEALLOCATE " + std::string(old->get(i, 0))); !st.ok()) {
            return status::error("cannot prepare the claims: " + st.message());
        }
    }
    for (auto kind : {claim_kind::unclaimed, claim_kind::orphaned}) {
        if (status st = conn.exec(std::string("PREPARE ") + claim_statement(kind) +
                                  " (text, bigint, bigint) AS " + claim_sql(conn, schema, kind));
            !st.ok()) {
            return status::error("cannot prepare the claims: " + st.message());
        }
    }
    return status();
}

result<claimed_events> claim_open_events(pg::connection& conn, const std::string& node_id,
                                         std::size_t limit, std::int64_t claim_token,
                                         claim_kind kind) {
    // EXECUTE takes no bind parameters (a utility statement): the values go in as literals.
    return read_claimed(conn.query(std::string("EXECUTE ") + claim_statement(kind) + "(" +
                                   conn.quote_literal(node_id) + ", " + std::to_string(limit) +
                                   ", " + std::to_string(claim_token) + ")"),
                        "claim events");
}

result<std::vector<event_id>> events_taken_from(pg::connection& conn, const std::string& schema,
                                                const std::string& node_id,
                                                std::chrono::milliseconds window) {
    auto r = conn.query("SELECT event_id FROM " + conn.quote_identifier(schema) +
                            ".tpubsub_events WHERE taken_from = $1 AND claimed_by <> $1 AND "
                            "taken_at > clock_timestamp() - make_interval(secs => $2::float8)",
                        {node_id, std::to_string(static_cast<double>(window.count()) / 1000.0)});
    if (!r.ok())
        return status::error("cannot read the events taken from this node: " + r.message());
    std::vector<event_id> ids;
    ids.reserve(static_cast<std::size_t>(r->rows()));
    for (int i = 0; i < r->rows(); ++i) ids.push_back(r->get_int(i, 0));
    return ids;
}

result<claimed_events> load_lost_claim(pg::connection& conn, const std::string& schema,
                                       const std::string& node_id, std::int64_t claim_token) {
    return read_claimed(
        conn.query(
            with_deliveries(conn, schema, "",
                            std::string("SELECT ") + event_columns + " FROM " +
                                conn.quote_identifier(schema) +
                                ".tpubsub_events e WHERE e.status IN ('pending', "
                                "'processing') AND e.claimed_by = $1 AND e.claim_token = $2"),
            {node_id, std::to_string(claim_token)}),
        "reload a lost claim");
}

}  // namespace pubsub
