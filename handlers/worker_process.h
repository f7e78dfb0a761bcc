// worker_process: one persistent worker of a worker_set (SPEC 7.3): the child process, its
// pipes, the bytes waiting to be written to its stdin, the partial lines read from its stdout
// and stderr, and the deliveries in flight on it. Owned and used by its worker_set under the
// set's mutex (reads and writes are non-blocking), so it needs no lock of its own.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/subprocess.h"
#include "handlers/job_runner.h"

namespace pubsub {

class process_group_registry;

class worker_process {
  public:
    using clock = std::chrono::steady_clock;
    enum class phase { down, starting, ready };

    struct pending {
        run_done done;
        clock::time_point deadline;
        std::int64_t event_id = 0;
    };

    // Starts argv in its own process group with pipes on 0, 1 and 2, all non-blocking, and
    // records it in registry (may be null). The worker is then `starting` (awaiting its hello).
    status spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                 const process_group_registry* registry);
    // Kills the group (SIGKILL), reaps the child and forgets its record: back to `down`. Returns
    // the exit as describe() words ("exit 3", "killed by signal 9 (SIGKILL)"), or "" when none
    // was running. The deliveries in flight stay for the caller to fail.
    std::string kill_and_reap(const process_group_registry* registry);
    // Closes stdin: the worker's cue to finish (SPEC 7.3, on stop).
    void close_stdin();

    // Writes what is queued, as far as the pipe takes it. False: the pipe is broken.
    bool flush();
    // Reads what stdout / stderr hold and appends complete lines to `lines` (without the
    // newline). A line over max_line is cut there: stdout lines are then reported whole as far
    // as they go plus a mark in `overlong` (the caller treats it as malformed); stderr lines are
    // cut silently. Sets eof when the stream ended.
    void read_lines(bool from_stdout, std::size_t max_line, std::vector<std::string>& lines,
                    bool& overlong, bool& eof);

    phase state = phase::down;
    child proc;
    unique_fd in, out, err;
    std::string to_write;            // queued delivery lines
    std::string out_part, err_part;  // partial lines
    bool err_skipping = false;       // discarding the rest of an overlong stderr line
    int window = 0;                  // deliveries it may hold (hello's concurrency, capped)
    std::map<std::string, pending> in_flight;
    clock::time_point hello_deadline{}, start_at{};
    int failures = 0;  // consecutive losses, for the backoff
    std::uint64_t starts = 0, completed = 0, failed = 0;
    std::string last_stderr;  // its latest stderr line, for the reason it was lost
    std::string last_error;
};

}  // namespace pubsub
