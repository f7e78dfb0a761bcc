// node_heartbeat: this node's liveness (SPEC 7.6). A service with its own thread and its own
// connection that refreshes the node's row every --node-dead-after / 3, so no claim, sweep or
// slow query of another thread can delay it, and keeps the lease (router/node_lease.h): the
// steady-clock time at which the last successful heartbeat was sent. Other nodes take this
// node's events once its row is older than the deadline; the lease, taken before the row is
// written, is never younger than what they see, so while it is fresh this node still owns what
// it claimed.
//
// Fencing: when a heartbeat succeeds after a gap as long as the deadline (a stall, an outage),
// other nodes may have taken events this node holds in memory. Before the lease is renewed, the
// events taken from it are read and handed to on_lost (which cancels them in the pools), so
// no handler starts for them here; if that read fails, the lease stays stale and it is tried
// again at the next heartbeat.
//
// Threading: start()/stop() on the owner's thread; lease() and its reads are lock-free and
// may be called on any thread. info_json and on_lost are called on the heartbeat thread only.
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
#include <vector>

#include "base/logger.h"
#include "base/service.h"
#include "router/event.h"
#include "router/node_lease.h"
#include "storage/node_info.h"

namespace pubsub {

struct node_heartbeat_options {
    std::string dsn;
    std::string schema = "dba";
    int dead_after_s = 30;
    std::function<std::string()> info_json;  // the row's info document; "{}" when unset
    std::function<void(const std::vector<event_id>&)> on_lost;  // events other nodes took
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
    // Writes a heartbeat on the caller's thread (an error when the database refuses it:
    // nothing is started), then starts the thread. The row itself (started_at) is written
    // before, with the database's other start steps.
    status start() override;
    void stop(clock::time_point deadline) noexcept override;

    const node_lease& lease() const { return lease_; }
    // Times this node found, back from a gap past its deadline, that it may have been declared
    // dead (whether or not events were taken from it).
    std::uint64_t declared_dead() const { return declared_dead_.load(std::memory_order_relaxed); }
    // Events found taken by other nodes on the way back (handed to on_lost, dropped here).
    std::uint64_t taken_over() const { return taken_over_.load(std::memory_order_relaxed); }
    // Heartbeats that failed (connection lost, statement timeout).
    std::uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }

  private:
    void run();
    // One heartbeat on conn_ (reconnecting first when needed); true when the row was written.
    // `sent` is when it was sent.
    bool beat(bool first, clock::time_point& sent);
    // After a successful heartbeat: the fence check when needed, then the lease renewal.
    void renew(clock::time_point sent);
    void log(log_level lvl, const std::string& msg) const;

    const node_heartbeat_options opts_;
    const node_identity& node_;
    const std::chrono::milliseconds deadline_, interval_;
    std::optional<pg::connection> conn_;  // heartbeat thread only (start() before it runs)
    node_lease lease_;
    std::atomic<std::uint64_t> failures_{0}, declared_dead_{0}, taken_over_{0};
    bool fence_pending_ = false;  // heartbeat thread only: the lost events are still to be read
    bool dead_logged_ = false;  // heartbeat thread only
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;  // guarded by mu_
    std::thread thread_;
};

}  // namespace pubsub
