// daemon_control: the PostgreSQL cluster (through pubsub-pg), the bench schema and the pubsubd
// process that pubsub-bench drives, plus /proc readings of that process.
//
// A cluster found running for data_dir is reused and left running; one started here is stopped
// by stop_cluster() unless the caller keeps it. The daemon is started with --dsn, --schema and
// a socket under data_dir; its output goes to data_dir/pubsubd-<pid>.log. Not thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/subprocess.h"

namespace pubsub::bench {

// Folder of this executable (pubsubd and pubsub-pg are looked up beside it).
std::string bin_dir();

struct cluster_handle {
    std::string dsn;
    std::string data_dir;
    bool started_here = false;
};

result<cluster_handle> ensure_cluster(const std::string& data_dir, int timeout_s);
status stop_cluster(const cluster_handle& c, int timeout_s);

// Applies the migrations to schema (creating it) and inserts the one subscriber of the run:
// handler "noop" -> ('noop', event_type 'noop', job_type 'noop'); "sleep" -> a `custom`
// subscriber running script_path (for RSS under saturated handlers).
status prepare_schema(const std::string& dsn, const std::string& schema, const std::string& handler,
                      const std::string& script_path);
status drop_schema(const std::string& dsn, const std::string& schema);
// SHOW server_version.
std::string server_version(const std::string& dsn);

// Writes an executable /bin/sh script into dir that sleeps sleep_ms; returns its path.
result<std::string> write_sleep_script(const std::string& dir, int sleep_ms);

class daemon_process {
  public:
    daemon_process() = default;
    daemon_process(const daemon_process&) = delete;
    daemon_process& operator=(const daemon_process&) = delete;
    // The destructor SIGKILLs a daemon still running (base/subprocess.h's child).

    // Spawns prefix + pubsubd + args and waits until its socket accepts connections. prefix
    // (e.g. valgrind --tool=callgrind) must exec pubsubd in the same process.
    status start(const std::vector<std::string>& prefix, const std::vector<std::string>& args,
                 const std::string& socket_path, const std::string& log_file, int timeout_s);
    // SIGTERM, wait up to timeout_s, then SIGKILL. Returns the exit code (128+sig if killed).
    int stop(int timeout_s);
    pid_t pid() const { return child_.pid(); }
    const std::string& log_file() const { return log_; }

  private:
    child child_;
    std::string log_;
};

struct proc_sample {
    std::int64_t rss_kb = 0;  // VmRSS
    std::int64_t hwm_kb = 0;  // VmHWM (peak RSS)
    std::int64_t cpu_us = 0;  // utime + stime
    std::int64_t threads = 0;
};
proc_sample sample_process(pid_t pid);

// The tail of a text file (for error messages).
std::string file_tail(const std::string& path, std::size_t max_bytes);

}  // namespace pubsub::bench
