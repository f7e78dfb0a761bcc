// process_stats: this process's standard Prometheus figures (process_resident_memory_bytes and
// the others of the client libraries' "process" collector), read from /proc/self on Linux.
// Pure reads of the kernel's files, a few syscalls and one directory listing (the open fds),
// so only for /metrics, not the event path. Thread-safe.
#pragma once

#include <cstdint>

namespace pubsub::admin {

struct process_sample {
    bool ok = false;  // false when /proc could not be read (the fields are then 0)
    std::uint64_t resident_bytes = 0, virtual_bytes = 0;
    std::uint64_t open_fds = 0, max_fds = 0;
    double cpu_seconds = 0;         // user + system
    double start_time_seconds = 0;  // since the epoch
};

process_sample read_process_sample();

}  // namespace pubsub::admin
