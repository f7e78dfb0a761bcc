// pg_listener: a thread with its own connection that LISTENs on channels and runs periodic work.
//
// DESIGN: the thread connects (retrying with exponential backoff, logging each new error once),
// LISTENs on every channel, calls on_connect (the place to catch up on anything missed while
// disconnected), then waits in poll() on the connection's socket and an eventfd used by stop().
// Notifications are delivered to on_notify, including those libpq buffered while a callback's
// own query ran; on_tick runs every tick_interval with the same
// connection (for heartbeats and sweeps). All callbacks run on the listener thread.
// Lifecycle: start() spawns, stop() wakes and joins; idempotent, noexcept.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "base/logger.h"
#include "storage/pg.h"

namespace pubsub {

struct listener_options {
    std::string dsn;
    std::vector<std::string> channels;
    std::chrono::milliseconds tick_interval{1000};
    std::function<void(pg::connection&)> on_connect;
    std::function<void(pg::connection&, const std::string& channel, const std::string& payload)>
        on_notify;
    // After each run of notifications has been delivered (libpq holds no more): a place to act
    // on what on_notify collected, in one query instead of one per notification.
    std::function<void(pg::connection&)> after_notifies;
    std::function<void(pg::connection&)> on_tick;
    log_sink log;
};

class pg_listener {
  public:
    explicit pg_listener(listener_options opts);
    ~pg_listener();
    pg_listener(const pg_listener&) = delete;
    pg_listener& operator=(const pg_listener&) = delete;

    void start();
    void stop() noexcept;
    bool connected() const { return connected_.load(std::memory_order_relaxed); }

  private:
    void run();
    void serve(pg::connection& conn);
    status deliver_notifies(pg::connection& conn);
    void sleep_for(std::chrono::milliseconds d);

    listener_options opts_;
    int wake_fd_ = -1;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> connected_{false};
    std::thread thread_;
};

}  // namespace pubsub
