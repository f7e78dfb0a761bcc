#include "handlers/process_runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <utility>

#include "base/subprocess.h"
#include "base/unique_fd.h"
#include "handlers/process_registry.h"

namespace pubsub {
namespace {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t read_chunk = 64 * 1024;
constexpr milliseconds exit_poll_tick{10};  // only when pidfd_open is unavailable

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

// The poll loop's state for one run.
class session {
  public:
    session(const process_spec& spec, child& c)
        : spec_(spec),
          child_(c),
          in_(std::move(c.in())),
          out_fd_(std::move(c.out())),
          err_fd_(std::move(c.err())),
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
    child& child_;
    unique_fd in_, out_fd_, err_fd_;
    tail_buffer out_, err_;
    std::size_t in_off_ = 0;
    bool timed_out_ = false, killed_ = false;
    clock_type::time_point kill_at_, drain_until_;
};

void session::kill_group(int sig, clock_type::time_point now) {
    (void)child_.signal_group(sig);
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
        bool exited = child_.exited();
        if (!exited && !timed_out_ && now >= deadline) {
            timed_out_ = true;
            kill_at_ = now + spec_.kill_grace;
            (void)child_.signal_group(SIGTERM);
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
    if (watching && child_.poll_fd() >= 0) add(child_.poll_fd(), POLLIN);

    auto wait = std::chrono::ceil<milliseconds>(until - clock_type::now());
    if (watching && child_.poll_fd() < 0) wait = std::min(wait, exit_poll_tick);
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
    auto st = child_.wait();
    if (!st.ok()) {
        r.how = process_outcome::kind::exited;
        r.error = st.message();
    } else if (st->exited()) {
        r.how = process_outcome::kind::exited;
        r.exit_code = st->code;
    } else {
        r.how = process_outcome::kind::signaled;
        r.signal = st->signal;
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
    spawn_options o;
    o.argv = spec.argv;
    o.env = spec.env;
    o.working_dir = spec.working_dir;
    o.own_process_group = true;
    o.in = o.out = o.err = stdio::pipe();
    sigpipe_guard no_sigpipe;
    auto c = spawn(o);
    if (!c.ok()) return spawn_failure(c.message(), start);

    const pid_t pid = c->pid();
    if (spec.registry) spec.registry->add(pid);
    session s(spec, *c);
    s.run(start);
    process_outcome out = s.finish(start);
    if (spec.registry) spec.registry->remove(pid);  // the group is killed and the child reaped
    return out;
}

}  // namespace pubsub
