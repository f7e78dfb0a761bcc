// soak: pubsub-bench --soak SECONDS. Runs a steady load for SECONDS while hostile clients do
// what real deployments meet (a client that writes and never reads its replies, connection
// churn, malformed and poison lines, an oversized line), and samples the daemon's RSS and open
// file descriptors once a second. It asserts nothing: it reports the series so a reader can see
// whether memory and fds stay flat. Blocks the caller; owns its threads and joins them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bench/pubsub_bench/bench_common.h"
#include "bench/pubsub_bench/daemon_control.h"

namespace pubsub::bench {

struct soak_sample {
    double t_s = 0;  // seconds since the soak started
    proc_sample process;
    std::int64_t open_fds = 0;
};

struct soak_result {
    std::vector<soak_sample> samples;
    std::size_t ok = 0;              // steady-load lines acknowledged
    std::size_t errors = 0;          // steady-load lines refused (should be 0)
    std::string first_error;
    std::size_t hostile_rounds = 0;  // rounds of churn + bad lines sent
    std::size_t unread_bytes = 0;    // written by the never-reading client before it blocked
};

// Drives the daemon at socket_path (pid daemon_pid, sampled through /proc) for `seconds`, the
// steady load at opt.rate events/s (2,000 when 0) over opt.producers connections.
soak_result run_soak(const bench_options& opt, const std::string& socket_path, pid_t daemon_pid,
                     int seconds);

// Open file descriptors of pid (entries of /proc/<pid>/fd), -1 when unreadable.
std::int64_t count_open_fds(pid_t pid);

}  // namespace pubsub::bench
