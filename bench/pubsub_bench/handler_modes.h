// handler_modes: pubsub-bench's handler comparison (`--handler python-process,python-persistent`):
// the same trivial Python handler (read the event, touch one field, succeed) run by a `custom`
// subscriber in process mode (one interpreter per delivery) and in persistent mode (long-lived
// workers on pubsub_client.serve, SPEC 7.3), each against its own pubsubd and schema on one
// PostgreSQL, in one run. Per mode: events/s from send to handler done, unpaced, and
// send->handler-done percentiles; then, for every mode fast enough, the same at --rate.
// "Handler done" is the event's completed_at, stamped by pubsubd when the handler's outcome
// reached it (for a worker: when its answer line was read). Not thread-safe.
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "bench/pubsub_bench/bench_common.h"

namespace pubsub::bench {

struct handler_mode_options {
    std::size_t process_events = 200;  // unpaced events of the process mode (it is slow)
    int workers = 2;                   // persistent workers
    int concurrency = 4;               // each worker's serve(concurrency); pubsubd custom=N
};

// Adds the options of the handler modes and sets --handler's check (noop, sleep or handler
// modes); --handler must have been added.
std::unique_ptr<handler_mode_options> add_handler_mode_options(CLI::App& app);

// True when --handler names only handler modes (python-process, python-persistent, a comma
// list of them).
bool is_handler_modes(const std::string& handler);

// The whole run (cluster, one pubsubd per mode, report); the exit code.
int run_handler_modes(const bench_options& opt, const handler_mode_options& hm);

}  // namespace pubsub::bench
