#include "storage/event_queries.h"

#include <algorithm>

#include "storage/event_chunks.h"
#include "storage/event_search.h"

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

// The one WHERE clause of every listing over parameters $1..$9, its ORDER BY, and the LIMIT
// ($10) of a listing read straight from the table.
struct listing {
    std::string where;  // the condition alone
    std::string sort;   // the ORDER BY expression alone
    std::vector<std::optional<std::string>> params;
    std::string tail() const { return " WHERE " + where + " ORDER BY " + sort + " LIMIT $10::int"; }
};

listing where_clause(const event_filter& f) {
    listing l;
    // A type or source without a wildcard goes in as an equality ($8, $9) rather than a LIKE:
    // then the planner estimates it from the column's statistics (and an operator's own index
    // on the column can serve it). A prefix glob stays a LIKE.
    const auto type_is = exact_text(f.type_like), source_is = exact_text(f.source_like);
    l.sort = f.scheduled.value_or(false)            ? "run_at, event_id"
             : f.sort == event_filter::order::queue ? "priority DESC, event_id"
                                                    : "event_id DESC";
    l.where =
        "($1::text[] IS NULL OR status = ANY($1::text[])) AND ($2::text IS NULL OR "
        "event_type LIKE $2) AND ($3::text IS NULL OR event_source LIKE $3) AND "
        "($4::timestamptz IS NULL OR created_at >= $4) AND ($5::timestamptz IS NULL OR "
        "created_at < $5) AND ($6::bigint IS NULL OR event_id < $6) AND ($7::bool IS NULL OR "
        "(status = 'pending' AND run_at > now()) IS NOT DISTINCT FROM $7) AND ($8::text IS NULL "
        "OR event_type = $8) AND ($9::text IS NULL OR event_source = $9)";
    l.params = {f.statuses.empty() ? std::nullopt : std::optional(text_array(f.statuses)),
                type_is ? std::nullopt : f.type_like,
                source_is ? std::nullopt : f.source_like,
                f.since,
                f.until,
                f.before ? std::optional(std::to_string(*f.before)) : std::nullopt,
                f.scheduled ? std::optional<std::string>(*f.scheduled ? "t" : "f") : std::nullopt,
                type_is,
                source_is};
    return l;
}

bool is_open(const std::string& s) { return s == "pending" || s == "processing"; }
bool is_failed(const std::string& s) { return s == "failed"; }

// The chunks to read for a search by time range, type or source (event_search.h), or nullopt
// when the listing reads the table straight: the queue and scheduled orders, open statuses
// (their own partial indexes hold few rows), failed ones without a range (newest first through
// the primary key or the failed index), and filters the chunks cannot narrow (none, or only
// leading wildcards and no range: the primary key walked from the newest id, stopping at the
// limit). Failed events in a range are read through the chunks and the failed index together.
std::optional<chunk_probe> chunk_probe_for(const event_filter& f) {
    if (f.sort != event_filter::order::newest || f.scheduled.value_or(false)) return std::nullopt;
    const bool ranged = f.since || f.until;
    const auto& st = f.statuses;
    const bool failed_only = !st.empty() && std::all_of(st.begin(), st.end(), is_failed);
    if (!st.empty() && std::all_of(st.begin(), st.end(), [](const std::string& s) {
            return is_open(s) || is_failed(s);
        })) {
        if (!failed_only || !ranged) return std::nullopt;
    }
    chunk_probe p{f.since, f.until, f.before, {}, failed_only};
    if (f.type_like) p.bloom_bits = bloom_bits_for_like(chunk_field::type, *f.type_like);
    if (f.source_like) {
        auto more = bloom_bits_for_like(chunk_field::source, *f.source_like);
        p.bloom_bits.insert(p.bloom_bits.end(), more.begin(), more.end());
    }
    if (!ranged && p.bloom_bits.empty()) return std::nullopt;
    return p;
}

// The ids of a listing that reads the chunks, newest first; nullopt for one that does not.
result<std::optional<std::vector<event_id>>> chunked_ids(pg::connection& c,
                                                         const std::string& schema,
                                                         const event_filter& f, const listing& l) {
    auto probe = chunk_probe_for(f);
    if (!probe) return std::optional<std::vector<event_id>>();
    auto ids = search_by_chunks(c, schema, *probe, l.where, l.params, f.limit);
    if (!ids.ok()) return ids.error();
    return std::optional(std::move(*ids));
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

namespace {

// Where a listing's rows come from: " WHERE ... ORDER BY ... LIMIT ..." after the table, and
// its parameters; for a search through the chunks, the ids it found.
struct listing_source {
    std::string tail;
    std::vector<std::optional<std::string>> params;
    std::optional<std::vector<event_id>> ids;
};

result<listing_source> source_of(pg::connection& c, const std::string& schema,
                                 const event_filter& f) {
    listing l = where_clause(f);
    auto ids = chunked_ids(c, schema, f, l);
    if (!ids.ok()) return ids.error();
    if (!*ids) {
        l.params.emplace_back(std::to_string(f.limit));
        return listing_source{l.tail(), std::move(l.params), std::nullopt};
    }
    std::string array = pg::bigint_array(**ids);
    return listing_source{" WHERE event_id = ANY($1::bigint[]) ORDER BY event_id DESC",
                          {std::move(array)},
                          std::move(*ids)};
}

}  // namespace

result<event_page> list_events_json(pg::connection& c, const std::string& schema,
                                    const event_filter& f) {
    auto src = source_of(c, schema, f);
    if (!src.ok()) return src.error();
    auto r = c.query("SELECT coalesce(json_agg(e ORDER BY " + where_clause(f).sort +
                         "), '[]')::text, min(event_id), count(*) FROM (SELECT event_id, "
                         "event_type, event_source, status, priority, created_at, processed_at, "
                         "completed_at, error_message, retry_count, run_at FROM " +
                         events_table(c, schema) + src->tail + ") e",
                     src->params);
    if (!r.ok()) return r.error();
    event_page page{std::string(r->get(0, 0)), std::nullopt};
    if (src->ids) {
        // The search's own count: a row pruned since it was found does not end the paging.
        if (std::int64_t(src->ids->size()) == f.limit) page.next_before = src->ids->back();
    } else if (f.sort == event_filter::order::newest && r->get_int(0, 2) == f.limit) {
        page.next_before = r->get_int(0, 1);
    }
    return page;
}

result<pg::query_result> list_events_rows(pg::connection& c, const std::string& schema,
                                          const event_filter& f) {
    auto src = source_of(c, schema, f);
    if (!src.ok()) return src.error();
    return c.query(
        "SELECT event_id, event_type, event_source, status, priority, created_at, "
        "completed_at, retry_count, error_message, run_at FROM " +
            events_table(c, schema) + src->tail,
        src->params);
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
