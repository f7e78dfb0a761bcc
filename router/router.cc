#include "router/router.h"

namespace pubsub {

router::router(router_options opts, transition_log& log, delivery_sink& sink)
    : log_(log), dlog_(opts.deliveries), sink_(sink), queues_(opts.fairness_period) {
    snapshot_ = build_snapshot({});
}

router::~router() { stop(std::chrono::steady_clock::now()); }

void router::start() {
    if (thread_.joinable()) return;
    thread_ = std::thread([this] { run(); });
}

void router::stop(std::chrono::steady_clock::time_point drain_deadline) noexcept {
    if (!thread_.joinable()) return;
    deadline_ = drain_deadline;  // read by the dispatch thread after it sees stopping_
    stopping_.store(true, std::memory_order_release);
    wake_.notify();
    thread_.join();
}

void router::enqueue(event_ptr ev) {
    queues_.push(std::move(ev));
    enqueued_.fetch_add(1, std::memory_order_relaxed);
    wake_.notify();
}

void router::set_subscribers(subscriber_snapshot snap) {
    {
        std::lock_guard lock(snapshot_mu_);
        snapshot_ = std::move(snap);
    }
    snapshot_version_.fetch_add(1, std::memory_order_release);
}

subscriber_snapshot router::subscribers() const {
    std::lock_guard lock(snapshot_mu_);
    return snapshot_;
}

router_counters router::counters() const {
    return {enqueued_.load(std::memory_order_relaxed), dispatched_.load(std::memory_order_relaxed),
            deliveries_.load(std::memory_order_relaxed),
            unmatched_.load(std::memory_order_relaxed)};
}

void router::run() {
    std::vector<std::uint32_t> scratch;
    std::uint64_t seen_version = ~std::uint64_t{0};
    subscriber_snapshot snap;
    for (;;) {
        if (stopping_.load(std::memory_order_acquire) &&
            std::chrono::steady_clock::now() >= deadline_) {
            return;
        }
        event_ptr ev = queues_.pop();
        if (!ev) {
            if (stopping_.load(std::memory_order_acquire)) return;  // drained
            wake_.wait([this] {
                return !queues_.empty_approx() || stopping_.load(std::memory_order_acquire);
            });
            continue;
        }
        auto version = snapshot_version_.load(std::memory_order_acquire);
        if (version != seen_version) {
            snap = subscribers();
            seen_version = version;
        }
        dispatch(ev, *snap, snap, scratch);
    }
}

void router::dispatch(const event_ptr& ev, const subscriber_set& set,
                      const subscriber_snapshot& snap, std::vector<std::uint32_t>& scratch) {
    scratch.clear();
    set.compiled->match(*ev, scratch);
    dispatched_.fetch_add(1, std::memory_order_relaxed);
    if (scratch.empty()) {
        unmatched_.fetch_add(1, std::memory_order_relaxed);
        transition t;
        t.ev = ev;
        t.status = event_status::completed;
        t.seq = seq_final;
        t.at_us = now_us();
        t.retry_count = ev->attempt - 1;
        t.error = "no matching subscriber";
        log_.record(std::move(t));
        return;
    }
    auto group = std::make_shared<delivery_group>(ev, static_cast<int>(scratch.size()), ev->attempt,
                                                  log_, dlog_);
    deliveries_.fetch_add(scratch.size(), std::memory_order_relaxed);
    for (std::uint32_t index : scratch) {
        // Aliasing constructor: the delivery keeps the whole snapshot alive, no copy.
        std::shared_ptr<const subscriber> sub(snap, &set.subscribers[index]);
        sink_.submit(delivery{group, std::move(sub)});
    }
}

}  // namespace pubsub
