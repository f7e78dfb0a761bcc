// subprocess: see subprocess.h. Sections: the child's standard descriptors, the posix_spawn
// path, the fork path (user switch), then the child class.
#include "base/subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <thread>

#include "base/errno_text.h"

extern char** environ;

namespace pubsub {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds exit_poll_tick{10};  // only when pidfd_open is unavailable

// ---- the child's standard descriptors ---------------------------------------------------------

// Moves fd to a number >= 3 (closing the original), so that dup2 onto 0/1/2 in the child can
// never clobber another of the descriptors it is given (a daemon may have closed its stdin).
int lift_above_stdio(int fd) {
    if (fd < 0 || fd > 2) return fd;
    int lifted = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    ::close(fd);
    return lifted;
}

// A pipe whose ends are both O_CLOEXEC and >= 3.
bool make_pipe(unique_fd& read, unique_fd& write) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    read.reset(lift_above_stdio(fds[0]));
    write.reset(lift_above_stdio(fds[1]));
    return read.open() && write.open();
}

// What goes onto the child's 0, 1 and 2 (closed: inherit), and our ends of its pipes.
struct child_stdio {
    std::array<unique_fd, 3> source;
    bool err_like_stdout = false;
    unique_fd in, out, err;
};

status prepare_stdio(const spawn_options& o, child_stdio& s) {
    const stdio* want[3] = {&o.in, &o.out, &o.err};
    unique_fd* ours[3] = {&s.in, &s.out, &s.err};
    for (int i = 0; i < 3; ++i) {
        switch (want[i]->how) {
            case stdio::kind::inherit:
                break;
            case stdio::kind::null:
                s.source[i].reset(lift_above_stdio(::open("/dev/null", O_RDWR | O_CLOEXEC)));
                if (!s.source[i].open())
                    return status::error("cannot open /dev/null: " + errno_text(errno));
                break;
            case stdio::kind::pipe: {
                bool ok =
                    i == 0 ? make_pipe(s.source[i], *ours[i]) : make_pipe(*ours[i], s.source[i]);
                if (!ok) return status::error("cannot create pipes: " + errno_text(errno));
                break;
            }
            case stdio::kind::fd:
                s.source[i].reset(::fcntl(want[i]->fd, F_DUPFD_CLOEXEC, 3));
                if (!s.source[i].open()) {
                    return status::error("cannot pass descriptor " + std::to_string(want[i]->fd) +
                                         " to " + o.argv[0] + ": " + errno_text(errno));
                }
                break;
            case stdio::kind::like_stdout:
                if (i != 2) return status::error("like_stdout is for stderr only");
                s.err_like_stdout = true;
                break;
        }
    }
    return status();
}

// NULL-terminated char* array over strings that outlive it.
std::vector<char*> c_array(const std::vector<std::string>& v) {
    std::vector<char*> out;
    out.reserve(v.size() + 1);
    for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
    out.push_back(nullptr);
    return out;
}

std::string exec_error(const std::string& program, int err) {
    std::string e = "cannot execute " + program + ": " + errno_text(err);
    if (err == ENOEXEC) e += " (not a binary, and no #! line?)";
    return e;
}

// ---- posix_spawn: no user switch ----------------------------------------------------------------

// Every signal, including glibc's internal ones (32 and 33, below SIGRTMIN): sigfillset leaves
// those out, and glibc's posix_spawn would then set them to SIG_IGN in the child, which exec
// keeps. Setting the bits directly mirrors glibc's own __sigaddset on its sigset_t layout.
sigset_t every_signal() {
    sigset_t all;
    sigfillset(&all);
    constexpr int word_bits = 8 * sizeof(all.__val[0]);
    for (int sig = 32; sig < SIGRTMIN; ++sig)
        all.__val[(sig - 1) / word_bits] |= 1UL << ((sig - 1) % word_bits);
    return all;
}

result<pid_t> spawn_plain(const spawn_options& o, const child_stdio& s, char* const* envp) {
    unique_fd dir;
    if (!o.working_dir.empty()) {
        dir.reset(::open(o.working_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!dir.open()) {
            return status::error("cannot use working directory " + o.working_dir + ": " +
                                 errno_text(errno));
        }
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    for (int i = 0; i < 3; ++i)
        if (s.source[i].open()) posix_spawn_file_actions_adddup2(&fa, s.source[i].get(), i);
    if (s.err_like_stdout) posix_spawn_file_actions_adddup2(&fa, 1, 2);
    if (dir.open()) posix_spawn_file_actions_addfchdir_np(&fa, dir.get());
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);

    sigset_t all = every_signal(), none;
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
    if (o.own_process_group) {
        posix_spawnattr_setpgroup(&attr, 0);
        flags |= POSIX_SPAWN_SETPGROUP;
    }
    posix_spawnattr_setflags(&attr, flags);

    auto argv = c_array(o.argv);
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) return status::error(exec_error(o.argv[0], rc));
    return pid;
}

// ---- fork: with a user switch ---------------------------------------------------------------

enum class step : int { dup2, setpgid, setgroups, setgid, setuid, chdir, exec };

struct failure_report {
    step where;
    int err;
};

void close_from_3_except(int keep) {
    if (keep > 3 && ::close_range(3, static_cast<unsigned>(keep) - 1, 0) != 0) {
        for (int fd = 3; fd < keep; ++fd) ::close(fd);
    }
    if (::close_range(static_cast<unsigned>(keep) + 1, ~0U, 0) != 0) {
        long max = ::sysconf(_SC_OPEN_MAX);
        for (int fd = keep + 1; fd < (max > 0 && max < 65536 ? max : 65536); ++fd) ::close(fd);
    }
}

// In the forked child: only async-signal-safe calls, nothing allocates. Never returns.
[[noreturn]] void child_main(const spawn_options& o, const child_stdio& s, int report_fd,
                             char* const* argv, char* const* envp) {
    auto fail = [&](step where) {
        failure_report r{where, errno};
        (void)!::write(report_fd, &r, sizeof r);
        ::_exit(127);
    };
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);  // some refuse: fine
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int i = 0; i < 3; ++i)
        if (s.source[i].open() && ::dup2(s.source[i].get(), i) < 0) fail(step::dup2);
    if (s.err_like_stdout && ::dup2(1, 2) < 0) fail(step::dup2);
    close_from_3_except(report_fd);
    if (o.own_process_group && ::setpgid(0, 0) != 0) fail(step::setpgid);
    const user_credentials& u = *o.user;
    if (::setgroups(u.groups.size(), u.groups.data()) != 0) fail(step::setgroups);
    if (::setgid(u.gid) != 0) fail(step::setgid);
    if (::setuid(u.uid) != 0) fail(step::setuid);
    if (!o.working_dir.empty() && ::chdir(o.working_dir.c_str()) != 0) fail(step::chdir);
    ::execve(argv[0], argv, envp);
    fail(step::exec);
    ::_exit(127);  // not reached
}

std::string failure_text(const spawn_options& o, failure_report r) {
    const std::string& user = o.user->name;
    switch (r.where) {
        case step::dup2:
            return "cannot start " + o.argv[0] + ": dup2: " + errno_text(r.err);
        case step::setpgid:
            return "cannot start " + o.argv[0] + ": setpgid: " + errno_text(r.err);
        case step::setgroups:
            return "cannot switch to user " + user + ": setgroups: " + errno_text(r.err);
        case step::setgid:
            return "cannot switch to user " + user + ": setgid: " + errno_text(r.err);
        case step::setuid:
            return "cannot switch to user " + user + ": setuid: " + errno_text(r.err);
        case step::chdir:
            return "cannot use working directory " + o.working_dir + " as user " + user + ": " +
                   errno_text(r.err);
        case step::exec:
            break;
    }
    return exec_error(o.argv[0], r.err);
}

result<pid_t> spawn_as_user(const spawn_options& o, const child_stdio& s, char* const* envp) {
    unique_fd report_read, report_write;
    if (!make_pipe(report_read, report_write))
        return status::error("cannot create pipes: " + errno_text(errno));
    auto argv = c_array(o.argv);
    sigset_t all, old;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old);
    const pid_t pid = ::fork();
    if (pid == 0) child_main(o, s, report_write.get(), argv.data(), envp);
    const int fork_errno = errno;
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (pid < 0)
        return status::error("cannot start " + o.argv[0] + ": fork: " + errno_text(fork_errno));
    report_write.reset();
    failure_report r{};
    ssize_t n;
    while ((n = ::read(report_read.get(), &r, sizeof r)) < 0 && errno == EINTR) {
    }
    if (n != static_cast<ssize_t>(sizeof r)) return pid;  // end of file: exec succeeded
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return status::error(failure_text(o, r));
}

}  // namespace

// ---- spawn and child ------------------------------------------------------------------------

result<child> spawn(const spawn_options& o) {
    if (o.argv.empty() || o.argv[0].empty())
        return status::error("cannot execute: empty argument vector");
    child_stdio s;
    if (auto st = prepare_stdio(o, s); !st.ok()) return st;
    std::vector<char*> env_array;
    char* const* envp = environ;
    if (o.env) {
        env_array = c_array(*o.env);
        envp = env_array.data();
    }
    auto pid = o.user ? spawn_as_user(o, s, envp) : spawn_plain(o, s, envp);
    if (!pid.ok()) return pid.error();
    child c;
    c.pid_ = *pid;
    c.program_ = o.argv[0];
    // glibc 2.36's <sys/pidfd.h> lacks extern "C", hence the raw syscall. A pidfd is CLOEXEC.
    // The child is not reaped yet, so its pid cannot have been reused.
    c.pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, *pid, 0)));
    c.in_ = std::move(s.in);
    c.out_ = std::move(s.out);
    c.err_ = std::move(s.err);
    return c;
}

child::child(child&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      exited_(o.exited_),
      program_(std::move(o.program_)),
      pidfd_(std::move(o.pidfd_)),
      in_(std::move(o.in_)),
      out_(std::move(o.out_)),
      err_(std::move(o.err_)) {}

child& child::operator=(child&& o) noexcept {
    if (this != &o) {
        reset();
        pid_ = std::exchange(o.pid_, -1);
        exited_ = o.exited_;
        program_ = std::move(o.program_);
        pidfd_ = std::move(o.pidfd_);
        in_ = std::move(o.in_);
        out_ = std::move(o.out_);
        err_ = std::move(o.err_);
    }
    return *this;
}

child::~child() { reset(); }

void child::reset() {
    in_.reset();
    out_.reset();
    err_.reset();
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        (void)wait();
    }
    pidfd_.reset();
}

bool child::exited() {
    if (exited_ || pid_ <= 0) return true;
    siginfo_t info{};
    int rc = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
    if (rc == 0 && info.si_pid != 0) exited_ = true;
    if (rc != 0 && errno == ECHILD) exited_ = true;  // reaped behind our back; see the header
    return exited_;
}

status child::signal(int sig) const {
    if (pid_ <= 0) return status::error("no running child to signal");
    if (::kill(pid_, sig) != 0) return status::error("kill " + program_ + ": " + errno_text(errno));
    return status();
}

status child::signal_group(int sig) const {
    if (pid_ <= 0) return status::error("no running child to signal");
    if (::kill(-pid_, sig) != 0) {
        return status::error("kill the process group of " + program_ + ": " + errno_text(errno));
    }
    return status();
}

result<exit_status> child::reaped(int wait_status) {
    pid_ = -1;
    exited_ = true;
    pidfd_.reset();
    exit_status st;
    if (WIFEXITED(wait_status)) st.code = WEXITSTATUS(wait_status);
    if (WIFSIGNALED(wait_status)) st.signal = WTERMSIG(wait_status);
    return st;
}

status child::lost(int err) {
    pid_ = -1;
    exited_ = true;
    pidfd_.reset();
    return status::error("lost the exit status of " + program_ + ": " + errno_text(err) +
                         " (is SIGCHLD ignored?)");
}

result<exit_status> child::wait() {
    if (pid_ <= 0) return status::error("no child to wait for");
    int st = 0;
    pid_t w;
    while ((w = ::waitpid(pid_, &st, 0)) < 0 && errno == EINTR) {
    }
    if (w < 0) return lost(errno);
    return reaped(st);
}

result<std::optional<exit_status>> child::wait_for(milliseconds limit) {
    if (pid_ <= 0) return status::error("no child to wait for");
    const auto until = std::chrono::steady_clock::now() + limit;
    for (;;) {
        int st = 0;
        pid_t w = ::waitpid(pid_, &st, WNOHANG);
        if (w == pid_) {
            auto r = reaped(st);
            return std::optional<exit_status>(*r);
        }
        if (w < 0 && errno != EINTR) return lost(errno);
        auto left = std::chrono::ceil<milliseconds>(until - std::chrono::steady_clock::now());
        if (left.count() <= 0) return std::optional<exit_status>();
        if (pidfd_.open()) {
            pollfd p{pidfd_.get(), POLLIN, 0};
            ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), INT_MAX)));
        } else {
            std::this_thread::sleep_for(std::min(left, exit_poll_tick));
        }
    }
}

std::string read_to_end(unique_fd& fd) {
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n > 0) {
            out.append(buf, static_cast<std::size_t>(n));
        } else if (n == 0 || errno != EINTR) {
            break;
        }
    }
    fd.reset();
    return out;
}

}  // namespace pubsub
