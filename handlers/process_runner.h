// run_process: start a program without a shell, feed it stdin, capture the tails of its output,
// enforce a timeout on its whole process group, and say what happened (SPEC 5a).
//
// Thread-safety: run_process is blocking and may be called from many threads at once; it keeps
// no shared state. It allocates (output tails, argv/envp arrays) and never throws.
//
// DESIGN
// - Spawn: base/subprocess.h's spawn() with the child in its own process group (created before
//   exec, so the group exists when spawn returns), an empty signal mask and default dispositions
//   for every signal (an ignored SIGPIPE in the daemon is not inherited), pipes on 0/1/2 and
//   nothing else (no socket or DB connection leaks). Exec failures (ENOENT, EACCES, ENOEXEC)
//   come back from spawn itself and are reported as kind::spawn_failed with strerror text;
//   there is no /bin/sh fallback for ENOEXEC.
// - I/O: one poll() loop writes stdin and drains stdout and stderr concurrently (non-blocking
//   pipes), so a child writing megabytes never deadlocks against a parent still writing stdin.
//   Only the last max_output_bytes of each stream are kept (memory stays bounded); the totals
//   are counted. A child that does not read its stdin is fine: SIGPIPE is blocked in the calling
//   thread for the duration of the call (a SIGPIPE raised by our write is consumed before the
//   old mask is restored), so the process-wide disposition is never changed.
// - Exit and timeout: the child's pidfd (poll-able) tells when it exits; it is observed with
//   waitid(WNOWAIT), so the child stays an unreaped zombie, and its pid and process group id
//   cannot be reused, until every kill of the group is done. At the timeout the group gets
//   SIGTERM, then SIGKILL after kill_grace. When the child exits on its own, whatever it left
//   behind in its process group is killed with SIGKILL too: a handler must not daemonize (a
//   process that calls setsid() escapes; we then stop waiting for EOF after kill_grace).
//   The child is always reaped before returning: no zombies.
//
// Requirements on the host process: SIGCHLD must not be set to SIG_IGN, and nothing may call
// waitpid(-1) / wait(), or the child's exit status is lost (reported as an error, never a hang).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace pubsub {

class process_group_registry;

struct process_spec {
    std::vector<std::string> argv;  // argv[0] is the program path (absolute or resolved); no PATH
    std::vector<std::string> env;   // complete environment, "K=V"; nothing is inherited
    std::string stdin_data;         // written to the child's stdin, which is then closed
    std::chrono::milliseconds timeout{300000};
    std::chrono::milliseconds kill_grace{2000};  // SIGTERM, then SIGKILL after this
    std::size_t max_output_bytes = 64 * 1024;    // per stream; the TAIL is kept, the rest counted
    std::string working_dir;                     // empty: inherit ours
    // When set, the child is recorded there while it runs (after spawn returns, until
    // its group is killed and it is reaped), so that a crash of ours does not orphan it
    // unnoticed (process_registry.h). Must outlive the call.
    const process_group_registry* registry = nullptr;
};

struct process_outcome {
    enum class kind { exited, signaled, timed_out, spawn_failed };

    kind how = kind::spawn_failed;
    int exit_code = -1;  // valid when how == exited (or timed_out and the child exited)
    int signal = 0;      // the signal that ended the child, when it was one
    std::string stdout_tail, stderr_tail;            // at most max_output_bytes each, raw bytes
    std::size_t stdout_bytes = 0, stderr_bytes = 0;  // total produced
    std::chrono::milliseconds duration{0};           // from start to reaped
    std::chrono::milliseconds timeout{0};            // the spec's limit, for describe()
    std::string error;  // spawn_failed: why; otherwise empty unless the exit status was lost

    // Exited with status 0 (and in time).
    bool success() const;

    // One line for error_message and logs, valid UTF-8 without NUL bytes (so PostgreSQL takes
    // it): "exit 0", "exit 3: <stderr tail>", "killed by signal 9 (SIGKILL)", "timed out after
    // 5s; process group killed", "cannot execute /x/y: Permission denied". The stderr tail is
    // cut to its last describe_tail_bytes and trailing whitespace is trimmed.
    std::string describe() const;

    static constexpr std::size_t describe_tail_bytes = 4096;
};

// Runs spec to completion (or timeout) and reports. Blocking; thread-safe; never throws.
process_outcome run_process(const process_spec& spec);

}  // namespace pubsub
