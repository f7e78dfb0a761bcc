#include "storage/event_queries.h"

namespace pubsub {

namespace {

std::string events_table(const pg::connection& c, const std::string& schema) {
    return c.quote_identifier(schema) + ".tpubsub_events";
}

// A text[] literal: each element double-quoted, so commas and braces in it stay inside it.
std::string text_array(const std::vector<std::string>& items) {
    std::string out = "{";
    for (const auto& s : items) {
        if (out.size() > 1) out += ',';
        pg::append_array_element(out, s);
    }
    return out + '}';
}

// The text a LIKE pattern matches when it has no wildcard (only escapes), else nullopt.
std::optional<std::string> exact_text(const std::optional<std::string>& like) {
    if (!like) return std::nullopt;
    std::string out;
    for (std::size_t i = 0; i < like->size(); ++i) {
        char c = (*like)[i];
        if (c == '%' || c == '_') return std::nullopt;
        if (c == '\\' && i + 1 < like->size()) c = (*like)[++i];
        out += c;
    }
    return out;
}

// The one WHERE clause of every listing, its ORDER BY and LIMIT, over parameters $1..$10.
struct listing {
    std::string tail;  // " WHERE ... ORDER BY ... LIMIT $7::int"
    std::string sort;  // the ORDER BY expression alone
    std::vector<std::optional<std::string>> params;
};

listing where_clause(const event_filter& f) {
    listing l;
    // A search in a time range reads tpubsub_events_created_idx backwards from its end and
    // stops at the limit, whatever the other conditions (a leading wildcard included): the
    // newest by created_at, which is event_id order for the events of one router. A type or
    // source without a wildcard goes in as an equality ($9, $10) rather than a LIKE: then the
    // planner estimates it from the column's statistics (and an operator's own index on
    // (column, created_at) gives created_at order and reads only that value's rows). A prefix
    // glob stays a LIKE.
    const bool ranged = f.since || f.until;
    const auto type_is = exact_text(f.type_like), source_is = exact_text(f.source_like);
    l.sort = f.scheduled.value_or(false)            ? "run_at, event_id"
             : f.sort == event_filter::order::queue ? "priority DESC, event_id"
             : ranged                               ? "created_at DESC, event_id DESC"
                                                    : "event_id DESC";
    l.tail =
        " WHERE ($1::text[] IS NULL OR status = ANY($1::text[])) AND ($2::text IS NULL OR "
        "event_type LIKE $2) AND ($3::text IS NULL OR event_source LIKE $3) AND "
        "($4::timestamptz IS NULL OR created_at >= $4) AND ($5::timestamptz IS NULL OR "
        "created_at < $5) AND ($6::bigint IS NULL OR event_id < $6) AND ($8::bool IS NULL OR "
        "(status = 'pending' AND run_at > now()) IS NOT DISTINCT FROM $8) AND ($9::text IS NULL "
        "OR event_type = $9) AND ($10::text IS NULL OR event_source = $10) ORDER BY " +
        l.sort + " LIMIT $7::int";
    l.params = {f.statuses.empty() ? std::nullopt : std::optional(text_array(f.statuses)),
                type_is ? std::nullopt : f.type_like,
                source_is ? std::nullopt : f.source_like,
                f.since,
                f.until,
                f.before ? std::optional(std::to_string(*f.before)) : std::nullopt,
                std::to_string(f.limit),
                f.scheduled ? std::optional<std::string>(*f.scheduled ? "t" : "f") : std::nullopt,
                type_is,
                source_is};
    return l;
}

constexpr const char* event_columns =
    "event_id, event_type, event_source, event_data, status, priority, created_at, "
    "processed_at, completed_at, error_message, retry_count";

// Columns of events_after and events_by_id, in this order.
constexpr const char* follow_columns =
    "event_id, event_type, event_source, status, priority, retry_count, "
    "coalesce(error_message, ''), to_char(CASE status WHEN 'pending' THEN created_at WHEN "
    "'processing' THEN processed_at ELSE coalesce(completed_at, processed_at, created_at) END "
    "AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";

}  // namespace

std::string like_from_glob(std::string_view glob) {
    std::string out;
    for (char c : glob) {
        if (c == '%' || c == '_' || c == '\\') {
            out += '\\';
            out += c;
        } else if (c == '*') {
            out += '%';
        } else if (c == '?') {
            out += '_';
        } else {
            out += c;
        }
    }
    return out;
}

std::string like_exact(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '%' || c == '_' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

status check_timestamp(pg::connection& c, const std::string& text) {
    auto r = c.query("SELECT $1::timestamptz", {text});
    return r.ok() ? status() : r.error();
}

result<event_page> list_events_json(pg::connection& c, const std::string& schema,
                                    const event_filter& f) {
    listing l = where_clause(f);
    auto r = c.query("SELECT coalesce(json_agg(e ORDER BY " + l.sort +
                         "), '[]')::text, min(event_id), count(*) FROM (SELECT event_id, "
                         "event_type, event_source, status, priority, created_at, processed_at, "
                         "completed_at, error_message, retry_count, run_at FROM " +
                         events_table(c, schema) + l.tail + ") e",
                     l.params);
    if (!r.ok()) return r.error();
    event_page page{std::string(r->get(0, 0)), std::nullopt};
    if (f.sort == event_filter::order::newest && r->get_int(0, 2) == f.limit) {
        page.next_before = r->get_int(0, 1);
    }
    return page;
}

result<pg::query_result> list_events_rows(pg::connection& c, const std::string& schema,
                                          const event_filter& f) {
    listing l = where_clause(f);
    return c.query(
        "SELECT event_id, event_type, event_source, status, priority, created_at, "
        "completed_at, retry_count, error_message, run_at FROM " +
            events_table(c, schema) + l.tail,
        l.params);
}

result<std::optional<event_detail>> show_event_json(pg::connection& c, const std::string& schema,
                                                    event_id id) {
    auto r = c.query(
        "SELECT row_to_json(e)::text, (SELECT coalesce(json_agg(x), '[]') FROM (VALUES "
        "('pending', e.created_at), ('processing', e.processed_at), (CASE WHEN e.status IN "
        "('completed', 'failed', 'cancelled') THEN e.status END, e.completed_at)) "
        "AS x(status, at) WHERE x.status IS NOT NULL AND x.at IS NOT NULL)::text FROM (SELECT " +
            std::string(event_columns) + " FROM " + events_table(c, schema) +
            " WHERE event_id = $1::bigint) e",
        {std::to_string(id)});
    if (!r.ok()) return r.error();
    if (r->rows() == 0) return std::optional<event_detail>();
    auto deliveries = load_deliveries(c, schema, id);
    if (!deliveries.ok()) return deliveries.error();
    return std::optional(
        event_detail{std::string(r->get(0, 0)), std::string(r->get(0, 1)), std::move(*deliveries)});
}

result<pg::query_result> show_event_row(pg::connection& c, const std::string& schema, event_id id,
                                        bool deliveries_column) {
    std::string deliveries =
        deliveries_column
            ? ", (SELECT coalesce(jsonb_agg(to_jsonb(d) - 'event_id' - 'version' ORDER BY "
              "d.subscriber_id), '[]'::jsonb) FROM " +
                  c.quote_identifier(schema) +
                  ".tpubsub_deliveries d WHERE d.event_id = e.event_id) AS deliveries"
            : "";
    return c.query("SELECT " + std::string(event_columns) + deliveries + " FROM " +
                       events_table(c, schema) + " e WHERE event_id = $1::bigint",
                   {std::to_string(id)});
}

result<pg::query_result> events_after(pg::connection& c, const std::string& schema, event_id after,
                                      const std::optional<std::string>& type_like, int limit) {
    return c.query(std::string("SELECT ") + follow_columns + " FROM " + events_table(c, schema) +
                       " WHERE event_id > $1::bigint AND ($2::text IS NULL OR event_type LIKE $2) "
                       "ORDER BY event_id LIMIT $3::int",
                   {std::to_string(after), type_like, std::to_string(limit)});
}

result<pg::query_result> events_by_id(pg::connection& c, const std::string& schema,
                                      const std::vector<event_id>& ids) {
    return c.query(std::string("SELECT ") + follow_columns + " FROM " + events_table(c, schema) +
                       " WHERE event_id = ANY($1::bigint[]) ORDER BY event_id",
                   {pg::bigint_array(ids)});
}

result<event_id> newest_event_id(pg::connection& c, const std::string& schema) {
    auto r = c.query("SELECT coalesce(max(event_id), 0) FROM " + events_table(c, schema));
    if (!r.ok()) return r.error();
    return r->get_int(0, 0);
}

}  // namespace pubsub
