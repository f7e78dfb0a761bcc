#include "handlers/pool_set.h"

#include <concurrentqueue/blockingconcurrentqueue.h>

#include <random>

namespace pubsub {

using steady = std::chrono::steady_clock;

namespace {

// A pool's job runner, replaced by set_runner() while running (SIGHUP); each delivery runs on
// the copy it took. A mutex rather than std::atomic<std::shared_ptr>: libstdc++ 12 guards that
// one with a lock bit ThreadSanitizer cannot see, so every swap was reported as a race. The
// uncontended lock costs tens of nanoseconds per delivery. Thread-safe.
class runner_slot {
  public:
    std::shared_ptr<job_runner> get() const {
        std::lock_guard lock(mu_);
        return runner_;
    }
    void set(std::shared_ptr<job_runner> r) {
        {
            std::lock_guard lock(mu_);
            runner_.swap(r);
        }  // the old runner is released outside the lock
    }

  private:
    mutable std::mutex mu_;
    std::shared_ptr<job_runner> runner_;
};

}  // namespace

struct pool_set::pool {
    job_type type = job_type::noop;
    runner_slot runner;
    int thread_count = 1;      // threads wanted; guarded by threads_mu once started
    std::mutex threads_mu;     // guards threads (and thread_count) against set_threads()
    std::atomic<int> live{0};  // threads started and not told to retire, for counters()
    // An empty delivery (no group) is the terminate message.
    moodycamel::BlockingConcurrentQueue<delivery> queue;
    std::vector<std::thread> threads;
    std::atomic<bool> past_deadline{false};
    // In-process runner (see In-process runners in the header): set before start(), then const.
    bool inline_runner = false;
    std::atomic<bool> inline_open{false};  // started and not stopping (release/acquire)
    // Inline attempts under way (raised before the swap, lowered after the run or a failed
    // swap; seq_cst). A count, not a flag: a failed attempt must not hide a running one.
    std::atomic<int> inline_active{0};
    // Counters: relaxed, for reporting only.
    std::atomic<std::uint64_t> started{0}, succeeded{0}, failed{0}, retried{0};
    std::atomic<int> busy{0};
    // Deliveries submitted and not yet finished (or skipped past the deadline, or handed to the
    // retry scheduler): what stop() drains on and what the queue limit bounds. The queue's
    // size_approx() cannot serve: it drops as soon as a sleeping worker is handed an item,
    // before that worker has run it. acq_rel: the decrement publishes the delivery's completion
    // to the thread that sees the count reach zero.
    std::atomic<std::int64_t> in_flight{0};
    std::mutex full_mu;  // serializes changes of this pool's bit in full_ (refresh_full)
};

namespace {

double unit_random() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

pool_set_options test_options() {
    pool_set_options o;
    o.retry.enabled = false;
    o.queue_limit = 0;
    return o;
}

}  // namespace

pool_set::pool_set() : pool_set(test_options()) {}

pool_set::pool_set(pool_set_options opts)
    : opts_(opts),
      scheduler_([this](delivery d) { enqueue(std::move(d)); }),
      pauses_(opts.budget) {
    if (opts_.queue_limit > 0) {
        full_mark_ = static_cast<std::int64_t>(opts_.queue_limit);
        room_mark_ = full_mark_ - full_mark_ / 64;
    }
    for (int i = 0; i < job_type_count; ++i) {
        pools_[static_cast<std::size_t>(i)] = std::make_unique<pool>();
        pools_[static_cast<std::size_t>(i)]->type = static_cast<job_type>(i);
    }
}

pool_set::~pool_set() { stop_now(); }

void pool_set::configure(job_type type, std::shared_ptr<job_runner> runner, int threads) {
    auto& p = *pools_[static_cast<std::size_t>(type)];
    p.inline_runner = runner && runner->runs_inline();
    p.runner.set(std::move(runner));
    p.thread_count = threads < 1 ? 1 : threads;
}

status pool_set::start() {
    for (auto& p : pools_) {
        std::lock_guard lock(p->threads_mu);
        if (!p->threads.empty()) continue;
        for (int i = 0; i < p->thread_count; ++i) {
            p->threads.emplace_back([this, raw = p.get()] { work(*raw); });
        }
        p->live.store(p->thread_count, std::memory_order_relaxed);
        p->inline_open.store(p->inline_runner, std::memory_order_release);
    }
    return scheduler_.start();
}

void pool_set::work(pool& p) {
    moodycamel::ConsumerToken token(p.queue);
    for (;;) {
        delivery d;
        p.queue.wait_dequeue(token, d);
        if (!d.group) return;  // terminate message
        // A retry re-queued during an inline run waits for it: the pool's thread count stays
        // the bound on what runs at once (see In-process runners).
        while (p.inline_runner && p.inline_active.load(std::memory_order_seq_cst) > 0) {
            std::this_thread::yield();
        }
        // Past the deadline the delivery is left open in the table and resumed later.
        // A held delivery leaves the pool's count: it waits in pauses_, not in the queue.
        if (p.past_deadline.load(std::memory_order_acquire) || hold(d) || run_one(p, d)) {
            release(p);
        }
    }
}

bool pool_set::hold_for_lease(pool& p) const {
    while (!lease_->fresh()) {
        if (p.past_deadline.load(std::memory_order_acquire)) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

bool pool_set::run_one(pool& p, delivery& d) {
    // Ownership before every handler start: the fast path is one relaxed load.
    if (lease_ && !lease_->fresh() && !hold_for_lease(p)) return true;  // stopping: resumed later
    if (is_cancelled(d)) {
        d.group->cancel();
        d.group->abandoned(true, {});
        return true;
    }
    d.group->started(d);
    p.started.fetch_add(1, std::memory_order_relaxed);
    p.busy.fetch_add(1, std::memory_order_relaxed);
    auto runner = p.runner.get();
    if (runner && runner->runs_async(d)) {
        // The runner ends it from its own thread (or from this one, when it cannot start it).
        runner->run_async(d, [this, &p, d](run_outcome out) mutable {
            end_run(p, d, std::move(out));
            release(p);
        });
        p.busy.fetch_sub(1, std::memory_order_relaxed);
        return false;
    }
    run_outcome out;
    if (runner) {
        out = runner->run(d);
    } else {
        out = {false, "no handler configured for job type " + std::string(to_string(p.type))};
    }
    p.busy.fetch_sub(1, std::memory_order_relaxed);
    end_run(p, d, std::move(out));
    return true;
}

void pool_set::end_run(pool& p, delivery& d, run_outcome out) {
    if (out.not_run) return;  // stopping: the event stays open and is resumed at the next start
    if (is_cancelled(d)) {    // cancelled while running: the outcome is discarded
        d.group->cancel();
        d.group->abandoned(true, {});
        return;
    }
    after_run(p, d, std::move(out));
}

void pool_set::after_run(pool& p, delivery& d, run_outcome out) {
    if (out.ok) {
        p.succeeded.fetch_add(1, std::memory_order_relaxed);
        d.group->completed(d);
        return;
    }
    p.failed.fetch_add(1, std::memory_order_relaxed);
    if (!retry_left(opts_.retry, d.attempt, d.retry_base, d.sub->max_retries)) {
        d.group->dead(d, out.error);
        return;
    }
    p.retried.fetch_add(1, std::memory_order_relaxed);
    auto delay = retry_delay(opts_.retry, d.attempt - d.retry_base, unit_random());
    d.group->retrying(d, out.error, now_us() + delay.count() * 1000);
    d.attempt += 1;
    d.has_row = true;
    scheduler_.schedule(std::move(d), steady::now() + delay);
}

void pool_set::stop(steady::time_point deadline) noexcept {
    scheduler_.stop_now();  // what it held is persisted (next_attempt_at) and resumed at next start
    // Drain: wait until every queue is empty or the deadline passes.
    for (;;) {
        bool idle = true;
        for (auto& p : pools_) {
            if (!p->threads.empty() && p->in_flight.load(std::memory_order_acquire) > 0) {
                idle = false;
            }
        }
        if (idle || steady::now() >= deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    for (auto& p : pools_) {
        std::lock_guard lock(p->threads_mu);
        if (p->threads.empty()) continue;
        p->inline_open.store(false, std::memory_order_release);
        p->past_deadline.store(true, std::memory_order_release);
        if (auto r = p->runner.get()) r->interrupt();  // a thread waiting for a worker's room
        // One per thread ever started: more than enough when set_threads() retired some.
        for (std::size_t i = 0; i < p->threads.size(); ++i) p->queue.enqueue(delivery{});
    }
    for (auto& p : pools_) {
        std::lock_guard lock(p->threads_mu);
        for (auto& t : p->threads) t.join();
        p->threads.clear();
        p->live.store(0, std::memory_order_relaxed);
    }
    scheduler_.stop_now();  // retries scheduled while draining
    (void)pauses_.take_all();  // their rows say held: resumed, still held, at the next start
}

void pool_set::submit(delivery d) {
    if (d.attempt == 0) d.attempt = d.group->attempt();
    if (d.group->ev()->from_table && resume_count_.load(std::memory_order_relaxed) > 0 &&
        !apply_resume(d)) {
        return;
    }
    if (hold(d)) return;
    if (run_inline(d)) return;
    enqueue(std::move(d));
}

// inline_active is raised before the compare-and-swap and a pool thread reads it after taking a
// delivery, all seq_cst: if that delivery's in_flight increment came after our swap (else the
// swap fails), the thread's read comes after our store and sees the run (or its end).
bool pool_set::run_inline(delivery& d) {
    auto& p = pool_of(d);
    if (!p.inline_runner || !p.inline_open.load(std::memory_order_acquire)) return false;
    if (lease_ && !lease_->fresh()) return false;  // a pool thread holds it (run_one)
    p.inline_active.fetch_add(1, std::memory_order_seq_cst);
    std::int64_t idle = 0;
    if (!p.in_flight.compare_exchange_strong(idle, 1, std::memory_order_seq_cst)) {
        p.inline_active.fetch_sub(1, std::memory_order_seq_cst);
        return false;
    }
    if (full_mark_ == 1) refresh_full(p);  // a limit of one is reached by this run alone
    bool ended = run_one(p, d);            // inline runners are never async: always true
    p.inline_active.fetch_sub(1, std::memory_order_seq_cst);
    if (ended) release(p);
    return true;
}

// The count changes seq_cst (it also publishes a delivery's completion to stop()) and the mask
// is read seq_cst after it, so a change of the bit and a crossing of the other mark cannot miss
// each other: either the bit's writer re-reads the new count or the counter sees the new bit.
void pool_set::enqueue(delivery d) {
    auto& p = pool_of(d);
    auto held = p.in_flight.fetch_add(1, std::memory_order_seq_cst) + 1;
    if (full_mark_ > 0 && held >= full_mark_ &&
        (full_.load(std::memory_order_seq_cst) & job_type_bit(p.type)) == 0) {
        refresh_full(p);
    }
    p.queue.enqueue(std::move(d));
}

void pool_set::release(pool& p) {
    auto held = p.in_flight.fetch_sub(1, std::memory_order_seq_cst) - 1;
    if (held < room_mark_ && (full_.load(std::memory_order_seq_cst) & job_type_bit(p.type)) != 0) {
        refresh_full(p);
    }
}

void pool_set::refresh_full(pool& p) {
    std::lock_guard lock(p.full_mu);
    const std::uint32_t bit = job_type_bit(p.type);
    for (;;) {  // until the bit agrees with the count it last read
        auto held = p.in_flight.load(std::memory_order_seq_cst);
        bool marked = (full_.load(std::memory_order_seq_cst) & bit) != 0;
        if (!marked && held >= full_mark_) {
            full_.fetch_or(bit, std::memory_order_seq_cst);
        } else if (marked && held < room_mark_) {
            full_.fetch_and(~bit, std::memory_order_seq_cst);
        } else {
            return;
        }
    }
}

bool pool_set::hold(delivery& d) {
    return pauses_.hold(d, [](const delivery& h) { h.group->held(h, true); });
}

void pool_set::set_pauses(pause_set p) {
    for (auto& d : pauses_.set(std::move(p))) {
        d.group->held(d, false);
        enqueue(std::move(d));
    }
}

bool pool_set::apply_resume(delivery& d) {
    delivery_record row;
    {
        std::lock_guard lock(tables_mu_);
        auto it = resume_.find({d.group->ev()->id, d.sub->id});
        if (it == resume_.end()) return true;
        row = std::move(it->second.row);
        resume_.erase(it);
        resume_count_.store(resume_.size(), std::memory_order_relaxed);
    }
    d.group->note_version(row.version);
    d.has_row = true;
    d.retry_base = row.retry_base;
    d.attempt = row.attempts + 1;
    switch (row.status) {
        case delivery_status::completed:
            d.group->abandoned(true, {});
            return false;
        case delivery_status::dead:
            d.group->abandoned(false, row.last_error);
            return false;
        case delivery_status::retrying: {
            auto wait_us = row.next_attempt_us - now_us();
            if (wait_us <= 0) return true;
            scheduler_.schedule(std::move(d), steady::now() + std::chrono::microseconds(wait_us));
            return false;
        }
        default:
            return true;  // pending (an operator retry) or a stale cancel: run it
    }
}

void pool_set::add_resume(std::vector<delivery_record> rows) {
    auto now = steady::now();
    std::lock_guard lock(tables_mu_);
    for (auto it = resume_.begin(); it != resume_.end();) {
        it = now - it->second.added > std::chrono::hours(1) ? resume_.erase(it) : std::next(it);
    }
    for (auto& r : rows) {
        delivery_key key{r.event, r.subscriber_id};
        resume_[key] = resume_entry{std::move(r), now};
    }
    resume_count_.store(resume_.size(), std::memory_order_relaxed);
}

void pool_set::cancel(event_id id) {
    {
        auto now = steady::now();
        std::lock_guard lock(tables_mu_);
        // Pruned only at the bound, so a run of cancels costs O(1) each, not a scan; before the
        // insert, so the new mark is never the one pruned.
        if (cancelled_.size() >= max_cancel_marks) {
            for (auto it = cancelled_.begin(); it != cancelled_.end();) {
                bool old = now - it->second > std::chrono::hours(1);
                it = old || cancelled_.size() > max_cancel_marks * 3 / 4 ? cancelled_.erase(it)
                                                                         : std::next(it);
            }
        }
        cancelled_[id] = now;
        cancelled_count_.store(cancelled_.size(), std::memory_order_relaxed);
    }
    auto drop = scheduler_.take_event(id);
    for (auto& d : pauses_.take_event(id)) drop.push_back(std::move(d));
    for (auto& d : drop) {
        d.group->cancel();
        d.group->abandoned(true, {});
    }
}

void pool_set::forget_cancel(event_id id) {
    std::lock_guard lock(tables_mu_);
    cancelled_.erase(id);
    cancelled_count_.store(cancelled_.size(), std::memory_order_relaxed);
}

bool pool_set::is_cancelled(const delivery& d) const {
    if (d.group->cancelled()) return true;
    if (cancelled_count_.load(std::memory_order_relaxed) == 0) return false;
    std::lock_guard lock(tables_mu_);
    return cancelled_.count(d.group->ev()->id) > 0;
}

std::string pool_set::describe_full(std::uint32_t mask) const {
    std::string out;
    for (const auto& p : pools_) {
        if ((mask & job_type_bit(p->type)) == 0) continue;
        if (!out.empty()) out += " and ";
        out += "handler pool " + std::string(to_string(p->type)) + " is full (" +
               std::to_string(p->in_flight.load(std::memory_order_relaxed)) +
               " deliveries queued or running, limit " + std::to_string(opts_.queue_limit) +
               ", --queue-limit)";
    }
    return out;
}

pool_counters pool_set::counters(job_type type) const {
    const auto& p = *pools_[static_cast<std::size_t>(type)];
    return {p.started.load(),
            p.succeeded.load(),
            p.failed.load(),
            p.retried.load(),
            p.queue.size_approx(),
            p.busy.load(),
            p.live.load(std::memory_order_relaxed),
            pauses_.held(type),
            (pauses_.current().job_types & job_type_bit(type)) != 0};
}

void pool_set::set_runner(job_type type, std::shared_ptr<job_runner> runner) {
    pools_[static_cast<std::size_t>(type)]->runner.set(std::move(runner));
}

void pool_set::set_threads(job_type type, int threads) {
    auto& p = *pools_[static_cast<std::size_t>(type)];
    std::lock_guard lock(p.threads_mu);
    threads = threads < 1 ? 1 : threads;
    if (p.threads.empty() || p.past_deadline.load(std::memory_order_acquire)) {
        p.thread_count = threads;  // not started (or stopping): start() uses it
        return;
    }
    for (int i = p.thread_count; i < threads; ++i) {
        p.threads.emplace_back([this, raw = &p] { work(*raw); });
    }
    // A terminate message retires one thread once the deliveries queued before it are taken.
    for (int i = threads; i < p.thread_count; ++i) p.queue.enqueue(delivery{});
    p.thread_count = threads;
    p.live.store(threads, std::memory_order_relaxed);
}

}  // namespace pubsub
