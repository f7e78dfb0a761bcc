// stages: the latency samples of sql_door_bench, their percentiles, and their split into the
// SQL door's stages from pubsubd's debug log ("sql door claim" lines of ingest/db_door.cc).
// Single-threaded: called by the bench's main thread after the latency phase.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <vector>

namespace pubsub::sqldoor_bench {

// One create_event call, wall-clock µs: sent by the client, clock_timestamp() inside the
// statement (before its COMMIT), COMMIT returned to the client; lateness against the schedule.
struct sample {
    std::int64_t id = 0, send_us = 0, precommit_us = 0, commit_us = 0, late_us = 0;
};

// One claim as pubsubd logged it (wall-clock µs): the NOTIFY read (0: a timed sweep), the claim
// reply (the events with their delivery rows), the delivery rows handed to the pools, the events
// routed (handed to their pools).
struct claim_times {
    std::int64_t woke_us = 0, claimed_us = 0, loaded_us = 0, routed_us = 0;
};

void print_dist(const char* what, std::vector<double> ms);

// Event id -> its claim, from pubsubd's log (empty when the log has no claim lines).
std::map<std::int64_t, claim_times> read_claims(const std::filesystem::path& daemon_log);

// Per-stage percentiles of the events found in `claims`; `processed` is event id -> handler
// start (processed_at, µs).
void print_breakdown(const std::vector<std::vector<sample>>& per,
                     const std::map<std::int64_t, std::int64_t>& processed,
                     const std::map<std::int64_t, claim_times>& claims);

}  // namespace pubsub::sqldoor_bench
