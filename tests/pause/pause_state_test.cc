// Pauses in the pools without a database: a paused subscriber's or job type's deliveries are
// held (recorded `held`, not run, their event not finished), released most urgent first, each
// run once; a cancel drops held deliveries; held deliveries leave the queue limit alone; and a
// stress run toggling a pause while threads submit (also under ThreadSanitizer) loses nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "handlers/pool_set.h"
#include "router/pause_state.h"
#include "tests/router/memory_log.h"

namespace pubsub {
namespace {

using test::memory_log;

// Notes the event ids it ran, in order.
class recording_runner final : public job_runner {
  public:
    run_outcome run(const delivery& d) override {
        std::lock_guard lock(mu);
        ran.push_back(d.group->ev()->id);
        return {};
    }
    std::vector<event_id> order() {
        std::lock_guard lock(mu);
        return ran;
    }
    std::mutex mu;
    std::vector<event_id> ran;
};

// The delivery rows recorded, in order.
class row_log final : public delivery_log {
  public:
    void record_delivery(delivery_record r) override {
        std::lock_guard lock(mu);
        rows.push_back(std::move(r));
    }
    std::vector<delivery_status> statuses(event_id id) {
        std::lock_guard lock(mu);
        std::vector<delivery_status> out;
        for (auto& r : rows) {
            if (r.event == id) out.push_back(r.status);
        }
        return out;
    }
    std::mutex mu;
    std::vector<delivery_record> rows;
};

auto far_deadline() { return std::chrono::steady_clock::now() + std::chrono::seconds(30); }

const std::shared_ptr<const subscriber> warehouse =
    std::make_shared<const subscriber>(test::make_sub(7, "t", job_type::custom));
const std::shared_ptr<const subscriber> mailer =
    std::make_shared<const subscriber>(test::make_sub(8, "t", job_type::custom));

delivery one(memory_log& log, row_log* rows, event_id id, int priority,
             const std::shared_ptr<const subscriber>& sub = warehouse) {
    auto g = std::make_shared<delivery_group>(test::make_event(id, priority), 1, 1, log, rows);
    return delivery{g, sub};
}

pause_set paused_subscriber(std::int64_t id) { return {{id}, 0}; }

TEST(pause_state, holds_only_what_is_paused_and_releases_most_urgent_first) {
    memory_log log;
    pause_state ps;
    auto d = one(log, nullptr, 1, 5);
    EXPECT_FALSE(ps.hold(d, [](const delivery&) {}));  // nothing paused
    ps.set(paused_subscriber(7));
    int noted = 0;
    auto on_hold = [&](const delivery&) { ++noted; };
    for (auto [id, prio] : {std::pair{1, 3}, {2, 9}, {3, 5}, {4, 9}}) {
        auto h = one(log, nullptr, id, prio);
        EXPECT_TRUE(ps.hold(h, on_hold));
    }
    auto other = one(log, nullptr, 5, 5, mailer);
    EXPECT_FALSE(ps.hold(other, on_hold));
    EXPECT_EQ(noted, 4);
    EXPECT_EQ(ps.held(), 4u);
    EXPECT_EQ(ps.held(job_type::custom), 4u);
    EXPECT_TRUE(ps.set(pause_set{{7}, job_type_bit(job_type::noop)}).empty());  // still paused
    auto released = ps.set({});
    std::vector<event_id> ids;
    for (auto& r : released) ids.push_back(r.group->ev()->id);
    EXPECT_EQ(ids, (std::vector<event_id>{2, 4, 3, 1}));
    EXPECT_EQ(ps.held(), 0u);
}

TEST(pause_state, held_deliveries_are_charged_to_the_budget_until_they_leave) {
    memory_log log;
    memory_budget budget(1 << 20);
    pause_state ps(&budget);
    ps.set(paused_subscriber(7));
    std::size_t each = 0;
    for (event_id id : {1, 2, 3}) {
        auto h = one(log, nullptr, id, 5);
        each = approx_bytes(*h.group->ev());
        EXPECT_TRUE(ps.hold(h, [](const delivery&) {}));
    }
    EXPECT_EQ(budget.used(), 3 * each);
    EXPECT_EQ(ps.take_event(2).size(), 1u);  // a cancel
    EXPECT_EQ(budget.used(), 2 * each);
    auto again = one(log, nullptr, 4, 5);
    EXPECT_TRUE(ps.hold(again, [](const delivery&) {}));
    EXPECT_EQ(ps.set({}).size(), 3u);  // a resume
    EXPECT_EQ(budget.used(), 0u);
    ps.set(paused_subscriber(7));
    auto last = one(log, nullptr, 5, 5);
    EXPECT_TRUE(ps.hold(last, [](const delivery&) {}));
    EXPECT_EQ(ps.take_all().size(), 1u);  // stopping
    EXPECT_EQ(budget.used(), 0u);
}

TEST(pause_state, a_job_type_pause_holds_every_subscriber_of_it) {
    memory_log log;
    pause_state ps;
    ps.set({{}, job_type_bit(job_type::custom)});
    auto a = one(log, nullptr, 1, 5, warehouse);
    auto b = one(log, nullptr, 2, 5, mailer);
    EXPECT_TRUE(ps.hold(a, [](const delivery&) {}));
    EXPECT_TRUE(ps.hold(b, [](const delivery&) {}));
    EXPECT_EQ(ps.take_event(2).size(), 1u);
    EXPECT_EQ(ps.held(), 1u);
}

TEST(pool_set_pause, held_deliveries_wait_then_run_in_priority_order_each_once) {
    memory_log log;
    row_log rows;
    auto runner = std::make_shared<recording_runner>();
    pool_set_options o;
    o.retry.enabled = false;
    o.queue_limit = 2;  // held deliveries must not fill it
    pool_set pools(o);
    pools.configure(job_type::custom, runner, 1);
    ASSERT_TRUE(pools.start().ok());
    pools.set_pauses(paused_subscriber(7));
    for (auto [id, prio] : {std::pair{1, 3}, {2, 9}, {3, 5}, {4, 9}, {5, 1}}) {
        pools.submit(one(log, &rows, id, prio));
    }
    EXPECT_EQ(pools.held(), 5u);
    EXPECT_EQ(pools.full_job_types(), 0u);
    EXPECT_TRUE(runner->order().empty());
    EXPECT_EQ(rows.statuses(2), (std::vector<delivery_status>{delivery_status::held}));
    pools.set_pauses({});
    ASSERT_TRUE(log.wait_for_finals(5));
    pools.stop(far_deadline());
    EXPECT_EQ(runner->order(), (std::vector<event_id>{2, 4, 3, 1, 5}));
    // Held, pending again when released, completed: the row never keeps saying held.
    EXPECT_EQ(rows.statuses(2),
              (std::vector<delivery_status>{delivery_status::held, delivery_status::pending,
                                            delivery_status::completed}));
}

TEST(pool_set_pause, a_cancel_drops_held_deliveries) {
    memory_log log;
    auto runner = std::make_shared<recording_runner>();
    pool_set pools;
    pools.configure(job_type::custom, runner, 1);
    ASSERT_TRUE(pools.start().ok());
    pools.set_pauses({{}, job_type_bit(job_type::custom)});
    pools.submit(one(log, nullptr, 1, 5));
    pools.cancel(1);
    EXPECT_EQ(pools.held(), 0u);
    pools.set_pauses({});
    pools.stop(far_deadline());
    EXPECT_TRUE(runner->order().empty());
}

// Blocks every run until open() (a gate for "running when the pause arrives"); notes ids.
class gated_runner final : public job_runner {
  public:
    run_outcome run(const delivery& d) override {
        std::unique_lock lock(mu);
        ran.push_back(d.group->ev()->id);
        cv.notify_all();
        cv.wait(lock, [&] { return opened; });
        return {};
    }
    void wait_running(std::size_t n) {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return ran.size() >= n; });
    }
    void open() {
        std::lock_guard lock(mu);
        opened = true;
        cv.notify_all();
    }
    std::vector<event_id> order() {
        std::lock_guard lock(mu);
        return ran;
    }
    std::mutex mu;
    std::condition_variable cv;
    std::vector<event_id> ran;
    bool opened = false;
};

TEST(pool_set_pause, a_running_delivery_finishes_and_queued_ones_are_held) {
    memory_log log;
    auto runner = std::make_shared<gated_runner>();
    pool_set pools;
    pools.configure(job_type::custom, runner, 1);
    ASSERT_TRUE(pools.start().ok());
    pools.submit(one(log, nullptr, 1, 5));
    runner->wait_running(1);
    for (event_id id : {2, 3, 4}) pools.submit(one(log, nullptr, id, id));  // queued
    pools.set_pauses(paused_subscriber(7));
    runner->open();
    ASSERT_TRUE(log.wait_for_finals(1));  // the running one finished
    while (pools.held() < 3) std::this_thread::yield();
    EXPECT_EQ(runner->order(), (std::vector<event_id>{1}));
    EXPECT_EQ(pools.counters(job_type::custom).held, 3u);
    pools.set_pauses({});
    ASSERT_TRUE(log.wait_for_finals(4));
    pools.stop(far_deadline());
    EXPECT_EQ(runner->order(), (std::vector<event_id>{1, 4, 3, 2}));  // most urgent first
}

// Fails its first run, then succeeds; counts runs.
class fails_once_runner final : public job_runner {
  public:
    run_outcome run(const delivery&) override {
        if (runs.fetch_add(1) == 0) return {false, "down"};
        return {};
    }
    std::atomic<int> runs{0};
};

TEST(pool_set_pause, a_retry_that_falls_due_during_a_pause_is_held) {
    memory_log log;
    row_log rows;
    auto runner = std::make_shared<fails_once_runner>();
    pool_set_options o;
    o.retry.base = std::chrono::milliseconds(50);
    o.retry.jitter = 0;
    pool_set pools(o);
    pools.configure(job_type::custom, runner, 1);
    ASSERT_TRUE(pools.start().ok());
    pools.submit(one(log, &rows, 1, 5));
    while (pools.scheduled_retries() == 0) std::this_thread::yield();  // failed once
    pools.set_pauses(paused_subscriber(7));
    while (pools.held() == 0) std::this_thread::yield();  // the retry fell due: held
    EXPECT_EQ(runner->runs.load(), 1);
    {
        std::lock_guard lock(rows.mu);
        EXPECT_EQ(rows.rows.back().status, delivery_status::held);
        EXPECT_EQ(rows.rows.back().attempts, 1);  // the held second attempt has not started
    }
    pools.set_pauses({});
    ASSERT_TRUE(log.wait_for_finals(1));
    pools.stop(far_deadline());
    EXPECT_EQ(runner->runs.load(), 2);
}

// Threads submit while another pauses and resumes the subscriber over and over; at the end,
// resumed, every delivery has run exactly once.
TEST(pool_set_pause, toggling_a_pause_under_load_loses_nothing) {
    constexpr int per_thread = 2000, threads = 3;
    memory_log log;
    auto runner = std::make_shared<recording_runner>();
    pool_set pools;
    pools.configure(job_type::custom, runner, 2);
    ASSERT_TRUE(pools.start().ok());
    std::atomic<bool> done{false};
    std::thread toggler([&] {
        for (bool on = true; !done.load(); on = !on) {
            pools.set_pauses(on ? paused_subscriber(7) : pause_set{});
            std::this_thread::yield();
        }
    });
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                pools.submit(one(log, nullptr, t * per_thread + i + 1, 1 + i % 10));
            }
        });
    }
    for (auto& t : ts) t.join();
    done = true;
    toggler.join();
    pools.set_pauses({});
    ASSERT_TRUE(log.wait_for_finals(per_thread * threads));
    pools.stop(far_deadline());
    auto ran = runner->order();
    std::sort(ran.begin(), ran.end());
    EXPECT_EQ(ran.size(), static_cast<std::size_t>(per_thread * threads));
    EXPECT_EQ(std::adjacent_find(ran.begin(), ran.end()), ran.end());
}

}  // namespace
}  // namespace pubsub
