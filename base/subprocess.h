// subprocess: starts a program by argv (no shell, no PATH search) and owns the child until it
// is reaped. The one way pubsub starts processes: handler scripts, the embedded cluster's initdb
// and pg_ctl, the bench's daemon.
//
// Thread-safety: spawn() may be called from many threads at once; it keeps no shared state. A
// child is a value owned by one thread. Never throws (allocation failure aside).
//
// DESIGN
// - The child gets default dispositions for every signal and an empty signal mask (an ignored
//   SIGPIPE, or signals blocked for sigwait in the parent, are not inherited), its three
//   standard descriptors as asked, and nothing else: every descriptor from 3 up is closed, so
//   no socket or DB connection leaks even if another thread opened it without O_CLOEXEC.
// - Without a user switch: posix_spawn (glibc's vfork-style clone, cheap even from a large
//   multi-threaded daemon; only glibc code runs in the child). The working directory is
//   opened here and entered with fchdir, so a bad one is named as such.
// - With a user switch (root starting PostgreSQL as `postgres`): fork, because posix_spawn
//   cannot change credentials. All signals are blocked around the fork so no handler of ours
//   runs in the child; the child makes only async-signal-safe calls (sigaction, dup2,
//   setgroups, setgid, setuid, chdir, execve; chdir after the switch, so the new user must be
//   able to reach the folder) and reports a failed step through a close-on-exec pipe.
// - Either way, a failed exec, an unusable working directory or a refused user switch comes
//   back from spawn() as an error ("cannot execute /x/y: Permission denied"), never as an exit
//   code, and there is no /bin/sh fallback for ENOEXEC.
// - A new process group, when asked for, exists when spawn() returns (set before exec).
// - A pidfd makes the exit poll-able; the exit is observed with waitid(WNOWAIT), so the child
//   stays an unreaped zombie, and its pid and process group id cannot be reused, until wait().
//
// Requirements on the host process: SIGCHLD must not be SIG_IGN, and nothing may call
// waitpid(-1) / wait(), or the child's exit status is lost (an error from wait(), not a hang).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace pubsub {

// Where one of the child's standard descriptors (0, 1, 2) goes.
struct stdio {
    enum class kind { inherit, null, pipe, fd, like_stdout };
    kind how = kind::inherit;
    int fd = -1;  // kind::fd: a descriptor of ours, duplicated for the child; it stays ours

    static stdio inherit() { return {kind::inherit, -1}; }  // our own 0, 1 or 2
    static stdio null() { return {kind::null, -1}; }        // /dev/null
    static stdio pipe() { return {kind::pipe, -1}; }        // our end in child::in/out/err
    static stdio to_fd(int fd) { return {kind::fd, fd}; }
    static stdio like_stdout() { return {kind::like_stdout, -1}; }  // stderr only: 2>&1
};

// The credentials a child switches to before exec (needs root, or CAP_SETUID and CAP_SETGID).
struct user_credentials {
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;  // supplementary groups
    std::string name;           // for error messages
};

struct spawn_options {
    std::vector<std::string> argv;  // argv[0] is the program path (absolute or relative to ours)
    // The complete environment, "K=V"; nullopt: a copy of ours.
    std::optional<std::vector<std::string>> env;
    std::string working_dir;         // empty: ours
    bool own_process_group = false;  // the child leads a new process group (pgid == pid)
    stdio in = stdio::null();
    stdio out = stdio::inherit();
    stdio err = stdio::inherit();
    std::optional<user_credentials> user;  // run as this user instead of ours
};

// How a reaped child ended.
struct exit_status {
    int code = -1;   // the exit code, when it exited
    int signal = 0;  // the signal that ended it, or 0 when it exited

    bool exited() const { return signal == 0; }
    bool success() const { return signal == 0 && code == 0; }
    // The exit code, or 128 + the signal (the shell's convention).
    int shell_code() const { return signal != 0 ? 128 + signal : code; }
};

class child {
  public:
    child() = default;  // no process
    child(child&& o) noexcept;
    child& operator=(child&& o) noexcept;
    child(const child&) = delete;
    child& operator=(const child&) = delete;
    // A child not yet reaped is killed (SIGKILL, the child only) and reaped: no orphan, no
    // zombie.
    ~child();

    pid_t pid() const { return pid_; }  // -1 when there is none or it has been reaped
    bool running() const { return pid_ > 0; }
    // Our ends of the pipes asked for in spawn_options (closed otherwise). Take or reset them.
    unique_fd& in() { return in_; }
    unique_fd& out() { return out_; }
    unique_fd& err() { return err_; }

    // Readable (POLLIN) once the child has exited; -1 without pidfd support (then tick).
    int poll_fd() const { return pidfd_.get(); }
    // Whether the child has exited, without reaping it. Also true once reaped, or when it was
    // reaped behind our back (see the requirements above).
    bool exited();

    // kill(2) to the child, or to its process group (only for own_process_group children).
    status signal(int sig) const;
    status signal_group(int sig) const;

    // Blocks until the child exits and reaps it. The error says the exit status was lost.
    result<exit_status> wait();
    // Like wait(), for at most `limit` (zero: just a look); nullopt while it still runs.
    result<std::optional<exit_status>> wait_for(std::chrono::milliseconds limit);

  private:
    friend result<child> spawn(const spawn_options& options);
    void reset();
    result<exit_status> reaped(int wait_status);
    status lost(int err);

    pid_t pid_ = -1;
    bool exited_ = false;
    std::string program_;  // argv[0], for messages
    unique_fd pidfd_, in_, out_, err_;
};

// Starts options.argv[0]; see DESIGN. Errors name the program and the step that failed.
[[nodiscard]] result<child> spawn(const spawn_options& options);

// Reads fd until end of file (blocking, EINTR retried), then closes it.
std::string read_to_end(unique_fd& fd);

}  // namespace pubsub
