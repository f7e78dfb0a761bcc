#include "handlers/process_runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <utility>

#include "handlers/process_registry.h"

namespace pubsub {
namespace {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t read_chunk = 64 * 1024;
constexpr milliseconds exit_poll_tick{10};  // only when pidfd_open is unavailable

std::string errno_text(int err) { return ::strerrordesc_np(err) ? ::strerrordesc_np(err) : "?"; }

// Owns one file descriptor.
class unique_fd {
  public:
    unique_fd() = default;
    explicit unique_fd(int fd) : fd_(fd) {}
    unique_fd(unique_fd&& o) noexcept : fd_(o.release()) {}
    unique_fd& operator=(unique_fd&& o) noexcept {
        reset(o.release());
        return *this;
    }
    ~unique_fd() { reset(); }
    int get() const { return fd_; }
    bool open() const { return fd_ >= 0; }
    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

  private:
    int fd_ = -1;
};

// A pipe whose ends are both O_CLOEXEC and >= 3, so dup2 onto 0/1/2 in the child can never
// clobber another of our pipe ends (a daemon may have closed its own stdin).
struct pipe_pair {
    unique_fd read, write;
};

int lift_above_stdio(int fd) {
    if (fd > 2) return fd;
    int lifted = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    ::close(fd);
    return lifted;
}

bool make_pipe(pipe_pair& p) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    p.read.reset(lift_above_stdio(fds[0]));
    p.write.reset(lift_above_stdio(fds[1]));
    return p.read.open() && p.write.open();
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Blocks SIGPIPE in the calling thread while alive; a SIGPIPE our writes raised meanwhile is
// consumed before the previous mask comes back, so it is never delivered.
class sigpipe_guard {
  public:
    sigpipe_guard() {
        sigemptyset(&pipe_set_);
        sigaddset(&pipe_set_, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe_set_, &old_mask_);
        sigset_t pending;
        sigpending(&pending);
        was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    }
    ~sigpipe_guard() {
        sigset_t pending;
        sigpending(&pending);
        if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
            timespec zero{};
            while (sigtimedwait(&pipe_set_, nullptr, &zero) < 0 && errno == EINTR) {
            }
        }
        pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
    }
    sigpipe_guard(const sigpipe_guard&) = delete;
    sigpipe_guard& operator=(const sigpipe_guard&) = delete;

  private:
    sigset_t pipe_set_, old_mask_;
    bool was_pending_ = false;
};

// Keeps the last cap bytes of a stream and counts all of them. Memory: under 3*cap (the front
// is dropped once more than 2*cap is held, so appends stay amortized O(1)).
class tail_buffer {
  public:
    explicit tail_buffer(std::size_t cap) : cap_(cap) {}
    void append(const char* p, std::size_t n) {
        total_ += n;
        if (cap_ == 0) return;
        if (n >= cap_) {
            data_.assign(p + (n - cap_), cap_);
            return;
        }
        data_.append(p, n);
        if (data_.size() > 2 * cap_) data_.erase(0, data_.size() - cap_);
    }
    std::size_t total() const { return total_; }
    std::string take() {
        if (data_.size() > cap_) data_.erase(0, data_.size() - cap_);
        return std::move(data_);
    }

  private:
    std::size_t cap_;
    std::size_t total_ = 0;
    std::string data_;
};

// NULL-terminated char* array over strings that outlive it.
std::vector<char*> c_array(const std::vector<std::string>& v) {
    std::vector<char*> out;
    out.reserve(v.size() + 1);
    for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
    out.push_back(nullptr);
    return out;
}

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

struct child_pipes {
    pipe_pair in, out, err;
};

// posix_spawn with the child set up as DESIGN says. Returns the pid, or sets *error.
pid_t spawn_child(const process_spec& spec, child_pipes& p, int dir_fd, std::string* error) {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_adddup2(&fa, p.in.read.get(), 0);
    posix_spawn_file_actions_adddup2(&fa, p.out.write.get(), 1);
    posix_spawn_file_actions_adddup2(&fa, p.err.write.get(), 2);
    if (dir_fd >= 0) posix_spawn_file_actions_addfchdir_np(&fa, dir_fd);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);

    sigset_t all = every_signal(), none;
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

    auto argv = c_array(spec.argv);
    auto envp = c_array(spec.env);
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc == 0) return pid;
    *error = "cannot execute " + spec.argv[0] + ": " + errno_text(rc);
    if (rc == ENOEXEC) *error += " (not a binary, and no #! line?)";
    return -1;
}

// Watches one child for exit without reaping it (the zombie keeps pid and pgid reserved).
class exit_watch {
  public:
    // glibc 2.36's <sys/pidfd.h> lacks extern "C", hence the raw syscall. A pidfd is CLOEXEC.
    explicit exit_watch(pid_t pid)
        : pid_(pid), pidfd_(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))) {}
    int poll_fd() const { return pidfd_.get(); }  // -1: no pidfd, poll with a tick instead
    bool exited() {
        if (exited_) return true;
        siginfo_t info{};
        int rc = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
        if (rc == 0 && info.si_pid != 0) exited_ = true;
        if (rc != 0 && errno == ECHILD) exited_ = true;  // reaped behind our back; see header
        return exited_;
    }

  private:
    pid_t pid_;
    unique_fd pidfd_;
    bool exited_ = false;
};

// The poll loop's state for one run.
class session {
  public:
    session(const process_spec& spec, pid_t pid, child_pipes& p)
        : spec_(spec),
          pid_(pid),
          watch_(pid),
          in_(std::move(p.in.write)),
          out_fd_(std::move(p.out.read)),
          err_fd_(std::move(p.err.read)),
          out_(spec.max_output_bytes),
          err_(spec.max_output_bytes) {
        if (spec_.stdin_data.empty()) in_.reset();
        for (auto* fd : {&in_, &out_fd_, &err_fd_})
            if (fd->open()) set_nonblocking(fd->get());
    }

    void run(clock_type::time_point start);
    process_outcome finish(clock_type::time_point start);

  private:
    void kill_group(int sig, clock_type::time_point now);
    void pump(clock_type::time_point until, bool watching);
    void write_stdin();
    static void drain(unique_fd& fd, tail_buffer& buf);

    const process_spec& spec_;
    pid_t pid_;
    exit_watch watch_;
    unique_fd in_, out_fd_, err_fd_;
    tail_buffer out_, err_;
    std::size_t in_off_ = 0;
    bool timed_out_ = false, killed_ = false;
    clock_type::time_point kill_at_, drain_until_;
};

void session::kill_group(int sig, clock_type::time_point now) {
    ::kill(-pid_, sig);
    if (sig == SIGKILL) {
        killed_ = true;
        drain_until_ = now + std::max(spec_.kill_grace, milliseconds(100));
        in_.reset();
    }
}

void session::run(clock_type::time_point start) {
    const auto deadline = start + spec_.timeout;
    for (;;) {
        auto now = clock_type::now();
        bool exited = watch_.exited();
        if (!exited && !timed_out_ && now >= deadline) {
            timed_out_ = true;
            kill_at_ = now + spec_.kill_grace;
            ::kill(-pid_, SIGTERM);
        }
        if (!killed_ && (exited || (timed_out_ && now >= kill_at_))) kill_group(SIGKILL, now);
        if (exited && !out_fd_.open() && !err_fd_.open()) return;
        if (killed_ && now >= drain_until_) return;  // pipes held by an escaped process
        pump(!timed_out_ ? deadline : !killed_ ? kill_at_ : drain_until_, !exited);
    }
}

// One poll() round, waiting at most until `until`, or until the child exits if `watching` (the
// caller's view: re-asking here could miss an exit that happens in between).
void session::pump(clock_type::time_point until, bool watching) {
    pollfd fds[4];
    int n = 0;
    auto add = [&](int fd, short events) { fds[n++] = pollfd{fd, events, 0}; };
    if (in_.open()) add(in_.get(), POLLOUT);
    if (out_fd_.open()) add(out_fd_.get(), POLLIN);
    if (err_fd_.open()) add(err_fd_.get(), POLLIN);
    if (watching && watch_.poll_fd() >= 0) add(watch_.poll_fd(), POLLIN);

    auto wait = std::chrono::ceil<milliseconds>(until - clock_type::now());
    if (watching && watch_.poll_fd() < 0) wait = std::min(wait, exit_poll_tick);
    auto ms = std::clamp<long long>(wait.count(), 0, INT_MAX);
    int rc = ::poll(fds, static_cast<nfds_t>(n), static_cast<int>(ms));
    if (rc <= 0) return;  // timeout or EINTR: the caller re-checks the clock
    for (int i = 0; i < n; ++i) {
        if (fds[i].revents == 0) continue;
        if (fds[i].fd == in_.get()) {
            write_stdin();
        } else if (fds[i].fd == out_fd_.get()) {
            drain(out_fd_, out_);
        } else if (fds[i].fd == err_fd_.get()) {
            drain(err_fd_, err_);
        }
    }
}

void session::write_stdin() {
    const auto& data = spec_.stdin_data;
    std::size_t len = std::min(data.size() - in_off_, read_chunk);
    ssize_t w = ::write(in_.get(), data.data() + in_off_, len);
    if (w > 0) in_off_ += static_cast<std::size_t>(w);
    // EPIPE (the child closed stdin or exited) is normal: it just did not want the rest.
    if ((w < 0 && errno != EAGAIN && errno != EINTR) || in_off_ == data.size()) in_.reset();
}

void session::drain(unique_fd& fd, tail_buffer& buf) {
    char chunk[read_chunk];
    for (int round = 0; round < 4; ++round) {
        ssize_t r = ::read(fd.get(), chunk, sizeof chunk);
        if (r > 0) {
            buf.append(chunk, static_cast<std::size_t>(r));
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
        fd.reset();  // EOF or error
        return;
    }
}

process_outcome session::finish(clock_type::time_point start) {
    in_.reset();
    out_fd_.reset();
    err_fd_.reset();
    process_outcome r;
    int st = 0;
    pid_t w;
    while ((w = ::waitpid(pid_, &st, 0)) < 0 && errno == EINTR) {
    }
    if (w < 0) {
        r.how = process_outcome::kind::exited;
        r.error = "lost the exit status of " + spec_.argv[0] + ": " + errno_text(errno) +
                  " (is SIGCHLD ignored?)";
    } else if (WIFEXITED(st)) {
        r.how = process_outcome::kind::exited;
        r.exit_code = WEXITSTATUS(st);
    } else if (WIFSIGNALED(st)) {
        r.how = process_outcome::kind::signaled;
        r.signal = WTERMSIG(st);
    }
    if (timed_out_) r.how = process_outcome::kind::timed_out;
    r.stdout_bytes = out_.total();
    r.stderr_bytes = err_.total();
    r.stdout_tail = out_.take();
    r.stderr_tail = err_.take();
    r.duration = std::chrono::duration_cast<milliseconds>(clock_type::now() - start);
    r.timeout = spec_.timeout;
    return r;
}

process_outcome spawn_failure(std::string error, clock_type::time_point start) {
    process_outcome r;
    r.how = process_outcome::kind::spawn_failed;
    r.error = std::move(error);
    r.duration = std::chrono::duration_cast<milliseconds>(clock_type::now() - start);
    return r;
}

// "SIGKILL", or "signal 77" for one without a name.
std::string signal_name(int sig) {
    const char* abbrev = ::sigabbrev_np(sig);
    return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

// "5s", "1.5s", "250ms".
std::string format_duration(milliseconds d) {
    long long ms = d.count();
    if (ms < 1000) return std::to_string(ms) + "ms";
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
    return buf;
}

// Length of the valid UTF-8 sequence at s[i], or 0 if there is none.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
    auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = b(i);
    std::size_t len = c < 0x80         ? 1
                      : (c >> 5) == 6  ? 2
                      : (c >> 4) == 14 ? 3
                      : (c >> 3) == 30 ? 4
                                       : 0;
    if (len == 0 || i + len > s.size()) return 0;
    for (std::size_t k = 1; k < len; ++k)
        if ((b(i + k) & 0xC0) != 0x80) return 0;
    if (len == 2 && c < 0xC2) return 0;                                      // overlong
    if (len == 3 && c == 0xE0 && b(i + 1) < 0xA0) return 0;                  // overlong
    if (len == 3 && c == 0xED && b(i + 1) >= 0xA0) return 0;                 // surrogate
    if (len == 4 && (c > 0xF4 || (c == 0xF0 && b(i + 1) < 0x90))) return 0;  // range, overlong
    if (len == 4 && c == 0xF4 && b(i + 1) >= 0x90) return 0;                 // > U+10FFFF
    return len;
}

// The last `max` bytes of raw output as valid UTF-8 without NUL, trailing whitespace trimmed.
std::string printable_tail(std::string_view raw, std::size_t max) {
    bool cut = raw.size() > max;
    if (cut) raw.remove_prefix(raw.size() - max);
    while (!raw.empty() && (static_cast<unsigned char>(raw.front()) & 0xC0) == 0x80)
        raw.remove_prefix(1);  // the rest of a character cut in half
    while (!raw.empty() && std::string_view(" \t\r\n").find(raw.back()) != std::string_view::npos)
        raw.remove_suffix(1);
    std::string out = cut ? "..." : "";
    for (std::size_t i = 0; i < raw.size();) {
        std::size_t len = raw[i] == '\0' ? 0 : utf8_sequence(raw, i);
        if (len == 0) {
            out += "\uFFFD";
            ++i;
        } else {
            out.append(raw.substr(i, len));
            i += len;
        }
    }
    return out;
}

}  // namespace

bool process_outcome::success() const { return how == kind::exited && exit_code == 0; }

std::string process_outcome::describe() const {
    std::string head;
    switch (how) {
        case kind::spawn_failed:
            return error;
        case kind::exited:
            if (!error.empty()) return error;
            head = "exit " + std::to_string(exit_code);
            break;
        case kind::signaled:
            head = "killed by signal " + std::to_string(signal) + " (" + signal_name(signal) + ")";
            break;
        case kind::timed_out:
            head = "timed out after " + format_duration(timeout) + "; process group killed";
            break;
    }
    std::string tail = printable_tail(stderr_tail, describe_tail_bytes);
    return tail.empty() ? head : head + ": " + tail;
}

process_outcome run_process(const process_spec& spec) {
    const auto start = clock_type::now();
    if (spec.argv.empty() || spec.argv[0].empty())
        return spawn_failure("cannot execute: empty argument vector", start);

    unique_fd dir;
    if (!spec.working_dir.empty()) {
        dir.reset(::open(spec.working_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!dir.open())
            return spawn_failure(
                "cannot use working directory " + spec.working_dir + ": " + errno_text(errno),
                start);
    }
    child_pipes pipes;
    if (!make_pipe(pipes.in) || !make_pipe(pipes.out) || !make_pipe(pipes.err))
        return spawn_failure("cannot create pipes: " + errno_text(errno), start);

    sigpipe_guard no_sigpipe;
    std::string error;
    pid_t pid = spawn_child(spec, pipes, dir.get(), &error);
    if (pid < 0) return spawn_failure(std::move(error), start);
    pipes.in.read.reset();
    pipes.out.write.reset();
    pipes.err.write.reset();

    if (spec.registry) spec.registry->add(pid);
    session s(spec, pid, pipes);
    s.run(start);
    process_outcome out = s.finish(start);
    if (spec.registry) spec.registry->remove(pid);  // the group is killed and the child reaped
    return out;
}

}  // namespace pubsub
