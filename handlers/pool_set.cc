#include "handlers/pool_set.h"

#include <concurrentqueue/blockingconcurrentqueue.h>

namespace pubsub {

struct pool_set::pool {
    job_type type = job_type::noop;
    std::shared_ptr<job_runner> runner;
    int thread_count = 1;
    // An empty delivery (no group) is the terminate message.
    moodycamel::BlockingConcurrentQueue<delivery> queue;
    std::vector<std::thread> threads;
    std::atomic<bool> past_deadline{false};
    // Counters: relaxed, for reporting only.
    std::atomic<std::uint64_t> started{0}, succeeded{0}, failed{0};
    std::atomic<int> busy{0};
    // Deliveries submitted and not yet finished (or skipped past the deadline): what stop()
    // drains on. The queue's size_approx() cannot serve: it drops as soon as a sleeping worker
    // is handed an item, before that worker has run it. acq_rel: the decrement publishes the
    // delivery's completion to the thread that sees the count reach zero.
    std::atomic<std::int64_t> in_flight{0};

    void run_one(delivery& d) {
        d.group->started();
        started.fetch_add(1, std::memory_order_relaxed);
        busy.fetch_add(1, std::memory_order_relaxed);
        run_outcome out;
        if (runner) {
            out = runner->run(d);
        } else {
            out = {false, "no handler configured for job type " + std::string(to_string(type))};
        }
        busy.fetch_sub(1, std::memory_order_relaxed);
        (out.ok ? succeeded : failed).fetch_add(1, std::memory_order_relaxed);
        d.group->finished(out.ok, out.error);
    }

    void loop() {
        moodycamel::ConsumerToken token(queue);
        for (;;) {
            delivery d;
            queue.wait_dequeue(token, d);
            if (!d.group) return;                                            // terminate message
            if (!past_deadline.load(std::memory_order_acquire)) run_one(d);  // else: resumed later
            in_flight.fetch_sub(1, std::memory_order_acq_rel);
        }
    }
};

pool_set::pool_set() {
    for (int i = 0; i < job_type_count; ++i) {
        pools_[static_cast<std::size_t>(i)] = std::make_unique<pool>();
        pools_[static_cast<std::size_t>(i)]->type = static_cast<job_type>(i);
    }
}

pool_set::~pool_set() { stop(std::chrono::steady_clock::now()); }

void pool_set::configure(job_type type, std::shared_ptr<job_runner> runner, int threads) {
    auto& p = *pools_[static_cast<std::size_t>(type)];
    p.runner = std::move(runner);
    p.thread_count = threads < 1 ? 1 : threads;
}

void pool_set::start() {
    for (auto& p : pools_) {
        if (!p->threads.empty()) continue;
        for (int i = 0; i < p->thread_count; ++i) {
            p->threads.emplace_back([raw = p.get()] { raw->loop(); });
        }
    }
}

void pool_set::stop(std::chrono::steady_clock::time_point deadline) noexcept {
    // Drain: wait until every queue is empty or the deadline passes.
    for (;;) {
        bool idle = true;
        for (auto& p : pools_) {
            if (!p->threads.empty() && p->in_flight.load(std::memory_order_acquire) > 0) {
                idle = false;
            }
        }
        if (idle || std::chrono::steady_clock::now() >= deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    for (auto& p : pools_) {
        if (p->threads.empty()) continue;
        p->past_deadline.store(true, std::memory_order_release);
        for (std::size_t i = 0; i < p->threads.size(); ++i) p->queue.enqueue(delivery{});
    }
    for (auto& p : pools_) {
        for (auto& t : p->threads) t.join();
        p->threads.clear();
    }
}

void pool_set::submit(delivery d) {
    auto& p = *pools_[static_cast<std::size_t>(d.sub->job)];
    p.in_flight.fetch_add(1, std::memory_order_acq_rel);
    p.queue.enqueue(std::move(d));
}

pool_counters pool_set::counters(job_type type) const {
    const auto& p = *pools_[static_cast<std::size_t>(type)];
    return {p.started.load(),      p.succeeded.load(), p.failed.load(),
            p.queue.size_approx(), p.busy.load(),      static_cast<int>(p.threads.size())};
}

}  // namespace pubsub
