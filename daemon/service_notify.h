// service_notify: pubsubd's side of systemd's Type=notify protocol (sd_notify(3), libsystemd).
// start() sends READY=1 (call it once the doors accept), stopping() sends STOPPING=1 (at
// SIGTERM). From start() to stop() a thread sends STATUS= with the queue summary every few
// seconds and, when the service manager asked for a watchdog (WatchdogSec=, seen as
// WATCHDOG_USEC), WATCHDOG=1 at half the interval. Stop it after everything else: the pings go
// on through the drain.
//
// A ping follows a fresh summary(): the daemon samples its router, pools, write-behind and doors,
// each through its own lock, so a wedged component stops the pings and systemd restarts the
// service. The database is never consulted: during an outage the pings go on, riding it out is
// the write-behind buffer's job, not a restart's.
// Without NOTIFY_SOCKET (not under systemd) every call is a no-op and no thread runs.
// Thread-safety: start(), stopping() and stop() from one thread (the main one).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "admin/node_sample.h"
#include "base/service.h"

namespace pubsub {

// The STATUS= line: events received, waiting in the router, handlers running and queued,
// unpersisted events and whether the write-behind keeps up.
std::string service_status(const admin::node_sample& s);

class service_notify final : public service {
  public:
    explicit service_notify(std::function<std::string()> summary);
    ~service_notify() override;
    service_notify(const service_notify&) = delete;
    service_notify& operator=(const service_notify&) = delete;

    std::string_view name() const override { return "service manager notifications"; }
    status start() override;  // READY=1, then the pings
    void stopping();
    void stop(clock::time_point deadline) noexcept override;  // ends the pings

  private:
    void loop();

    std::function<std::string()> summary_;
    bool enabled_ = false;                   // NOTIFY_SOCKET is set
    std::chrono::microseconds watchdog_{0};  // 0: no watchdog asked for
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace pubsub
