// Helpers shared by the write-behind's tests (write_behind_test.cc, write_behind_chunks_test.cc):
// a transition for an event, and a counter of the durable callbacks it gets.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

#include "router/event.h"
#include "storage/write_behind.h"

namespace pubsub::test {

// How long a test waits for what should come at once: only a hang ends there.
inline constexpr auto hang_guard = std::chrono::seconds(60);

inline transition make_t(const event_ptr& ev, event_status s, std::uint32_t seq,
                         durable_callback ack = {}, std::string error = {}) {
    transition t;
    t.ev = ev;
    t.status = s;
    t.seq = seq;
    t.at_us = now_us();
    t.error = std::move(error);
    t.on_durable = std::move(ack);
    return t;
}

// Counts durable callbacks; wait() blocks until n arrived (hang guard only).
class ack_counter {
  public:
    durable_callback make() {
        return [this](const status& s) {
            std::lock_guard lock(mu_);
            if (s.ok()) {
                ++ok_;
            } else {
                ++failed_;
                last_error_ = s.message();
            }
            cv_.notify_all();
        };
    }
    bool wait(int n) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, hang_guard, [&] { return ok_ + failed_ >= n; });
    }
    // n arrived, and none of them failed.
    bool wait_ok(int n) { return wait(n) && failed() == 0; }
    int ok() const {
        std::lock_guard lock(mu_);
        return ok_;
    }
    int failed() const {
        std::lock_guard lock(mu_);
        return failed_;
    }
    std::string last_error() const {
        std::lock_guard lock(mu_);
        return last_error_;
    }

  private:
    mutable std::mutex mu_;
    std::condition_variable cv_;
    int ok_ = 0, failed_ = 0;
    std::string last_error_;
};

}  // namespace pubsub::test
