// router end to end: in-memory transition_log, deliveries run on sink threads.
#include "router/router.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "tests/router/memory_log.h"

namespace pubsub {
namespace {

using test::make_event;
using test::make_sub;
using test::memory_log;

// Runs each delivery on one of `threads` worker threads: started(), note it, finished(ok).
class thread_sink final : public delivery_sink {
  public:
    explicit thread_sink(int threads) {
        for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { loop(); });
    }
    ~thread_sink() override { stop(); }

    void submit(delivery d) override {
        {
            std::lock_guard lock(mu_);
            queue_.push_back(std::move(d));
        }
        cv_.notify_one();
    }
    void stop() {
        {
            std::lock_guard lock(mu_);
            stopping_ = true;
        }
        cv_.notify_all();
        for (auto& t : workers_) {
            if (t.joinable()) t.join();
        }
    }
    // (event id, subscriber id) -> times delivered.
    std::map<std::pair<event_id, std::int64_t>, int> delivered() const {
        std::lock_guard lock(mu_);
        return delivered_;
    }

  private:
    void loop() {
        for (;;) {
            delivery d;
            {
                std::unique_lock lock(mu_);
                cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
                if (queue_.empty()) return;
                d = std::move(queue_.front());
                queue_.pop_front();
            }
            d.group->started();
            // Read the subscriber: it must still be alive even if the snapshot was swapped.
            bool named = d.sub->name == "sub" + std::to_string(d.sub->id);
            {
                std::lock_guard lock(mu_);
                ++delivered_[{d.group->ev()->id, d.sub->id}];
            }
            d.group->finished(named, named ? "" : "subscriber name garbled");
        }
    }

    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<delivery> queue_;
    bool stopping_ = false;
    std::map<std::pair<event_id, std::int64_t>, int> delivered_;
    std::vector<std::thread> workers_;
};

auto far_deadline() { return std::chrono::steady_clock::now() + std::chrono::seconds(30); }

// Every event has exactly one final transition; returns the finals by event id.
std::map<event_id, test::recorded> finals_once(const memory_log& log) {
    std::map<event_id, test::recorded> out;
    for (auto& [id, rs] : log.by_event()) {
        int n = 0;
        for (auto& r : rs) {
            if (test::is_final(r.status)) {
                ++n;
                out[id] = r;
            }
        }
        EXPECT_EQ(n, 1) << "event " << id << " has " << n << " final transitions";
    }
    return out;
}

// Run with both dispatch paths: enqueue() dispatching on the producers' threads when the lock
// is free (the default), and the dispatch thread alone.
void run_exactly_once(bool dispatch_on_enqueue) {
    constexpr int producers = 3, per_producer = 1000, n = producers * per_producer;
    memory_log log;
    thread_sink sink(4);
    router_options ro;
    ro.dispatch_on_enqueue = dispatch_on_enqueue;
    router r(ro, log, sink);
    r.set_subscribers(build_snapshot({make_sub(1, "a"), make_sub(2, "a"), make_sub(3, "a"),
                                      make_sub(4, "*"), make_sub(5, "other")}));
    ASSERT_TRUE(r.start().ok());
    std::vector<std::thread> ts;
    for (int p = 0; p < producers; ++p) {
        ts.emplace_back([&, p] {
            for (int i = 0; i < per_producer; ++i) {
                r.enqueue(make_event(p * per_producer + i + 1, 1 + i % 10, "a"));
            }
        });
    }
    for (auto& t : ts) t.join();
    ASSERT_TRUE(log.wait_for_finals(n)) << "not every event finished";
    r.stop(far_deadline());
    sink.stop();

    auto finals = finals_once(log);
    ASSERT_EQ(finals.size(), static_cast<std::size_t>(n));
    for (auto& [id, fin] : finals) {
        EXPECT_EQ(fin.status, event_status::completed) << id;
        EXPECT_EQ(fin.error, "") << id;
    }
    for (auto& [id, rs] : log.by_event()) {
        int processing = 0;
        for (auto& r2 : rs) processing += r2.status == event_status::processing ? 1 : 0;
        EXPECT_EQ(processing, 1) << "event " << id;
    }
    auto delivered = sink.delivered();
    EXPECT_EQ(delivered.size(), static_cast<std::size_t>(n) * 4);
    for (auto& [key, times] : delivered) {
        EXPECT_EQ(times, 1) << "event " << key.first << " subscriber " << key.second;
        EXPECT_TRUE(key.second >= 1 && key.second <= 4) << "subscriber " << key.second;
    }
    auto c = r.counters();
    EXPECT_EQ(c.enqueued, static_cast<std::uint64_t>(n));
    EXPECT_EQ(c.dispatched, static_cast<std::uint64_t>(n));
    EXPECT_EQ(c.deliveries, static_cast<std::uint64_t>(n) * 4);
    EXPECT_EQ(c.unmatched, 0u);
    EXPECT_EQ(r.depth(), 0u);
}

TEST(router, n_events_m_subscribers_complete_exactly_once) { run_exactly_once(true); }
TEST(router, n_events_complete_exactly_once_with_the_dispatch_thread_alone) {
    run_exactly_once(false);
}

TEST(router, unmatched_events_complete_with_no_matching_subscriber) {
    memory_log log;
    thread_sink sink(2);
    router r({}, log, sink);
    r.set_subscribers(build_snapshot({make_sub(1, "a")}));
    ASSERT_TRUE(r.start().ok());
    constexpr int n = 500;
    for (int i = 1; i <= n; ++i) {
        auto ev = std::make_shared<event>(*make_event(i, 5, "b"));
        ev->attempt = 3;
        r.enqueue(std::move(ev));
    }
    ASSERT_TRUE(log.wait_for_finals(n));
    r.stop(far_deadline());
    auto finals = finals_once(log);
    ASSERT_EQ(finals.size(), static_cast<std::size_t>(n));
    for (auto& [id, fin] : finals) {
        EXPECT_EQ(fin.status, event_status::completed);
        EXPECT_EQ(fin.error, "no matching subscriber");
        EXPECT_EQ(fin.retry_count, 2);
    }
    EXPECT_EQ(log.all().size(), static_cast<std::size_t>(n)) << "no processing for unmatched";
    EXPECT_TRUE(sink.delivered().empty());
    EXPECT_EQ(r.counters().unmatched, static_cast<std::uint64_t>(n));
}

TEST(router, empty_initial_snapshot_matches_nothing) {
    memory_log log;
    thread_sink sink(1);
    router r({}, log, sink);
    ASSERT_NE(r.subscribers(), nullptr);
    EXPECT_TRUE(r.subscribers()->subscribers.empty());
    ASSERT_TRUE(r.start().ok());
    r.enqueue(make_event(1, 5, "a"));
    ASSERT_TRUE(log.wait_for_finals(1));
    EXPECT_EQ(log.all().back().error, "no matching subscriber");
}

// The snapshot alternates between {1, 2} and {3} while events flow: each event reaches exactly
// one of those sets, completes once, and its subscribers stay alive after the swap.
TEST(router, set_subscribers_swapped_while_routing) {
    constexpr int n = 4000;
    memory_log log;
    thread_sink sink(4);
    router r({}, log, sink);
    auto snap_a = build_snapshot({make_sub(1, "a"), make_sub(2, "a")});
    r.set_subscribers(snap_a);
    ASSERT_TRUE(r.start().ok());
    std::atomic<bool> done{false};
    std::thread swapper([&] {
        bool flip = false;
        while (!done.load()) {
            // Fresh snapshots each time, so old ones really die while deliveries use them.
            r.set_subscribers(flip ? build_snapshot({make_sub(1, "a"), make_sub(2, "a")})
                                   : build_snapshot({make_sub(3, "a"), make_sub(9, "b")}));
            flip = !flip;
            std::this_thread::yield();
        }
    });
    snap_a.reset();
    for (int i = 1; i <= n; ++i) r.enqueue(make_event(i, 1 + i % 10, "a"));
    bool finished = log.wait_for_finals(n);
    done = true;
    swapper.join();
    ASSERT_TRUE(finished);
    r.stop(far_deadline());
    sink.stop();

    auto finals = finals_once(log);
    ASSERT_EQ(finals.size(), static_cast<std::size_t>(n));
    for (auto& [id, fin] : finals) {
        EXPECT_EQ(fin.status, event_status::completed) << id << ": " << fin.error;
    }
    std::map<event_id, std::set<std::int64_t>> subs_of;
    for (auto& [key, times] : sink.delivered()) {
        EXPECT_EQ(times, 1);
        subs_of[key.first].insert(key.second);
    }
    ASSERT_EQ(subs_of.size(), static_cast<std::size_t>(n));
    for (auto& [id, subs] : subs_of) {
        bool a = subs == std::set<std::int64_t>{1, 2};
        bool b = subs == std::set<std::int64_t>{3};
        EXPECT_TRUE(a || b) << "event " << id << " reached a mix of two snapshots";
    }
}

TEST(router, stop_dispatches_what_is_queued_before_the_deadline) {
    constexpr int n = 2000;
    memory_log log;
    thread_sink sink(2);
    router r({}, log, sink);
    r.set_subscribers(build_snapshot({make_sub(1, "*")}));
    for (int i = 1; i <= n; ++i) r.enqueue(make_event(i, 1 + i % 10));
    EXPECT_EQ(r.depth(), static_cast<std::size_t>(n));
    ASSERT_TRUE(r.start().ok());
    r.stop(far_deadline());
    EXPECT_EQ(r.counters().dispatched, static_cast<std::uint64_t>(n));
    EXPECT_EQ(r.depth(), 0u);
    ASSERT_TRUE(log.wait_for_finals(n));
    r.stop(far_deadline());  // idempotent
}

TEST(router, never_started_router_keeps_events_queued) {
    memory_log log;
    thread_sink sink(1);
    {
        router r({}, log, sink);
        r.enqueue(make_event(1, 4));
        r.enqueue(make_event(2, 4));
        EXPECT_EQ(r.depth(4), 2u);
        r.stop(far_deadline());  // no thread: nothing to do
        EXPECT_EQ(r.counters().enqueued, 2u);
        EXPECT_EQ(r.counters().dispatched, 0u);
    }
    EXPECT_TRUE(log.all().empty());
}

}  // namespace
}  // namespace pubsub
