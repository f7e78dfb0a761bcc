// process: child processes and scratch folders for the end-to-end tests (the real pubsubd, and
// commands like pg_ctl).
//
// child_process spawns with posix_spawn (stdout and stderr to a log file, default signal
// dispositions, empty signal mask), can send signals and waits for the exit with a timeout.
// Its destructor kills (SIGKILL) and reaps a child that is still running, so a failing test
// never leaves a daemon behind. temp_dir is an RAII mkdtemp folder, removed at destruction
// unless PUBSUB_KEEP_TMP is set.
// Thread-safety: none; one object belongs to one thread (signal() may be called from another
// thread while the owner waits, it only reads the pid).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace pubsub::e2e {

class temp_dir {
  public:
    // mkdtemp under $TMPDIR (or /tmp) with the given prefix; mode 0711 so that a server run as
    // another user (postgres, when we are root) can traverse it. Throws nothing: on failure
    // path() is empty and the caller's first use fails loudly.
    explicit temp_dir(const std::string& prefix = "pubsub-e2e-");
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

class child_process {
  public:
    // Spawns argv[0] (searched on PATH when it has no slash) with stdout and stderr appended to
    // log_file, in working directory cwd when not empty.
    static result<child_process> spawn(const std::vector<std::string>& argv,
                                       const std::filesystem::path& log_file,
                                       const std::filesystem::path& cwd = {});

    child_process(child_process&& o) noexcept;
    child_process& operator=(child_process&& o) noexcept;
    ~child_process();

    pid_t pid() const { return pid_; }
    bool running();                // reaps the child when it has exited
    status signal(int sig) const;  // error when the child has already been reaped
    // The exit code, or 128 + signal number when killed; nullopt on timeout.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    const std::filesystem::path& log_file() const { return log_; }
    std::string log_tail(std::size_t max_bytes = 4000) const;

  private:
    child_process(pid_t pid, std::filesystem::path log) : pid_(pid), log_(std::move(log)) {}
    bool reap(int options);

    pid_t pid_ = -1;  // -1 once reaped
    std::optional<int> exit_code_;
    std::filesystem::path log_;
};

// Runs argv to completion (output appended to log_file); the exit code, or an error when it
// could not start or did not finish in time (then it is killed).
result<int> run_command(const std::vector<std::string>& argv, const std::filesystem::path& log_file,
                        std::chrono::seconds timeout);

// The last max_bytes of a file ("" when it cannot be read).
std::string file_tail(const std::filesystem::path& file, std::size_t max_bytes);

}  // namespace pubsub::e2e
