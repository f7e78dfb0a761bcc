// bench_common: clocks, options and per-event records shared by the parts of pubsub-bench.
//
// Clock: every timestamp here is wall-clock microseconds since the Unix epoch (CLOCK_REALTIME),
// the clock pubsubd uses for created_at / processed_at / completed_at, so a send time taken
// here and a processed_at written by the daemon on the same machine can be subtracted. Both
// read the same kernel clock; an NTP step during a run would skew them, a slew (ppm) does not
// matter at these scales. Plain values, no threads.
#pragma once

#include <time.h>

#include <cstdint>
#include <string>
#include <vector>

namespace pubsub::bench {

inline std::int64_t wall_us() {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return std::int64_t(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

// One priority with its weight in the mix ("10:1,5:8,1:1").
struct priority_weight {
    int priority = 5;
    int weight = 1;
};

struct bench_options {
    // Target
    std::string socket_path;  // connect to this pubsubd instead of starting one
    std::string dsn;          // database of that pubsubd (or the one to start pubsubd on)
    std::string schema;       // default bench_<pid> (own daemon) or dba (--socket)
    std::string data_dir;     // cluster folder for pubsub-pg (default <bin>/../bench-data)
    std::vector<std::string> daemon_args;  // extra pubsubd flags
    std::string daemon_prefix;  // command words before pubsubd (valgrind ...), space-separated
    bool keep_cluster = false;
    bool keep_schema = false;
    // Load
    std::size_t events = 20'000;
    int producers = 2;
    double rate = 0;  // offered events/s in total; 0 = as fast as possible
    std::string ack = "queued";
    std::vector<priority_weight> priorities{{5, 1}};
    std::size_t payload_bytes = 64;
    std::size_t window = 4096;  // unanswered lines per producer
    int noop_threads = 1;
    std::string handler = "noop";    // noop | sleep (RSS under saturated handlers)
    int sleep_ms = 1000;             // handler sleep in `sleep` mode
    int timeout_s = 300;             // bound on every wait
    int soak_s = 0;                  // > 0: the soak mode (soak.h) for this many seconds
    std::string key_prefix;          // an idempotency key on every line (producers.h)
    std::int64_t spread_ms = 0;      // > 0: delay_ms spread over this many ms (producers.h)
    std::int64_t delay_base_ms = 0;  // added to every event's delay_ms (producers.h)
    bool held_only = false;  // measure the daemon's memory while the events are held, then stop
    // Baselines
    bool sql_queue = true;
    bool copy_limit = true;
    int sql_workers = 4;
    int sql_claim_batch = 100;
    // Output
    bool json = false;
};

// What one producer line became. Times are wall_us(); 0 = never happened.
struct event_record {
    std::int64_t send_us = 0;
    std::int64_t intended_us = 0;  // paced runs: the schedule slot; else = send_us
    std::int64_t ack_us = 0;
    std::int64_t event_id = 0;      // 0 when the reply was an error (or never came)
    std::int64_t processed_us = 0;  // from the table (send -> handler start)
    std::int64_t created_us = 0;    // from the table: when pubsubd took the line in (its share)
    std::int8_t priority = 5;
};

}  // namespace pubsub::bench
