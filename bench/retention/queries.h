// queries: the read side at scale. Fills tpubsub_events (fill.h: 0.1% pending, 0.05%
// processing, 1% failed, 5% cancelled, the rest completed, over 30 days), ANALYZEs it, then runs
// each query behind the page, /api/* and pubsubctl `runs` times through the same functions
// those callers use (storage/event_queries.h, status_queries.h) and prints p50 / p99 / max.
#pragma once

#include <cstdint>
#include <string>

#include "storage/pg.h"

namespace pubsub::bench {

struct queries_options {
    std::int64_t rows = 10'000'000;
    int runs = 200;
    bool reuse = false;  // the schema is filled already
    // With reuse: replace the schema's chunk rows by a summary of every event (for a schema
    // filled by a build without chunks).
    bool summarize = false;
};

int run_queries(pg::connection& c, const std::string& schema, const queries_options& o);

}  // namespace pubsub::bench
