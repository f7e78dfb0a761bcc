#include "router/router.h"

namespace pubsub {
namespace {

std::atomic<std::uint64_t> next_instance{1};

scheduled_options with_budget(scheduled_options o, memory_budget* budget) {
    if (o.budget == nullptr) o.budget = budget;
    return o;
}

}  // namespace

job_type_reach::job_type_reach(const std::vector<subscriber>& subs) {
    for (const auto& s : subs) {
        if (!s.is_active) continue;  // snapshots hold only active ones; be safe with others
        if (s.event_type == "*") {
            any_type_ |= job_type_bit(s.job);
        } else {
            by_type_[s.event_type] |= job_type_bit(s.job);
        }
    }
}

std::uint32_t job_type_reach::of(std::string_view event_type) const {
    auto it = by_type_.find(event_type);
    return any_type_ | (it == by_type_.end() ? 0 : it->second);
}

router::router(router_options opts, transition_log& log, delivery_sink& sink)
    : log_(log),
      dlog_(opts.deliveries),
      sink_(sink),
      pressure_(opts.pressure),
      instance_(next_instance.fetch_add(1, std::memory_order_relaxed)),
      queues_(opts.fairness_period),
      dispatch_on_enqueue_(opts.dispatch_on_enqueue),
      scheduled_([this](event_ptr ev) { enqueue_now(std::move(ev), true); },
                 with_budget(std::move(opts.scheduled), opts.budget)) {
    snapshot_ = build_snapshot({});
    reach_ = std::make_shared<const job_type_reach>();
}

router::~router() { stop_now(); }

status router::start() {
    if (thread_.joinable()) return status();
    thread_ = std::thread([this] { run(); });
    scheduled_.start();
    inline_open_.store(dispatch_on_enqueue_, std::memory_order_release);
    return status();
}

void router::stop(clock::time_point drain_deadline) noexcept {
    if (!thread_.joinable()) return;
    scheduled_.stop();  // what it holds stays `pending` in the table, resumed at the next start
    inline_open_.store(false, std::memory_order_release);
    deadline_ = drain_deadline;  // read by the dispatch thread after it sees stopping_
    stopping_.store(true, std::memory_order_release);
    wake_.notify();
    thread_.join();
}

void router::enqueue(event_ptr ev, bool dispatch_here) {
    if (ev->run_at_us != 0 && ev->run_at_us > now_us()) {
        const bool persisted = ev->from_table;  // else the intake tells (scheduled_persisted)
        scheduled_.add(std::move(ev), persisted);
        return;
    }
    enqueue_now(std::move(ev), dispatch_here);
}

void router::enqueue_now(event_ptr ev, bool dispatch_here) {
    queues_.push(std::move(ev));
    enqueued_.fetch_add(1, std::memory_order_relaxed);
    // Only while the dispatch thread waits for work: when it is busy with a backlog, it will
    // reach this event soon anyway, and the caller (a door's only thread) had better go on
    // reading.
    if (dispatch_here && inline_open_.load(std::memory_order_acquire) &&
        dispatcher_idle_.load(std::memory_order_relaxed)) {
        std::unique_lock lock(dispatch_mu_, std::try_to_lock);
        if (lock.owns_lock()) {
            dispatch_one();
            lock.unlock();
            // Anything still queued (pushed meanwhile by another thread, or our own event when
            // we popped a more urgent one) is left to the dispatch thread, which may be asleep.
            if (queues_.empty_approx()) return;
        }
    }
    wake_.notify();
}

void router::set_subscribers(subscriber_snapshot snap) {
    auto reach = std::make_shared<const job_type_reach>(snap->subscribers);  // outside the lock
    {
        std::lock_guard lock(snapshot_mu_);
        snapshot_ = std::move(snap);
        reach_ = std::move(reach);
    }
    snapshot_version_.fetch_add(1, std::memory_order_release);
}

const job_type_reach& router::current_reach() const {
    // One cached map per thread, re-read under the mutex only when this router published a new
    // snapshot (or the thread last asked another router). The reference stays valid until the
    // thread's next call: the cache owns the map.
    struct cache {
        std::uint64_t instance = 0, version = 0;
        std::shared_ptr<const job_type_reach> reach;
    };
    thread_local cache c;
    auto version = snapshot_version_.load(std::memory_order_acquire);
    if (c.instance != instance_ || c.version != version || !c.reach) {
        std::lock_guard lock(snapshot_mu_);
        c.reach = reach_;
        c.instance = instance_;
        c.version = version;
    }
    return *c.reach;
}

std::uint32_t router::job_types_reached(std::string_view event_type) const {
    return current_reach().of(event_type);
}

status router::admit(std::string_view event_type) const {
    if (pressure_ == nullptr) return {};
    std::uint32_t full = pressure_->full_job_types();
    if (full == 0) return {};  // the common case: one relaxed load
    std::uint32_t blocked = full & job_types_reached(event_type);
    if (blocked == 0) return {};
    bool several = (blocked & (blocked - 1)) != 0;
    return status::error("event refused: " + pressure_->describe_full(blocked) +
                         "; events of type '" + std::string(event_type) + "' are refused until " +
                         (several ? "they drain" : "it drains"));
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
    for (;;) {
        if (stopping_.load(std::memory_order_acquire) &&
            std::chrono::steady_clock::now() >= deadline_) {
            return;
        }
        bool dispatched;
        {
            std::lock_guard lock(dispatch_mu_);
            dispatched = dispatch_one();
        }
        if (!dispatched) {
            if (stopping_.load(std::memory_order_acquire)) return;  // drained
            dispatcher_idle_.store(true, std::memory_order_relaxed);
            wake_.wait([this] {
                return !queues_.empty_approx() || stopping_.load(std::memory_order_acquire);
            });
            dispatcher_idle_.store(false, std::memory_order_relaxed);
        }
    }
}

bool router::dispatch_one() {
    event_ptr ev = queues_.pop();
    if (!ev) return false;
    auto version = snapshot_version_.load(std::memory_order_acquire);
    if (version != seen_version_) {
        dispatch_snap_ = subscribers();
        seen_version_ = version;
    }
    dispatch(ev, *dispatch_snap_, dispatch_snap_, scratch_);
    return true;
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
