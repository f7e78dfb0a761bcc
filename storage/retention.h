// retention: how long finished events are kept (SPEC 7.4, --retention STATUS=DURATION), and the
// SQL that removes those older than that, with their per-event rows (tpubsub_deliveries), in
// short bounded transactions. Shared by the daemon's pruner (retention_pruner.h) and
// `pubsubctl events prune`.
//
// What is removed: events whose status is completed, failed or cancelled and whose completed_at
// is older than the status's duration, and their delivery rows. Not removed: open events,
// tpubsub_watched_files (the watcher's record of files already emitted; removing a row would
// emit the file again), and tables that outlive events on purpose (producers' keys).
//
// Plain functions over a caller-owned connection (not thread-safe, like the connection).
// Database errors come back as result errors.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "storage/pg.h"

namespace pubsub {

// The statuses retention applies to, in the order a cycle prunes them.
inline constexpr std::string_view finished_statuses[] = {"completed", "cancelled", "failed"};

// How long each finished status is kept; 0 keeps forever.
struct retention_policy {
    std::chrono::seconds completed{7 * 86400};
    std::chrono::seconds cancelled{7 * 86400};
    std::chrono::seconds failed{30 * 86400};

    // The duration of a finished status (0 for any other).
    std::chrono::seconds keep(std::string_view which) const;
    bool keeps_everything() const;
    bool operator==(const retention_policy&) const = default;
};

// "0", "30s", "15m", "12h", "7d" (a whole number and one unit; "0" alone needs none).
result<std::chrono::seconds> parse_duration(std::string_view text);
// "30s" style text of a duration, the largest whole unit ("0" for zero).
std::string format_duration(std::chrono::seconds d);

// The defaults with each "STATUS=DURATION" item applied in order (a later one wins).
result<retention_policy> parse_retention(const std::vector<std::string>& items);
// "completed=7d cancelled=7d failed=30d".
std::string describe(const retention_policy& p);

// Where the pruner looks (SPEC 7.4): the events of the chunks of tpubsub_event_chunks
// (event_chunks.h) whose newest event is older than the policy's shortest duration, oldest
// chunk first, and the tail above every chunk (events not summarised yet), read directly. Ids
// below the newest chunk that no chunk covers (rows bulk-loaded without summarize_events) are
// not pruned. A chunk whose range holds no event any more is deleted with the batch that
// emptied it.

// How many events the policy removes now: finished events whose status has a duration (0 keeps
// forever) and whose completed_at is older than it, where the pruner looks.
result<std::int64_t> count_prunable(pg::connection& c, const std::string& schema,
                                    const retention_policy& p);

// The first batch of a pass that removes anything: in one transaction, those events of the
// oldest chunks whose counts add up to at most `limit` (at least one chunk, so more when one
// chunk holds more), or at most `limit` of the tail's, with their delivery rows; returns how
// many events. Rows another transaction holds locked (a retry racing the prune, another node's
// pruner) are skipped, never waited for.
result<std::int64_t> prune_batch(pg::connection& c, const std::string& schema,
                                 const retention_policy& p, int limit);

// Batches of one pass, from the oldest chunk to the end of the tail, until the pass ends or
// keep_going() (asked after each batch that removed something, and after every 16th that
// removed nothing) says no; the total.
result<std::int64_t> prune_all(pg::connection& c, const std::string& schema,
                               const retention_policy& p, int limit,
                               const std::function<bool()>& keep_going);

// VACUUM (ANALYZE) of the events, deliveries and chunks tables, so their freed space is reused by
// the next inserts instead of growing the files, and the status estimates (status_queries.h) follow
// the prune (outside any transaction; does not block writers).
status vacuum_event_tables(pg::connection& c, const std::string& schema);

}  // namespace pubsub
