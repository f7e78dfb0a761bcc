#include "storage/node_heartbeat.h"

#include <algorithm>

#include "storage/event_store.h"

namespace pubsub {

node_heartbeat::node_heartbeat(node_heartbeat_options opts, const node_identity& node)
    : opts_(std::move(opts)),
      node_(node),
      deadline_(std::chrono::seconds(std::max(1, opts_.dead_after_s))),
      interval_(deadline_ / 3),
      lease_(deadline_) {}

node_heartbeat::~node_heartbeat() { stop(clock::now()); }

void node_heartbeat::log(log_level lvl, const std::string& msg) const {
    if (opts_.log) opts_.log(lvl, msg);
}

status node_heartbeat::start() {
    if (thread_.joinable()) return status();
    {
        std::lock_guard lk(mu_);
        stopping_ = false;
    }
    auto c = pg::connection::open(opts_.dsn);
    if (!c.ok()) return status::error("heartbeat: " + c.message());
    conn_.emplace(std::move(*c));
    // A heartbeat stuck on a dead server must not outlive the deadline: by then the lease is
    // gone anyway, and a fresh connection is the way back.
    (void)conn_->exec("SET statement_timeout = " + std::to_string(deadline_.count()));
    (void)conn_->exec(
        "SELECT set_config('application_name', left(concat_ws(' ', "
        "nullif(current_setting('application_name'), ''), 'pubsubd-heartbeat'), 63), false)");
    clock::time_point sent;
    if (!beat(false, sent)) {  // the node row's first write (started_at) came before
        conn_.reset();
        return status::error("heartbeat: the first heartbeat failed");
    }
    lease_.renew(sent);
    thread_ = std::thread([this] { run(); });
    return status();
}

void node_heartbeat::stop(clock::time_point) noexcept {
    {
        std::lock_guard lk(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    conn_.reset();
}

bool node_heartbeat::beat(bool first, clock::time_point& sent) {
    if (!conn_ || !conn_->is_ok()) {
        auto c = pg::connection::open(opts_.dsn);
        if (!c.ok()) {
            failures_.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        conn_.emplace(std::move(*c));
        (void)conn_->exec("SET statement_timeout = " + std::to_string(deadline_.count()));
    }
    // Taken before the row is written: other nodes measure the row's age from its write, which
    // comes later, so this lease never outlives what they grant.
    sent = clock::now();
    auto s = heartbeat(*conn_, opts_.schema, node_, opts_.dead_after_s,
                       opts_.info_json ? opts_.info_json() : std::string("{}"), first);
    if (!s.ok()) {
        failures_.fetch_add(1, std::memory_order_relaxed);
        log(log_level::warn, s.message());
        return false;
    }
    return true;
}

void node_heartbeat::renew(clock::time_point sent) {
    // The row was older than the deadline for a while if the previous heartbeat was sent a
    // deadline or more before this one's reply came back.
    auto gap = clock::now() - lease_.renewed();
    if (gap >= deadline_ && !fence_pending_) {
        fence_pending_ = true;
        declared_dead_.fetch_add(1, std::memory_order_relaxed);
    }
    if (fence_pending_) {
        auto window = std::chrono::duration_cast<std::chrono::milliseconds>(gap) + deadline_ +
                      std::chrono::seconds(5);
        auto lost = events_taken_from(*conn_, opts_.schema, node_.node_id, window);
        if (!lost.ok()) {
            log(log_level::error, lost.message() + "; handlers stay paused");
            return;
        }
        log(log_level::warn,
            "this node may have been declared dead (no heartbeat for longer than "
            "--node-dead-after): " +
                std::to_string(lost->size()) +
                " events were taken by other nodes and are dropped here; handlers resume");
        taken_over_.fetch_add(lost->size(), std::memory_order_relaxed);
        if (opts_.on_lost && !lost->empty()) opts_.on_lost(*lost);
        fence_pending_ = false;
    }
    lease_.renew(sent);
}

void node_heartbeat::run() {
    auto next = clock::now() + interval_;
    for (;;) {
        {
            std::unique_lock lk(mu_);
            if (cv_.wait_until(lk, next, [this] { return stopping_; })) return;
        }
        auto now = clock::now();
        next = now + interval_;
        clock::time_point sent;
        bool ok = beat(false, sent);
        if (ok) renew(sent);
        now = clock::now();
        if (!lease_.fresh(now) && !dead_logged_) {
            dead_logged_ = true;
            log(log_level::error,
                "no heartbeat for longer than --node-dead-after: this node may be declared dead "
                "and its events taken by other nodes");
        } else if (ok && dead_logged_) {
            dead_logged_ = false;
            log(log_level::info, "heartbeat renewed");
        }
        // After a failure, try again sooner (a reconnect), but not in a tight loop.
        if (!ok) next = std::min(next, now + std::chrono::milliseconds(100));
    }
}

}  // namespace pubsub
