// pool_set: deliveries run on the pool of their job type; failing and missing runners fail the
// event with their error; stop() drains what is queued.
#include "handlers/pool_set.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/router/memory_log.h"

namespace pubsub {
namespace {

using test::memory_log;

class failing_runner final : public job_runner {
  public:
    run_outcome run(const delivery& d) override {
        ++runs;
        return {false, "boom on event " + std::to_string(d.group->ev()->id)};
    }
    std::atomic<int> runs{0};
};

class counting_runner final : public job_runner {
  public:
    run_outcome run(const delivery&) override {
        ++runs;
        return {};
    }
    std::atomic<int> runs{0};
};

auto far_deadline() { return std::chrono::steady_clock::now() + std::chrono::seconds(30); }

std::shared_ptr<const subscriber> sub_of(job_type job, std::int64_t id = 1) {
    return std::make_shared<const subscriber>(test::make_sub(id, "t", job));
}

delivery one(memory_log& log, event_id id, job_type job, int deliveries = 1) {
    auto g = std::make_shared<delivery_group>(test::make_event(id, 5), deliveries, 1, log);
    return delivery{g, sub_of(job)};
}

TEST(pool_set, noop_runner_completes_every_delivery) {
    constexpr int n = 3000;
    memory_log log;
    pool_set pools;
    pools.configure(job_type::noop, std::make_shared<noop_runner>(), 3);
    ASSERT_TRUE(pools.start().ok());
    std::vector<std::thread> ts;
    for (int t = 0; t < 2; ++t) {
        ts.emplace_back([&, t] {
            for (int i = 0; i < n / 2; ++i) {
                pools.submit(one(log, t * n + i + 1, job_type::noop));
            }
        });
    }
    for (auto& t : ts) t.join();
    ASSERT_TRUE(log.wait_for_finals(n));
    pools.stop(far_deadline());
    auto c = pools.counters(job_type::noop);
    EXPECT_EQ(c.started, static_cast<std::uint64_t>(n));
    EXPECT_EQ(c.succeeded, static_cast<std::uint64_t>(n));
    EXPECT_EQ(c.failed, 0u);
    EXPECT_EQ(c.busy, 0);
    EXPECT_EQ(c.queued, 0u);
    for (auto& [id, rs] : log.by_event()) {
        ASSERT_EQ(rs.size(), 2u) << id;
        EXPECT_EQ(rs[0].status, event_status::processing);
        EXPECT_EQ(rs[1].status, event_status::completed);
    }
}

// An in-process runner that notes the threads it ran on; it can be held to keep the pool busy.
class inline_runner final : public job_runner {
  public:
    run_outcome run(const delivery&) override {
        {
            std::lock_guard lock(mu);
            threads.push_back(std::this_thread::get_id());
        }
        ++running;
        max_running = std::max(max_running.load(), running.load());
        while (hold.load()) std::this_thread::yield();
        --running;
        return {};
    }
    bool runs_inline() const override { return true; }
    std::mutex mu;
    std::vector<std::thread::id> threads;  // guarded by mu
    std::atomic<bool> hold{false};
    std::atomic<int> running{0}, max_running{0};
};

// A noop pool of one thread around an inline_runner, not started.
struct inline_pool {
    inline_pool() { pools.configure(job_type::noop, runner, 1); }
    memory_log log;
    pool_set pools;
    std::shared_ptr<inline_runner> runner = std::make_shared<inline_runner>();
};

TEST(pool_set, in_process_runner_runs_on_the_submitting_thread_when_its_pool_is_idle) {
    inline_pool f;
    auto& [log, pools, runner] = f;
    ASSERT_TRUE(pools.start().ok());
    pools.submit(one(log, 1, job_type::noop));
    // Ran inline: finished before submit() returned, on this thread.
    EXPECT_EQ(pools.counters(job_type::noop).succeeded, 1u);
    {
        std::lock_guard lock(runner->mu);
        ASSERT_EQ(runner->threads.size(), 1u);
        EXPECT_EQ(runner->threads[0], std::this_thread::get_id());
    }
    // While a delivery runs (held on another thread), the next one is queued, not run inline:
    // the pool's single thread takes it after the first, never two at once.
    runner->hold = true;
    std::thread other([&] { pools.submit(one(log, 2, job_type::noop)); });
    while (runner->running.load() == 0) std::this_thread::yield();
    pools.submit(one(log, 3, job_type::noop));
    EXPECT_EQ(pools.counters(job_type::noop).succeeded, 1u);  // 2 is held, 3 is queued
    runner->hold = false;
    other.join();
    ASSERT_TRUE(log.wait_for_finals(3));
    pools.stop(far_deadline());
    EXPECT_EQ(runner->max_running.load(), 1);
    std::lock_guard lock(runner->mu);
    ASSERT_EQ(runner->threads.size(), 3u);
    EXPECT_NE(runner->threads[2], std::this_thread::get_id());  // 3 ran on the pool thread
}

TEST(pool_set, in_process_runner_before_start_stays_queued) {
    inline_pool f;
    auto& [log, pools, runner] = f;
    pools.submit(one(log, 1, job_type::noop));
    EXPECT_EQ(pools.counters(job_type::noop).started, 0u);
    ASSERT_TRUE(pools.start().ok());
    ASSERT_TRUE(log.wait_for_finals(1));
    pools.stop(far_deadline());
}

TEST(pool_set, failing_runner_fails_the_event_with_its_error) {
    memory_log log;
    pool_set pools;
    auto failing = std::make_shared<failing_runner>();
    pools.configure(job_type::report, failing, 2);
    ASSERT_TRUE(pools.start().ok());
    for (int i = 1; i <= 100; ++i) pools.submit(one(log, i, job_type::report));
    ASSERT_TRUE(log.wait_for_finals(100));
    pools.stop(far_deadline());
    EXPECT_EQ(failing->runs, 100);
    EXPECT_EQ(pools.counters(job_type::report).failed, 100u);
    for (auto& [id, rs] : log.by_event()) {
        ASSERT_EQ(rs.back().status, event_status::failed);
        EXPECT_EQ(rs.back().error, "boom on event " + std::to_string(id));
    }
}

TEST(pool_set, job_type_without_runner_fails_clearly) {
    memory_log log;
    pool_set pools;
    ASSERT_TRUE(pools.start().ok());
    pools.submit(one(log, 1, job_type::inbox_processor));
    ASSERT_TRUE(log.wait_for_finals(1));
    pools.stop(far_deadline());
    auto fin = log.all().back();
    EXPECT_EQ(fin.status, event_status::failed);
    EXPECT_EQ(fin.error, "no handler configured for job type inbox_processor");
}

// One event with deliveries on two pools: it fails when one of them fails, once.
TEST(pool_set, group_across_pools_fails_if_one_fails) {
    memory_log log;
    pool_set pools;
    auto ok = std::make_shared<counting_runner>();
    pools.configure(job_type::noop, ok, 2);
    pools.configure(job_type::custom, std::make_shared<failing_runner>(), 2);
    ASSERT_TRUE(pools.start().ok());
    constexpr int n = 200;
    for (int i = 1; i <= n; ++i) {
        auto g = std::make_shared<delivery_group>(test::make_event(i, 5), 2, 1, log);
        pools.submit(delivery{g, sub_of(job_type::noop)});
        pools.submit(delivery{g, sub_of(job_type::custom, 2)});
    }
    ASSERT_TRUE(log.wait_for_finals(n));
    pools.stop(far_deadline());
    EXPECT_EQ(ok->runs, n);
    for (auto& [id, rs] : log.by_event()) {
        int finals = 0, processing = 0;
        for (auto& r : rs) {
            finals += test::is_final(r.status) ? 1 : 0;
            processing += r.status == event_status::processing ? 1 : 0;
        }
        EXPECT_EQ(finals, 1) << id;
        EXPECT_EQ(processing, 1) << id;
        EXPECT_EQ(rs.back().status, event_status::failed);
        EXPECT_EQ(rs.back().error, "boom on event " + std::to_string(id));
    }
}

TEST(pool_set, stop_runs_what_was_queued_before_the_deadline) {
    constexpr int n = 500;
    memory_log log;
    pool_set pools;
    auto runner = std::make_shared<counting_runner>();
    pools.configure(job_type::noop, runner, 2);
    for (int i = 1; i <= n; ++i) pools.submit(one(log, i, job_type::noop));  // before start
    ASSERT_TRUE(pools.start().ok());
    pools.stop(far_deadline());
    EXPECT_EQ(runner->runs, n);
    EXPECT_TRUE(log.wait_for_finals(n));
    pools.stop(far_deadline());  // idempotent
    EXPECT_EQ(pools.counters(job_type::noop).threads, 0);
}

}  // namespace
}  // namespace pubsub

namespace pubsub {
namespace {

// BUG (handlers/pool_set.cc, pool_set::stop): the drain loop treats a pool as idle when
// queue.size_approx() == 0 and busy == 0. For a BlockingConcurrentQueue, size_approx() is the
// semaphore count, which is already 0 when a delivery has been handed to a sleeping worker that
// has not yet woken up (and busy is only raised after started()). stop() then sets
// past_deadline at once and the worker, when it wakes, skips the delivery: with a deadline far
// in the future, a delivery submitted just before stop() is never run. Expected to fail until
// fixed (e.g. count in-flight deliveries from submit() until finished(), and drain on that).
TEST(pool_set, stop_runs_a_delivery_submitted_to_an_idle_pool) {
    constexpr int rounds = 50;
    int skipped = 0;
    for (int round = 0; round < rounds; ++round) {
        memory_log log;
        pool_set pools;
        auto runner = std::make_shared<counting_runner>();
        pools.configure(job_type::noop, runner, 1);
        ASSERT_TRUE(pools.start().ok());
        // Let the worker go to sleep on its empty queue (provokes the state; not asserted).
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        pools.submit(one(log, round + 1, job_type::noop));
        pools.stop(far_deadline());
        if (runner->runs != 1) ++skipped;
    }
    EXPECT_EQ(skipped, 0) << skipped << " of " << rounds
                          << " deliveries were dropped by stop() before the deadline";
}

}  // namespace
}  // namespace pubsub

namespace pubsub {
namespace {

// A runner that counts the deliveries running at once on it and the most it saw.
class concurrency_runner final : public job_runner {
  public:
    run_outcome run(const delivery&) override {
        int now = ++running;
        for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        --running;
        ++runs;
        return {};
    }
    std::atomic<int> running{0}, most{0}, runs{0};
};

// SIGHUP reload: runners are swapped and pools resized while deliveries are submitted; every
// delivery runs once, on the runner current when it started, and the thread count bounds what
// runs at once after a shrink has taken effect.
TEST(pool_set, runner_and_threads_change_while_running) {
    memory_log log;
    pool_set pools;
    auto first = std::make_shared<counting_runner>();
    auto second = std::make_shared<concurrency_runner>();
    pools.configure(job_type::custom, first, 2);
    ASSERT_TRUE(pools.start().ok());
    std::thread producer([&] {
        for (int i = 1; i <= 400; ++i) {
            pools.submit(one(log, i, job_type::custom));
            if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    });
    pools.set_threads(job_type::custom, 6);
    pools.set_runner(job_type::custom, second);
    pools.set_threads(job_type::custom, 1);
    producer.join();
    ASSERT_TRUE(log.wait_for_finals(400));
    EXPECT_EQ(first->runs.load() + second->runs.load(), 400);
    EXPECT_EQ(pools.counters(job_type::custom).threads, 1);

    // After the shrink (idle threads take its terminate messages at once), one at a time.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    second->most = 0;
    for (int i = 401; i <= 440; ++i) pools.submit(one(log, i, job_type::custom));
    ASSERT_TRUE(log.wait_for_finals(440));
    EXPECT_EQ(second->most.load(), 1);
    pools.stop(far_deadline());
    EXPECT_EQ(pools.counters(job_type::custom).threads, 0);
}

}  // namespace
}  // namespace pubsub
