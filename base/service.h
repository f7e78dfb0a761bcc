// service: the one lifecycle of everything long-lived (a thread, a server, a database row held
// for the process's life), and service_list, which starts services in order and stops them in
// reverse, for a failed start and a requested stop alike. Threading: a service's start() and stop()
// are called by one owner thread, never at the same time; what the service's own threads do is its
// business. service_list is thread-safe: start() and stop() hold its lock throughout, so a stop
// waits for a start in progress, and a second stopper waits for the first to finish.
//
// Contract of a service:
//   start()  starts and returns ok, or returns the error and leaves nothing running (the list
//            never stops a service whose start failed).
//   stop(deadline)  stops taking work, finishes what it holds until `deadline`, then joins its
//            threads. Idempotent: a second stop, or a stop without a successful start, is a
//            no-op. noexcept: a shutdown goes on whatever one service does.
//   A door that stops in two steps (stop taking work; close once its last acks are out) does the
//   first in stop() and names the second (close()), which joins; its destructor does both.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace pubsub {

class service {
  public:
    using clock = std::chrono::steady_clock;
    virtual ~service() = default;

    virtual std::string_view name() const = 0;
    virtual status start() = 0;
    virtual void stop(clock::time_point deadline) noexcept = 0;
    // A stop with no time to finish: destructors, tests.
    void stop_now() noexcept { stop(clock::now()); }
};

// A service made of two functions, for owners whose shape differs from service's (a door that
// stops in two steps, a server left running for another process, a step with nothing to stop).
// It keeps the contract itself: on_stop runs once, and only after on_start succeeded.
class service_fn final : public service {
  public:
    using start_fn = std::function<status()>;
    using stop_fn = std::function<void(clock::time_point)>;  // must not throw
    service_fn(std::string name, start_fn on_start, stop_fn on_stop = {});

    std::string_view name() const override { return name_; }
    status start() override;
    void stop(clock::time_point deadline) noexcept override;

  private:
    std::string name_;
    start_fn on_start_;
    stop_fn on_stop_;
    bool running_ = false;
};

// Started services, stopped in reverse. Holds references: the services must outlive the list
// (declare the list after them), or be stopped before they go.
class service_list {
  public:
    service_list() = default;
    ~service_list();  // stops what is still running, deadline now
    service_list(const service_list&) = delete;
    service_list& operator=(const service_list&) = delete;

    // Starts each service in order and keeps those started for stop(). When one fails, returns
    // its error and starts no more; those started stay running until stop() (so the caller
    // can say what failed before the shutdown begins).
    status start(const std::vector<service*>& in_order);
    // Stops every started service in reverse order, each with `deadline`; the list is then
    // empty. Idempotent.
    void stop(service::clock::time_point deadline) noexcept;
    std::size_t running() const;

  private:
    mutable std::mutex mu_;          // held through a whole start() or stop()
    std::vector<service*> started_;  // in start order; guarded by mu_
};

}  // namespace pubsub
