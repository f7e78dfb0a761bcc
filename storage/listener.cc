#include "storage/listener.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

namespace pubsub {

using steady = std::chrono::steady_clock;

pg_listener::pg_listener(listener_options opts) : opts_(std::move(opts)) {
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

pg_listener::~pg_listener() {
    stop();
    if (wake_fd_ >= 0) ::close(wake_fd_);
}

void pg_listener::start() {
    if (thread_.joinable()) return;
    thread_ = std::thread([this] { run(); });
}

void pg_listener::stop() noexcept {
    if (!thread_.joinable()) return;
    stopping_.store(true, std::memory_order_release);
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
    thread_.join();
}

void pg_listener::sleep_for(std::chrono::milliseconds d) {
    pollfd p{wake_fd_, POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(d.count()));
}

void pg_listener::run() {
    std::chrono::milliseconds backoff{100};
    std::string last_error;
    while (!stopping_.load(std::memory_order_acquire)) {
        auto c = pg::connection::open(opts_.dsn);
        status s = c.ok() ? status() : c.error();
        for (const auto& ch : opts_.channels) {
            if (s.ok()) s = c->listen(ch);
        }
        if (!s.ok()) {
            if (s.message() != last_error && opts_.log) {
                opts_.log(log_level::error, "listener: " + s.message() + "; retrying");
            }
            last_error = s.message();
            sleep_for(backoff);
            backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
            continue;
        }
        if (!last_error.empty() && opts_.log)
            opts_.log(log_level::info, "listener: connected again");
        last_error.clear();
        backoff = std::chrono::milliseconds(100);
        connected_.store(true, std::memory_order_relaxed);
        if (opts_.on_connect) opts_.on_connect(*c);
        serve(*c);
        connected_.store(false, std::memory_order_relaxed);
    }
}

void pg_listener::serve(pg::connection& conn) {
    (void)deliver_notifies(conn);  // any that came in while on_connect's queries ran
    auto next_tick = steady::now() + opts_.tick_interval;
    while (!stopping_.load(std::memory_order_acquire)) {
        auto wait =
            std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - steady::now());
        pollfd fds[2] = {{conn.socket(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
        int rc = ::poll(fds, 2, wait.count() > 0 ? static_cast<int>(wait.count()) : 0);
        if (rc > 0 && (fds[0].revents & (POLLIN | POLLERR | POLLHUP))) {
            if (status d = deliver_notifies(conn); !d.ok()) {
                if (opts_.log) opts_.log(log_level::warn, "listener: connection lost: " + d.message());
                return;
            }
        }
        if (steady::now() >= next_tick) {
            next_tick = steady::now() + opts_.tick_interval;
            if (opts_.on_tick) opts_.on_tick(conn);
            (void)deliver_notifies(conn);  // a lost connection shows in is_ok() below
        }
        if (!conn.is_ok()) return;
    }
}

// Delivers every notification received: those just read, and those that came in while a
// callback's own query ran (a sweep, the heartbeat). poll() does not report the latter, as they
// are already read from the socket, so without this they would wait for the next unrelated
// one, delaying a cancel or a create_event wake-up indefinitely. A callback that queries may
// let more in; the loop delivers those too.
status pg_listener::deliver_notifies(pg::connection& conn) {
    for (;;) {
        bool any = false;
        status s = conn.take_notifications([&](const pg::notification& n) {
            any = true;
            if (opts_.on_notify) opts_.on_notify(conn, n.channel, n.payload);
        });
        if (!s.ok()) return s;
        if (!any || !opts_.after_notifies) return status();
        opts_.after_notifies(conn);  // its query may let more in
    }
}

}  // namespace pubsub
