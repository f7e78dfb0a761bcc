// fill: synthetic tpubsub_events rows written straight by SQL (INSERT ... SELECT over
// generate_series), in chunks, for the retention and query benchmarks. A realistic mix: 50 event
// types (import_NN, report_NN, file_received), 200 sources (hostNN:appN), jsonb payloads of ~60
// bytes, and for every tenth event two delivery rows. Rare values for the searches: 1 event in
// 5,000 has a type import.bulk_0..4 instead, another 1 in 5,000 a source batch0..4:cron.
// Each chunk of rows is then summarised as event chunks (summarize_events), as pubsubd's writers
// summarise what they insert, so that searches and the pruner see them. Single-threaded, over
// the caller's connection.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"
#include "storage/pg.h"

namespace pubsub::bench {

struct fill_mix {
    // Per mille of each status (pending and processing: among the newest 1% of the rows); the
    // rest is completed.
    int failed = 10, cancelled = 50, pending = 0, processing = 0;
    // created_at spreads evenly from now() - span_s to now() - end_age_s, in id order;
    // completed_at (finished rows) follows created_at by 0 to 60 s.
    double span_s = 3600, end_age_s = 0;
    // false: no chunk rows (a layout without tpubsub_event_chunks in use).
    bool chunks = true;
};

// Inserts n events (ids from the table's sequence) in chunks of `chunk` rows, each chunk its own
// statement; the delivery rows come in the same statement, the chunk rows after it.
status fill_events(pg::connection& c, const std::string& schema, std::int64_t n,
                   const fill_mix& mix, std::int64_t chunk = 200'000);

// Bytes of a table with its indexes and TOAST (pg_total_relation_size).
result<std::int64_t> total_bytes(pg::connection& c, const std::string& schema, const char* table);

}  // namespace pubsub::bench
