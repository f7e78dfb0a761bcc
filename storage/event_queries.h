// event_queries: the read side of tpubsub_events, shared by the HTTP admin API and pubsubctl:
// one filter, one WHERE clause, and the two shapes the callers print (a JSON page for the API,
// rows for pubsubctl's table or --json output).
//
// A search by time range, type or source reads tpubsub_event_chunks first and then only the id
// ranges that can hold a match (event_search.h), in a few statements; every other call is one
// query. Plain functions over a caller-owned connection (not thread-safe, like the
// connection). Database errors come back as result errors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "router/event.h"
#include "storage/event_actions.h"
#include "storage/pg.h"

namespace pubsub {

// Which events to list. Every field is optional; the API exposes all of them, pubsubctl
// `events list` only statuses (one), type (exact, via like_exact) and limit.
struct event_filter {
    std::vector<std::string> statuses;       // any of these; empty: every status
    std::optional<std::string> type_like;    // LIKE pattern on event_type
    std::optional<std::string> source_like;  // LIKE pattern on event_source
    std::optional<std::string> since;        // timestamptz text: created_at >= since
    std::optional<std::string> until;        // timestamptz text: created_at < until
    std::optional<event_id> before;          // event_id < before (paging, newest first)
    std::int64_t limit = 100;
    // true: only scheduled events (pending with a run_at ahead), soonest first; false: none of
    // them; unset: every event.
    std::optional<bool> scheduled;
    // newest: highest event_id first, with or without a time range (events whose ids no chunk
    // covers below the newest chunk, such as rows bulk-loaded without summarize_events, are
    // not found by a search of a range, type or source). queue: priority, then id.
    enum class order { newest, queue } sort = order::newest;
};

// A glob (`*`, `?`) as a LIKE pattern; other LIKE metacharacters are escaped.
std::string like_from_glob(std::string_view glob);
// A LIKE pattern that matches exactly `text`.
std::string like_exact(std::string_view text);

// Whether PostgreSQL reads `text` as a timestamptz (for a filter's since / until).
status check_timestamp(pg::connection& c, const std::string& text);

// A page of events as a JSON array (event_id, event_type, event_source, status, priority,
// created_at, processed_at, completed_at, error_message, retry_count, run_at), and the `before` of
// the next page when order is newest and the page is full.
struct event_page {
    std::string events_json;
    std::optional<event_id> next_before;
};
result<event_page> list_events_json(pg::connection& c, const std::string& schema,
                                    const event_filter& f);

// The same events as rows: event_id, event_type, event_source, status, priority, created_at,
// completed_at, retry_count, error_message, run_at.
result<pg::query_result> list_events_rows(pg::connection& c, const std::string& schema,
                                          const event_filter& f);

// One event in full: the row as JSON, its transitions (status and time, from the row's
// timestamps) as a JSON array, and its delivery rows. nullopt when there is no such event.
struct event_detail {
    std::string event_json, transitions_json;
    std::vector<delivery_row> deliveries;
};
result<std::optional<event_detail>> show_event_json(pg::connection& c, const std::string& schema,
                                                    event_id id);

// One event as one row (every column of the event; no row when absent); with
// deliveries_column, a last `deliveries` column holding its delivery rows as a JSON array.
result<pg::query_result> show_event_row(pg::connection& c, const std::string& schema, event_id id,
                                        bool deliveries_column);

// For following events as they change (pubsubctl tail). Rows: event_id, event_type,
// event_source, status, priority, retry_count, error_message ("" for NULL), and the row's own
// time of its status (created_at, processed_at or completed_at) as ISO 8601 UTC text.
// The events after `after` (ascending, at most `limit`), of a type matching type_like if set.
result<pg::query_result> events_after(pg::connection& c, const std::string& schema, event_id after,
                                      const std::optional<std::string>& type_like, int limit);
// These events, ascending.
result<pg::query_result> events_by_id(pg::connection& c, const std::string& schema,
                                      const std::vector<event_id>& ids);
// The newest event's id, 0 when there is none.
result<event_id> newest_event_id(pg::connection& c, const std::string& schema);

}  // namespace pubsub
