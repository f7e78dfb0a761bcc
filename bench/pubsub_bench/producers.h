// producers: pubsub-bench's additions for SPEC 7.2: the producer fields of each line
// (--key-prefix: an idempotency key on every event; --spread-ms: delay_ms spread evenly over
// that many milliseconds, after --delay-base-ms), the lateness of delayed events, processed_at -
// run_at, read from the table after the run, and (--held-only) the daemon's memory per held
// scheduled event.
// Plain functions; the lateness query opens its own connection.
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <string>

#include "bench/pubsub_bench/bench_common.h"
#include "bench/pubsub_bench/daemon_control.h"
#include "bench/pubsub_bench/report.h"
#include "bench/pubsub_bench/table_watch.h"

namespace pubsub::bench {

// Registers --key-prefix and --spread-ms.
void add_producer_options(CLI::App& app, bench_options& o);

// Appends `,"idempotency_key":"<prefix><i>"` and `,"delay_ms":<n>` as the options ask.
void append_producer_fields(const bench_options& opt, std::size_t i, std::string& line);

// Adds p50, p99 and max of processed_at - run_at over the run's delayed events.
void add_run_at_lateness(const table_ref& t, bench_report& rep, json_object& j);

// --held-only: once every id has its row (and the scheduler had time to drop the bodies), the
// daemon's RSS growth over `idle`, per event.
void add_held_memory(const bench_options& opt, const table_ref& t, pid_t daemon,
                     const proc_sample& idle, const std::vector<std::int64_t>& ids,
                     bench_report& rep, json_object& j);

}  // namespace pubsub::bench
