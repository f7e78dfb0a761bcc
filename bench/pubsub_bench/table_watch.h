// table_watch: reads an events table (tpubsub_events or a baseline table of the same shape) to
// tell when every event of a run is `completed`, and to fetch processed_at per event.
//
// Completion: a cheap poll (open rows in the run's id range, served by the partial index on
// open rows) every 2 ms; when it reads 0, one exact count of `completed` rows among the run's
// ids, in a single snapshot. end_us is the wall time just before that exact query started, so
// every completed row it counts was committed by then; its error is at most one poll period
// plus one cheap query. Each call opens its own connection. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/pubsub_bench/bench_common.h"
#include "base/result.h"

namespace pubsub::bench {

struct table_ref {
    std::string dsn;
    std::string schema;
    std::string table = "tpubsub_events";
    // Only this run's events live in the table: count by id range instead of an id list.
    bool exclusive = true;
};

struct completion {
    bool done = false;
    std::int64_t end_us = 0;
    std::int64_t completed = 0;  // at the last exact count
    int polls = 0;
    std::string error;
};

// ids: the run's event ids (any order). Waits up to timeout_s.
completion wait_all_completed(const table_ref& t, const std::vector<std::int64_t>& ids,
                              int timeout_s);

// Waits until every id has a row (any status); the wall time when seen, or an error.
result<std::int64_t> wait_rows_present(const table_ref& t, const std::vector<std::int64_t>& ids,
                                       int timeout_s);

// Fills records[i].processed_us from processed_at (0 when NULL or absent).
status fetch_processed(const table_ref& t, std::vector<event_record>& records);

}  // namespace pubsub::bench
