#include "handlers/worker_set.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "base/logger.h"
#include "handlers/worker_process.h"

namespace pubsub {

namespace {

using std::chrono::milliseconds;

std::string seconds_text(milliseconds d) {
    return d.count() % 1000 == 0 ? std::to_string(d.count() / 1000) + "s"
                                 : std::to_string(d.count()) + "ms";
}

std::string shortened(const std::string& s, std::size_t max = 200) {
    return s.size() <= max ? s : s.substr(0, max) + "...";
}

void run_all(std::vector<std::pair<run_done, run_outcome>>& done) {
    for (auto& [fn, out] : done) fn(std::move(out));
    done.clear();
}

}  // namespace

worker_set::worker_set(worker_spec spec) : spec_(std::move(spec)) {
    int n = std::max(1, spec_.workers);
    for (int i = 0; i < n; ++i) workers_.push_back(std::make_unique<worker_process>());
}

worker_set::~worker_set() { stop_now(); }

status worker_set::start() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        return status::error(std::string("cannot create a pipe: ") + ::strerror(errno));
    }
    wake_read_.reset(fds[0]);
    wake_write_.reset(fds[1]);
    thread_ = std::thread([this] { loop(); });
    return {};
}

void worker_set::wake() {
    char b = 1;
    (void)!::write(wake_write_.get(), &b, 1);  // a full pipe already wakes the thread
}

void worker_set::close(clock::time_point deadline, bool shutting_down) {
    {
        std::lock_guard lock(mu_);
        shutting_down_ = shutting_down_ || shutting_down;
        if (closing_ && close_deadline_ <= deadline) return;
        closing_ = true;
        close_deadline_ = deadline;
    }
    if (wake_write_.open()) wake();
}

void worker_set::stop(clock::time_point deadline) noexcept {
    close(deadline, true);
    if (thread_.joinable()) thread_.join();
}

bool worker_set::finished() const {
    std::lock_guard lock(mu_);
    return done_;
}

void worker_set::interrupt() {
    {
        std::lock_guard lock(mu_);
        interrupted_ = true;
    }
    if (wake_write_.open()) wake();
}

worker_process* worker_set::pick() {
    worker_process* best = nullptr;
    const std::size_t n = workers_.size();
    for (std::size_t k = 0; k < n; ++k) {
        auto& w = *workers_[(next_pick_ + k) % n];
        if (w.state != worker_process::phase::ready) continue;
        if (static_cast<int>(w.in_flight.size()) >= w.window) continue;
        if (!best || w.in_flight.size() < best->in_flight.size()) best = &w;
    }
    next_pick_ = (next_pick_ + 1) % n;
    return best;
}

// The line goes straight into the pipe when nothing is queued before it; what the pipe does
// not take waits for the I/O thread, which is woken for it.
void worker_set::hand_to(worker_process& w, delivery_header h, std::string_view event_json,
                         run_done done, clock::time_point deadline) {
    h.id = std::to_string(++next_id_);
    w.in_flight[h.id] = {std::move(done), deadline, h.event_id};
    const bool was_empty = w.to_write.empty();
    w.to_write += delivery_line(h, event_json);
    if (!was_empty) return;  // the I/O thread is already waiting to write
    if (!w.flush()) {
        w.in.reset();  // EPIPE: its exit follows and fails the delivery
        wake();
    } else if (!w.to_write.empty()) {
        wake();
    }
}

std::string worker_set::no_room_reason() const {
    std::string why = "no persistent worker of subscriber \"" + spec_.subscriber +
                      "\" took the delivery within " + seconds_text(spec_.timeout);
    for (auto& x : workers_) {
        if (!x->last_error.empty()) return why + "; last worker error: " + x->last_error;
    }
    return why;
}

void worker_set::submit(delivery_header h, std::string event_json, run_done done) {
    std::unique_lock lock(mu_);
    if (closing_ && !shutting_down_ && !interrupted_) {  // replaced: run it on the new set
        lock.unlock();
        done(run_outcome{false,
                         "the subscriber's workers were replaced (its settings "
                         "changed); the delivery runs again on the new ones"});
        return;
    }
    if (closing_ || interrupted_) {
        lock.unlock();
        done(run_outcome{false, "pubsubd is stopping", true});
        return;
    }
    const auto now = clock::now();
    if (waiting_.empty()) {  // nothing waits before it
        if (worker_process* w = pick()) {
            hand_to(*w, std::move(h), event_json, std::move(done), now + spec_.timeout);
            return;
        }
    }
    waiting_.push_back({std::move(h), std::move(event_json), std::move(done), now + spec_.timeout});
}

std::vector<worker_set::waiting> worker_set::take_waiting() {
    std::lock_guard lock(mu_);
    std::vector<waiting> out(std::make_move_iterator(waiting_.begin()),
                             std::make_move_iterator(waiting_.end()));
    waiting_.clear();
    return out;
}

void worker_set::adopt(std::vector<waiting> w) {
    if (w.empty()) return;
    {
        std::lock_guard lock(mu_);
        for (auto& x : w) waiting_.push_back(std::move(x));
    }
    wake();
}

worker_set::clock::time_point worker_set::serve_waiting(clock::time_point now,
                                                        std::vector<completion>& done) {
    // Closing, the workers still up serve what waits until the deadline (a drain); after it,
    // with no worker left, or once the pool is past its own deadline, what waits ends here.
    bool any_up = false;
    for (auto& w : workers_) any_up = any_up || w->state != worker_process::phase::down;
    if (interrupted_ || (closing_ && (now >= close_deadline_ || !any_up))) {
        const bool stopping = shutting_down_ || interrupted_;
        for (auto& x : waiting_) {
            done.emplace_back(std::move(x.done),
                              stopping
                                  ? run_outcome{false, "pubsubd is stopping", true}
                                  : run_outcome{false, "the persistent workers of subscriber \"" +
                                                           spec_.subscriber +
                                                           "\" were stopped (it was removed, "
                                                           "disabled or changed)"});
        }
        waiting_.clear();
        return clock::time_point::max();
    }
    while (!waiting_.empty()) {
        auto& x = waiting_.front();
        if (x.give_up <= now) {
            done.emplace_back(std::move(x.done), run_outcome{false, no_room_reason()});
        } else if (worker_process* w = pick()) {
            // timeout_s counts from the write (SPEC 7.3), not from the wait's start.
            hand_to(*w, std::move(x.header), x.event_json, std::move(x.done), now + spec_.timeout);
        } else {
            return x.give_up;
        }
        waiting_.pop_front();
    }
    return clock::time_point::max();
}

void worker_set::start_worker(worker_process& w, clock::time_point now) {
    ++w.starts;
    status s = w.spawn(spec_.argv, spec_.env, spec_.registry.get());
    if (s.ok()) {
        w.hello_deadline = now + spec_.timeout;
        log_line(
            log_level::info, "persistent worker started",
            log_field("subscriber", spec_.subscriber) + " pid=" + std::to_string(w.proc.pid()));
        return;
    }
    ++w.failures;
    w.last_error = s.message();
    auto shift = std::min(w.failures - 1, 20);
    w.start_at =
        now + std::min<milliseconds>(spec_.backoff_min * (1LL << shift), spec_.backoff_max);
    log_line(log_level::warn, "persistent worker cannot start",
             log_field("subscriber", spec_.subscriber) + " " + log_field("error", s.message()));
}

void worker_set::lose(worker_process& w, const std::string& why, std::vector<completion>& done) {
    const pid_t pid = w.proc.pid();
    const bool exited = w.proc.exited();
    std::string how = w.kill_and_reap(spec_.registry.get());
    std::string reason = "persistent worker " + std::to_string(pid) + " " + why;
    if (exited && !how.empty()) reason += " (" + how + ")";
    if (exited && !w.last_stderr.empty()) reason += ": " + shortened(w.last_stderr, 1000);
    const bool stopping = closing_ && shutting_down_;
    for (auto& [id, p] : w.in_flight) {
        done.emplace_back(std::move(p.done), run_outcome{false, reason, stopping});
    }
    w.in_flight.clear();
    if (closing_) return;  // no restart
    ++w.failures;
    w.last_error = reason;
    auto shift = std::min(w.failures - 1, 20);
    w.start_at = clock::now() +
                 std::min<milliseconds>(spec_.backoff_min * (1LL << shift), spec_.backoff_max);
    log_line(log_level::warn, "persistent worker lost; restarting after backoff",
             log_field("subscriber", spec_.subscriber) + " " + log_field("reason", reason));
}

void worker_set::on_line(worker_process& w, const std::string& line,
                         std::vector<completion>& done) {
    worker_line l = parse_worker_line(line);
    using kind = worker_line::kind;
    if (l.what == kind::hello && w.state == worker_process::phase::starting) {
        w.window = std::min(l.concurrency, std::max(1, spec_.window));
        w.state = worker_process::phase::ready;
        return;
    }
    if (l.what == kind::hello) return lose(w, "wrote a second hello", done);
    if (l.what == kind::malformed) {
        return lose(w, "wrote a malformed line (" + l.error + "): " + shortened(line), done);
    }
    if (w.state != worker_process::phase::ready) {
        return lose(w, "answered before its hello line", done);
    }
    auto it = w.in_flight.find(l.id);
    if (it == w.in_flight.end()) {
        log_line(log_level::warn, "persistent worker answered a delivery no longer in flight",
                 log_field("subscriber", spec_.subscriber) + " " + log_field("id", l.id));
        return;
    }
    if (l.ok) {
        ++w.completed;
        w.failures = 0;
        done.emplace_back(std::move(it->second.done), run_outcome{});
    } else {
        ++w.failed;
        done.emplace_back(std::move(it->second.done), run_outcome{false, l.error});
    }
    w.in_flight.erase(it);
}

void worker_set::handle_io(std::size_t slot, short out_ev, short err_ev, short in_ev,
                           std::vector<completion>& done) {
    worker_process& w = *workers_[slot];
    if (in_ev != 0 && !w.flush()) w.in.reset();  // EPIPE: its exit or timeout follows
    if (err_ev != 0) {
        std::vector<std::string> lines;
        bool overlong = false, eof = false;
        w.read_lines(false, spec_.max_stderr_line, lines, overlong, eof);
        for (auto& l : lines) {
            log_stderr(w, l);
            w.last_stderr = std::move(l);
        }
    }
    if (out_ev != 0) {
        std::vector<std::string> lines;
        bool overlong = false, eof = false;
        w.read_lines(true, spec_.max_line_bytes, lines, overlong, eof);
        for (auto& l : lines) {
            if (w.state == worker_process::phase::down) return;
            on_line(w, l, done);
        }
        if (w.state == worker_process::phase::down) return;
        if (overlong) {
            return lose(w, "wrote a line over " + std::to_string(spec_.max_line_bytes) + " bytes",
                        done);
        }
        if (eof) {
            // Mostly an exit seen from its pipe first: give the exit a moment to be reported.
            for (int i = 0; i < 20 && !w.proc.exited(); ++i) {
                std::this_thread::sleep_for(milliseconds(5));
            }
            if (closing_ && w.in_flight.empty()) {
                (void)w.kill_and_reap(spec_.registry.get());
                return;
            }
            return lose(w, w.proc.exited() ? "exited" : "closed its stdout", done);
        }
    }
}

// At most max_stderr_lines_per_s lines a second reach the log, for the whole set; the rest
// are counted and the count is logged with the next line that passes.
void worker_set::log_stderr(const worker_process& w, const std::string& line) {
    const auto now = clock::now();
    if (now - stderr_window_ >= std::chrono::seconds(1)) {
        stderr_window_ = now;
        stderr_lines_ = 0;
    }
    if (++stderr_lines_ > spec_.max_stderr_lines_per_s) {
        ++stderr_dropped_;
        return;
    }
    std::string fields = log_field("subscriber", spec_.subscriber) +
                         " pid=" + std::to_string(w.proc.pid()) + " " + log_field("line", line);
    if (stderr_dropped_ > 0) fields += " suppressed_before=" + std::to_string(stderr_dropped_);
    stderr_dropped_ = 0;
    log_line(log_level::info, "persistent worker stderr", fields);
}

// Starts due workers, enforces the timeouts and the close; the next time to look again.
worker_set::clock::time_point worker_set::tend(clock::time_point now,
                                               std::vector<completion>& done) {
    auto next = now + milliseconds(1000);
    bool all_down = true;
    // A worker that said hello or answered since the last round has room now.
    next = std::min(next, serve_waiting(now, done));
    for (auto& wp : workers_) {
        worker_process& w = *wp;
        using phase = worker_process::phase;
        if (w.state == phase::down && !closing_) {
            if (now >= w.start_at) {
                start_worker(w, now);
            } else {
                next = std::min(next, w.start_at);
            }
        }
        if (w.state == phase::starting && !closing_) {
            if (now >= w.hello_deadline) {
                lose(w, "sent no hello line within " + seconds_text(spec_.timeout), done);
            } else {
                next = std::min(next, w.hello_deadline);
            }
        }
        if (w.state != phase::down) {
            for (auto& [id, p] : w.in_flight) {
                if (p.deadline <= now) {
                    lose(w,
                         "overran timeout_s (" + seconds_text(spec_.timeout) + ") on event " +
                             std::to_string(p.event_id) + "; process group killed",
                         done);
                    break;
                }
                next = std::min(next, p.deadline);
            }
        }
        if (closing_ && w.state != phase::down) {
            if (w.in_flight.empty() && waiting_.empty()) w.close_stdin();
            if (now >= close_deadline_) {
                lose(w, "stopped at the deadline; process group killed", done);
            }
        }
        if (w.state != phase::down) all_down = false;
    }
    if (closing_) {
        next = std::min(next, close_deadline_);
        if (all_down) done_ = true;
    } else {
        for (auto& wp : workers_) {  // lost just now: wake for the restart
            if (wp->state == worker_process::phase::down) next = std::min(next, wp->start_at);
        }
    }
    return next;
}

void worker_set::loop() {
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);  // a closed stdin makes write() fail, only
    std::vector<completion> done;
    std::vector<pollfd> fds;
    std::vector<std::pair<std::size_t, int>>
        owner;  // per fd: worker slot, 0 in / 1 out / 2 err / 3 exit
    for (;;) {
        fds.clear();
        owner.clear();
        clock::time_point next;
        bool finished = false;
        {
            std::lock_guard lock(mu_);
            next = tend(clock::now(), done);
            finished = done_;
            fds.push_back({wake_read_.get(), POLLIN, 0});
            owner.emplace_back(0, -1);
            for (std::size_t i = 0; i < workers_.size(); ++i) {
                auto& w = *workers_[i];
                if (w.in.open() && !w.to_write.empty()) {
                    fds.push_back({w.in.get(), POLLOUT, 0});
                    owner.emplace_back(i, 0);
                }
                if (w.out.open()) fds.push_back({w.out.get(), POLLIN, 0}), owner.emplace_back(i, 1);
                if (w.err.open()) fds.push_back({w.err.get(), POLLIN, 0}), owner.emplace_back(i, 2);
                if (w.proc.running() && w.proc.poll_fd() >= 0) {
                    fds.push_back({w.proc.poll_fd(), POLLIN, 0});
                    owner.emplace_back(i, 3);
                } else if (w.proc.running()) {
                    next = std::min(next, clock::now() + milliseconds(20));  // no pidfd: tick
                }
            }
        }
        if (!done.empty()) run_all(done);
        if (finished) return;
        auto wait = std::chrono::ceil<milliseconds>(next - clock::now()).count();
        int rc = ::poll(fds.data(), fds.size(),
                        static_cast<int>(std::clamp<long long>(wait, 0, INT_MAX)));
        if (rc <= 0) continue;
        {
            std::lock_guard lock(mu_);
            if (fds[0].revents != 0) {
                char buf[256];
                while (::read(wake_read_.get(), buf, sizeof buf) > 0) {
                }
            }
            // Per worker: in, out, err events, then its exit.
            std::vector<short> ev(workers_.size() * 4, 0);
            for (std::size_t k = 1; k < fds.size(); ++k) {
                ev[owner[k].first * 4 + static_cast<std::size_t>(owner[k].second)] = fds[k].revents;
            }
            for (std::size_t i = 0; i < workers_.size(); ++i) {
                auto& w = *workers_[i];
                handle_io(i, ev[i * 4 + 1], ev[i * 4 + 2], ev[i * 4], done);
                if (ev[i * 4 + 3] != 0 && w.state != worker_process::phase::down) {
                    // Read what it said last before it went.
                    handle_io(i, w.out.open() ? POLLIN : 0, w.err.open() ? POLLIN : 0, 0, done);
                    if (w.state == worker_process::phase::down) continue;
                    if (closing_ && w.in_flight.empty()) {
                        (void)w.kill_and_reap(spec_.registry.get());
                    } else {
                        lose(w, "exited", done);
                    }
                }
            }
            (void)serve_waiting(clock::now(), done);  // room made by these answers
        }
        run_all(done);
    }
}

std::vector<worker_status> worker_set::snapshot() const {
    std::lock_guard lock(mu_);
    std::vector<worker_status> out;
    for (std::size_t i = 0; i < workers_.size(); ++i) {
        const auto& w = *workers_[i];
        worker_status s;
        s.slot = static_cast<int>(i);
        s.pid = w.state == worker_process::phase::down ? 0 : w.proc.pid();
        s.running = w.state == worker_process::phase::ready;
        s.in_flight = static_cast<int>(w.in_flight.size());
        s.restarts = w.starts > 0 ? w.starts - 1 : 0;
        s.completed = w.completed;
        s.failed = w.failed;
        s.last_error = w.last_error;
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace pubsub
