#include "daemon/service_notify.h"

#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "base/logger.h"

namespace pubsub {

namespace {

// STATUS= is one line: newlines would end the field.
std::string one_line(std::string s) {
    std::replace(s.begin(), s.end(), '\n', ' ');
    return s;
}

void send(const std::string& message) {
    if (int rc = sd_notify(0, message.c_str()); rc < 0) {
        log_line(log_level::warn, "sd_notify failed", "errno=" + std::to_string(-rc));
    }
}

}  // namespace

std::string service_status(const admin::node_sample& s) {
    std::size_t waiting = 0, running = 0, queued = 0;
    for (auto d : s.queue_depth) waiting += d;
    for (const auto& p : s.pools) {
        running += static_cast<std::size_t>(p.busy);
        queued += p.queued;
    }
    return "received " + std::to_string(s.received_total()) + ", routing " +
           std::to_string(waiting) + ", handlers running " + std::to_string(running) + ", queued " +
           std::to_string(queued) + ", unpersisted " + std::to_string(s.wb.unpersisted_events) +
           (s.wb.healthy ? "" : ", database unreachable (buffering)") +
           (s.wb_admits ? "" : ", refusing new events");
}

service_notify::service_notify(std::function<std::string()> summary)
    : summary_(std::move(summary)) {
    const char* socket = std::getenv("NOTIFY_SOCKET");
    enabled_ = socket != nullptr && *socket != '\0';
    std::uint64_t usec = 0;
    if (enabled_ && sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
        watchdog_ = std::chrono::microseconds(usec);
}

service_notify::~service_notify() { stop(clock::now()); }

void service_notify::stop(clock::time_point) noexcept {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

status service_notify::start() {
    if (!enabled_ || thread_.joinable()) return status();
    send("READY=1\nSTATUS=" + one_line(summary_()) + (watchdog_.count() ? "\nWATCHDOG=1" : ""));
    if (watchdog_.count()) {
        log_line(log_level::info, "systemd watchdog enabled",
                 "interval_ms=" + std::to_string(watchdog_.count() / 1000));
    }
    {
        std::lock_guard lock(mu_);
        stop_ = false;
    }
    thread_ = std::thread([this] { loop(); });
    return status();
}

void service_notify::stopping() {
    if (!enabled_) return;
    // The pings go on during the drain (it may outlast WatchdogSec); only STOPPING=1 is new.
    send("STOPPING=1\nSTATUS=stopping: draining handlers and flushing pending writes");
}

void service_notify::loop() {
    using namespace std::chrono;
    // Half the watchdog interval, as sd_watchdog_enabled(3) advises; STATUS at least every 5 s.
    auto period = watchdog_.count() ? std::min<microseconds>(watchdog_ / 2, seconds(5))
                                    : microseconds(seconds(5));
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, period, [this] { return stop_; })) {
        lock.unlock();
        std::string status = one_line(summary_());  // blocks if a component is wedged
        send("STATUS=" + status + (watchdog_.count() ? "\nWATCHDOG=1" : ""));
        lock.lock();
    }
}

}  // namespace pubsub
