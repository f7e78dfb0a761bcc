// node_heartbeat: this node's liveness (SPEC 7.6). A service with its own thread and its own
// connection that refreshes the node's row every --node-dead-after / 3, so no claim, sweep or
// slow query of another thread can delay it, and keeps the lease: the steady-clock time at
// which the last successful heartbeat was sent. Other nodes take this node's events once its
// row is older than the deadline; the lease, taken before the row is written, is never younger
// than what they see, so while lease_fresh() this node still owns what it claimed.
//
// Threading: start()/stop() on the owner's thread; lease(), lease_fresh() and declared_dead()
// are lock-free (one relaxed atomic load each) and may be called on any thread. info_json is
// called on the heartbeat thread only.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "base/logger.h"
#include "base/service.h"
#include "storage/node_info.h"

namespace pubsub {

struct node_heartbeat_options {
    std::string dsn;
    std::string schema = "dba";
    int dead_after_s = 30;
    std::function<std::string()> info_json;  // the row's info document; "{}" when unset
    log_sink log;
};

class node_heartbeat final : public service {
  public:
    using clock = std::chrono::steady_clock;
    node_heartbeat(node_heartbeat_options opts, const node_identity& node);
    ~node_heartbeat() override;
    node_heartbeat(const node_heartbeat&) = delete;
    node_heartbeat& operator=(const node_heartbeat&) = delete;

    std::string_view name() const override { return "heartbeat"; }
    // Writes the first heartbeat on the caller's thread (an error when the database refuses
    // it: nothing is started), then starts the thread.
    status start() override;
    void stop(clock::time_point deadline) noexcept override;

    // When the last successful heartbeat was sent (clock::time_point{} before the first).
    clock::time_point lease() const {
        return clock::time_point(clock::duration(lease_.load(std::memory_order_relaxed)));
    }
    // True while the lease is younger than the deadline: no other node may have taken this
    // node's events yet.
    bool lease_fresh(clock::time_point now = clock::now()) const {
        return now - lease() < deadline_;
    }
    std::chrono::milliseconds interval() const { return interval_; }
    // Heartbeats that failed (connection lost, statement timeout).
    std::uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }

  private:
    void run();
    // One heartbeat on conn_ (reconnecting first when needed); true when the row was written.
    bool beat(bool first);
    void log(log_level lvl, const std::string& msg) const;

    const node_heartbeat_options opts_;
    const node_identity& node_;
    const std::chrono::milliseconds deadline_, interval_;
    std::optional<pg::connection> conn_;  // heartbeat thread only (start() before it runs)
    std::atomic<clock::rep> lease_{0};
    std::atomic<std::uint64_t> failures_{0};
    bool dead_logged_ = false;  // heartbeat thread only
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;  // guarded by mu_
    std::thread thread_;
};

}  // namespace pubsub
