// scheduled_events: due order, cancel, the memory budget, and adds from many threads while
// the timer thread releases (also under ThreadSanitizer). With a scheduled_rows port
// (scheduled_compact): committed far-off events are held without their body, read back in
// batches shortly before they are due, dropped when their row is no longer this node's, kept
// (and retried, not spun on) while the rows cannot be read; the bound on held events names its
// setting.
#include "router/scheduled_events.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace pubsub {
namespace {

using namespace std::chrono_literals;

event_ptr at(event_id id, std::int64_t due_us) {
    auto ev = std::make_shared<event>();
    ev->id = id;
    ev->run_at_us = due_us;
    ev->data_json = std::string(200, 'x');
    return ev;
}

struct collector {
    std::mutex mu;
    std::vector<std::pair<event_id, std::int64_t>> got;  // id, lateness us
    void operator()(event_ptr ev) {
        std::lock_guard lock(mu);
        got.emplace_back(ev->id, now_us() - ev->run_at_us);
    }
    std::size_t size() {
        std::lock_guard lock(mu);
        return got.size();
    }
};

bool wait_for(const std::function<bool()>& f, std::chrono::milliseconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (!f()) {
        if (std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

TEST(scheduled_events, releases_in_due_order_never_early) {
    collector c;
    scheduled_events s([&](event_ptr ev) { c(std::move(ev)); }, {});
    s.start();
    const std::int64_t now = now_us();
    s.add(at(3, now + 60'000), false);
    s.add(at(1, now + 20'000), false);
    s.add(at(2, now + 40'000), false);
    s.add(at(0, now - 1'000'000), false);  // in the past: at once
    EXPECT_TRUE(wait_for([&] { return c.size() == 4; }, 2000ms));
    s.stop();
    ASSERT_EQ(c.got.size(), 4u);
    for (std::size_t i = 0; i < 4; ++i) {
        EXPECT_EQ(c.got[i].first, static_cast<event_id>(i));
        if (i > 0) {
            EXPECT_GE(c.got[i].second, 0) << "released before its time";
        }
    }
    EXPECT_EQ(s.size(), 0u);
}

TEST(scheduled_events, cancel_drops_and_releases_the_budget) {
    memory_budget budget(1 << 20);
    collector c;
    scheduled_events s([&](event_ptr ev) { c(std::move(ev)); }, {.budget = &budget});
    s.start();
    const std::int64_t now = now_us();
    s.add(at(1, now + 30'000), false);
    s.add(at(2, now + 3'600'000'000), false);
    EXPECT_GT(budget.used(), 0u);
    EXPECT_TRUE(s.cancel(1));
    EXPECT_FALSE(s.cancel(1));
    EXPECT_EQ(s.size(), 1u);
    std::this_thread::sleep_for(80ms);
    EXPECT_EQ(c.size(), 0u);
    s.stop();
    EXPECT_EQ(s.size(), 1u);  // held, not released, at stop
}

TEST(scheduled_events, adds_from_threads_while_releasing) {
    collector c;
    memory_budget budget(std::size_t{1} << 30);
    scheduled_events s([&](event_ptr ev) { c(std::move(ev)); }, {.budget = &budget});
    s.start();
    constexpr int threads = 4, each = 5000;
    std::vector<std::thread> ts;
    const std::int64_t base = now_us();
    for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&, t] {
            for (int i = 0; i < each; ++i) {
                s.add(at(t * each + i, base + (i % 200) * 1000), false);
                if (i % 1000 == 0) (void)s.cancel(-1);
            }
        });
    }
    for (auto& t : ts) t.join();
    EXPECT_TRUE(wait_for([&] { return c.size() == threads * each; }, 5000ms)) << c.size();
    s.stop();
    EXPECT_EQ(budget.used(), 0u);
}

// The table, in memory: the rows this node owns and that are pending.
struct fake_rows : scheduled_rows {
    std::mutex mu;
    std::map<event_id, event_ptr> table;
    std::vector<std::size_t> batch_sizes;
    int fail_next = 0;
    std::thread::id caller;
    result<std::vector<event_ptr>> load(std::span<const event_id> ids) override {
        std::lock_guard lock(mu);
        caller = std::this_thread::get_id();
        if (fail_next > 0) {
            --fail_next;
            batch_sizes.push_back(0);
            return status::error("connection refused");
        }
        batch_sizes.push_back(ids.size());
        std::vector<event_ptr> out;
        for (event_id id : ids) {
            if (auto it = table.find(id); it != table.end()) out.push_back(it->second);
        }
        return out;
    }
    void store(const event_ptr& ev) {
        std::lock_guard lock(mu);
        table[ev->id] = ev;
    }
    std::size_t calls() {
        std::lock_guard lock(mu);
        return batch_sizes.size();
    }
};

struct released {
    std::mutex mu;
    std::multiset<event_id> ids;
    std::int64_t earliest_lateness = INT64_MAX;
    std::thread::id thread;
    void operator()(event_ptr ev) {
        std::lock_guard lock(mu);
        ids.insert(ev->id);
        earliest_lateness = std::min(earliest_lateness, now_us() - ev->run_at_us);
        thread = std::this_thread::get_id();
    }
    std::size_t size() {
        std::lock_guard lock(mu);
        return ids.size();
    }
};

scheduled_options compact_options(fake_rows& rows, memory_budget& budget) {
    scheduled_options o;
    o.rows = &rows;
    o.budget = &budget;
    o.horizon_us = 300'000;
    o.lead_us = 200'000;
    o.retry_min_us = 20'000;
    o.retry_max_us = 80'000;
    return o;
}

// What every test of the scheduler with a scheduled_rows port uses.
struct compact {
    fake_rows rows;
    memory_budget budget{1 << 30};
    released r;
    scheduled_options options() { return compact_options(rows, budget); }
};

TEST(scheduled_compact, far_committed_events_hold_no_body_and_load_in_batches) {
    compact c;
    auto& [rows, budget, r] = c;
    scheduled_events s([&](event_ptr ev) { r(std::move(ev)); }, c.options());
    s.start();
    const std::int64_t due = now_us() + 900'000;
    constexpr int n = 3000;
    for (int i = 1; i <= n; ++i) {
        auto ev = at(i, due + (i % 50) * 1000);
        rows.store(ev);
        s.add(ev, true);
    }
    EXPECT_EQ(budget.used(), 0u) << "far committed events are held without their body";
    EXPECT_EQ(s.stats().bodies, 0u);
    EXPECT_EQ(s.size(), static_cast<std::size_t>(n));
    ASSERT_TRUE(wait_for([&] { return r.size() == n; }, 5000ms)) << r.size();
    s.stop();
    EXPECT_GE(r.earliest_lateness, 0) << "released before its time";
    EXPECT_LE(rows.calls(), 4u) << "one query per batch of ids, not one per event";
    EXPECT_NE(rows.caller, r.thread) << "rows are read off the releasing thread";
    EXPECT_EQ(std::set<event_id>(r.ids.begin(), r.ids.end()).size(), r.ids.size());
    EXPECT_EQ(budget.used(), 0u);
    EXPECT_EQ(s.size(), 0u);
}

TEST(scheduled_compact, the_commit_drops_the_body_whichever_comes_first) {
    compact c;
    auto& [rows, budget, r] = c;
    scheduled_events s([&](event_ptr ev) { r(std::move(ev)); }, c.options());
    s.start();
    const std::int64_t due = now_us() + 700'000;
    auto a = at(1, due), b = at(2, due);
    rows.store(a);
    rows.store(b);
    s.add(a, false);  // the write-behind has not committed it yet: the body is kept
    EXPECT_GT(budget.used(), 0u);
    s.persisted(1, due);
    EXPECT_EQ(budget.used(), 0u);
    s.persisted(2, due);  // the commit came before the router's add
    s.add(b, false);
    EXPECT_EQ(budget.used(), 0u);
    EXPECT_EQ(s.size(), 2u);
    ASSERT_TRUE(wait_for([&] { return r.size() == 2; }, 3000ms));
    std::this_thread::sleep_for(100ms);
    s.stop();
    EXPECT_EQ(r.ids, (std::multiset<event_id>{1, 2}));
}

TEST(scheduled_compact, rows_no_longer_ours_and_cancels_are_dropped) {
    compact c;
    auto& [rows, budget, r] = c;
    scheduled_events s([&](event_ptr ev) { r(std::move(ev)); }, c.options());
    s.start();
    const std::int64_t due = now_us() + 600'000;
    auto mine = at(1, due), taken = at(2, due), cancelled = at(3, due);
    rows.store(mine);
    rows.store(cancelled);  // `taken` is not in the table: another node has it
    s.add(mine, true);
    s.add(taken, true);
    s.add(cancelled, true);
    s.add(mine, true);  // resumed and claimed: still one
    EXPECT_EQ(s.size(), 3u);
    EXPECT_TRUE(s.cancel(3));
    EXPECT_FALSE(s.cancel(3));
    ASSERT_TRUE(wait_for([&] { return r.size() == 1; }, 3000ms));
    ASSERT_TRUE(wait_for([&] { return s.size() == 0; }, 1000ms));
    std::this_thread::sleep_for(100ms);
    s.stop();
    EXPECT_EQ(r.ids, (std::multiset<event_id>{1}));
    EXPECT_EQ(s.stats().gone, 1u);
}

TEST(scheduled_compact, failed_loads_keep_the_events_and_back_off) {
    compact c;
    c.rows.fail_next = 4;  // the database is down when they come due
    auto& [rows, budget, r] = c;
    scheduled_events s([&](event_ptr ev) { r(std::move(ev)); }, c.options());
    s.start();
    const std::int64_t due = now_us() + 400'000;
    for (int i = 1; i <= 100; ++i) {
        auto ev = at(i, due);
        rows.store(ev);
        s.add(ev, true);
    }
    ASSERT_TRUE(wait_for([&] { return r.size() == 100; }, 5000ms)) << r.size();
    s.stop();
    EXPECT_EQ(s.stats().load_failures, 4u);
    EXPECT_LE(rows.calls(), 6u) << "retries pause between tries";
    EXPECT_EQ(std::set<event_id>(r.ids.begin(), r.ids.end()).size(), 100u);
}

TEST(scheduled_compact, new_events_are_refused_at_the_bound_naming_it) {
    compact c;
    auto o = c.options();
    o.max_events = 2;
    scheduled_events s([](event_ptr) {}, o);
    const std::int64_t due = now_us() + 3'600'000'000;
    s.add(at(1, due), true);
    EXPECT_TRUE(s.admit().ok());
    s.add(at(2, due), true);
    status refused = s.admit();
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.message().find("--max-scheduled-events"), std::string::npos)
        << refused.message();
    EXPECT_TRUE(s.cancel(1));
    EXPECT_TRUE(s.admit().ok());
}

}  // namespace
}  // namespace pubsub
