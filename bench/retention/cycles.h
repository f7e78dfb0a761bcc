// cycles: the retention bloat benchmark. Each cycle adds `events` finished events already past
// their retention (completed_at 8 days ago; 94% completed, 5% cancelled, 1% failed, which the
// policy keeps 7 days, or with keep_failed the default 30 days, so they stay), lets
// the pruner's cycle (storage/retention_pruner.h, run_prune_cycle) remove them, and prints the
// size of tpubsub_events, tpubsub_deliveries and tpubsub_event_chunks (tables + indexes) at the
// cycle's peak (after the inserts) and after the prune. Flat peaks mean the freed space is
// reused.
#pragma once

#include <cstdint>
#include <string>

#include "storage/pg.h"

namespace pubsub::bench {

struct cycles_options {
    int cycles = 5;
    std::int64_t events = 1'000'000;
    int batch_rows = 5000;
    bool vacuum = true;        // false: leave the freed space to autovacuum
    bool keep_failed = false;  // failed=30d: 1% of each cycle's events stay, spread over its ids
};

// Prints one line per cycle; the exit code (0, or 1 on a database error).
int run_cycles(pg::connection& c, const std::string& schema, const cycles_options& o);

}  // namespace pubsub::bench
