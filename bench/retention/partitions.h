// partitions: the retention bloat cycles of cycles.h on a layout that removes without dead
// tuples: tpubsub_events and tpubsub_deliveries range-partitioned by event_id (same columns and
// indexes as the migrated tables), a partition detached and dropped whole once every id in its
// range has been handed out and used and every row in it is past its retention. Ids come from a
// simulation of the daemon's id_allocator (blocks of `block_ids` per node, each node holding its
// current block and one spare), so with two nodes a lightly loaded node's block keeps ids of an
// old partition open while the busy node has moved on. Measurement only: the product removes by
// batched DELETE (storage/retention_pruner.h). Single-threaded, over the caller's connection.
#pragma once

#include <cstdint>
#include <string>

#include "storage/pg.h"

namespace pubsub::bench {

struct partitions_options {
    int cycles = 5;
    std::int64_t events = 1'000'000;
    std::int64_t partition_ids = 1'000'000;  // ids per partition
    bool keep_failed = false;                // failed=30d: the 1% failed events stay
    int nodes = 1;                           // 1 or 2 nodes taking blocks of ids
    std::int64_t block_ids = 16384;          // the daemon's id_allocator block size
    int node_b_permille = 10;                // with 2 nodes: the second node's share of events
};

// Converts the (migrated) schema's two tables into partitioned ones, then prints one line per
// cycle; the exit code (0, or 1 on a database error).
int run_partitions(pg::connection& c, const std::string& schema, const partitions_options& o);

}  // namespace pubsub::bench
