// event_search: a search of tpubsub_events guided by its chunks (event_chunks.h): newest
// matching event ids first, reading only the id ranges of chunks that overlap a time range and
// whose Bloom filter can hold a type or source, and the unsummarised tail.
//
// The tail is every event above the highest last_id of any chunk: it is always read directly,
// so events a writer has not summarised yet are found. Ids below that which no chunk covers
// (rows inserted by other means than pubsubd's writers and never passed to summarize_events)
// are not found.
//
// Plain function over a caller-owned connection (not thread-safe, like the connection).
// Database errors come back as result errors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "router/event.h"
#include "storage/pg.h"

namespace pubsub {

// Which chunks can hold a match.
struct chunk_probe {
    std::optional<std::string> since, until;  // timestamptz text: [since, until)
    std::optional<event_id> before;           // ids below this only
    std::vector<int> bloom_bits;              // every one set (a NULL filter: always read)
    // Only failed events are wanted: read each range through the failed events' partial
    // index on event_id (newest first, to the limit) instead of every event of the range.
    bool failed_only = false;
};

// The ids, newest first and at most `limit`, of the events that match `condition`: SQL over
// a row of tpubsub_events (unqualified column names) using parameters $1 .. $N of `params`,
// all of them. `condition` must itself hold what the probe says (the time range, `before`, the
// type and source): the probe only chooses what to read.
//
// Chunks are read newest first (by last_id) in pages (64 chunks, then as many as the hits so
// far say the limit needs, up to 4096), their
// ranges merged where they overlap or touch, and the events of those ranges read through the
// primary key, newest first; the search stops as soon as no unread chunk can hold an id above
// the limit-th one found.
result<std::vector<event_id>> search_by_chunks(pg::connection& c, const std::string& schema,
                                               const chunk_probe& probe,
                                               const std::string& condition,
                                               std::vector<std::optional<std::string>> params,
                                               std::int64_t limit);

// A closed interval of event ids.
struct id_range {
    event_id lo = 0, hi = 0;
    bool operator==(const id_range&) const = default;
};

// The ranges sorted by hi, highest first, with those that overlap or touch merged.
std::vector<id_range> merge_ranges_desc(std::vector<id_range> ranges);

// What of `ranges` (disjoint, highest first) lies outside `done` (disjoint, highest first).
std::vector<id_range> subtract_ranges(const std::vector<id_range>& ranges,
                                      const std::vector<id_range>& done);

}  // namespace pubsub
