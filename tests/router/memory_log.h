// memory_log: an in-memory transition_log for router tests, and a tiny event factory.
//
// Records every transition (without its callback) under a mutex; durable callbacks are kept so
// a test decides when (and with which status) the "commit" happens. wait_for_finals() blocks
// until n final transitions arrived or a generous hang guard expires (not a timing assertion:
// it only turns a hang into a failure). Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "router/delivery.h"
#include "router/transition_log.h"

namespace pubsub::test {

inline constexpr std::chrono::seconds hang_guard{60};

struct recorded {
    event_ptr ev;
    event_status status = event_status::pending;
    std::uint32_t seq = 0;
    std::int64_t at_us = 0;
    int retry_count = 0;
    std::string error;
    bool had_ack = false;
};

inline bool is_final(event_status s) {
    return s == event_status::completed || s == event_status::failed ||
           s == event_status::cancelled;
}

class memory_log final : public transition_log {
  public:
    void record(transition t) override {
        std::lock_guard lock(mu_);
        recorded r{t.ev,
                   t.status,
                   t.seq,
                   t.at_us,
                   t.retry_count,
                   t.error,
                   static_cast<bool>(t.on_durable)};
        if (t.on_durable) acks_.push_back(std::move(t.on_durable));
        if (is_final(t.status)) ++finals_;
        all_.push_back(std::move(r));
        cv_.notify_all();
    }
    status admit() const override {
        std::lock_guard lock(mu_);
        return admit_;
    }

    void set_admit(status s) {
        std::lock_guard lock(mu_);
        admit_ = std::move(s);
    }
    // Runs (and forgets) every durable callback held so far, with s.
    void fire_acks(const status& s) {
        std::vector<durable_callback> acks;
        {
            std::lock_guard lock(mu_);
            acks.swap(acks_);
        }
        for (auto& a : acks) a(s);
    }
    std::size_t held_acks() const {
        std::lock_guard lock(mu_);
        return acks_.size();
    }
    bool wait_for_finals(std::size_t n) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, hang_guard, [&] { return finals_ >= n; });
    }
    std::vector<recorded> all() const {
        std::lock_guard lock(mu_);
        return all_;
    }
    // Transitions grouped by event id, in recording order.
    std::map<event_id, std::vector<recorded>> by_event() const {
        std::map<event_id, std::vector<recorded>> out;
        for (auto& r : all()) out[r.ev->id].push_back(r);
        return out;
    }

  private:
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<recorded> all_;
    std::vector<durable_callback> acks_;
    std::size_t finals_ = 0;
    status admit_;
};

inline event_ptr make_event(event_id id, int priority, std::string type = "t",
                            std::string source = "") {
    auto ev = std::make_shared<event>();
    ev->id = id;
    ev->priority = priority;
    ev->type = std::move(type);
    ev->source = std::move(source);
    ev->created_us = now_us();
    return ev;
}

inline subscriber make_sub(std::int64_t id, std::string event_type, job_type job = job_type::noop) {
    subscriber s;
    s.id = id;
    s.name = "sub" + std::to_string(id);
    s.event_type = std::move(event_type);
    s.job = job;
    return s;
}

}  // namespace pubsub::test
