// priority_queues: urgent first, FIFO per producer, and the anti-starvation policy of its header.
#include "router/priority_queues.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include "tests/router/memory_log.h"

namespace pubsub {
namespace {

using test::make_event;

TEST(priority_queues, empty_pops_null) {
    priority_queues q;
    EXPECT_TRUE(q.empty_approx());
    for (int i = 0; i < 40; ++i) EXPECT_EQ(q.pop(), nullptr);
}

TEST(priority_queues, sizes_per_priority) {
    priority_queues q;
    q.push(make_event(1, 3));
    q.push(make_event(2, 3));
    q.push(make_event(3, 10));
    EXPECT_EQ(q.size_approx(3), 2u);
    EXPECT_EQ(q.size_approx(10), 1u);
    EXPECT_EQ(q.size_approx(1), 0u);
    EXPECT_EQ(q.total_approx(), 3u);
    EXPECT_FALSE(q.empty_approx());
    for (int i = 0; i < 3; ++i) EXPECT_NE(q.pop(), nullptr);
    EXPECT_TRUE(q.empty_approx());
}

// Regression: the first pop() of a new priority_queues used to be a "fair turn" serving the
// LEAST urgent queue (pops_until_fair_turn started at 0); only every fairness_period-th pop is.
TEST(priority_queues, first_pop_serves_ten_before_one) {
    priority_queues q;
    q.push(make_event(1, 1));
    q.push(make_event(2, 10));
    auto ev = q.pop();
    ASSERT_NE(ev, nullptr);
    EXPECT_EQ(ev->priority, 10) << "first pop took priority " << ev->priority;
}

// Ten before one, apart from the fair turns: among any fairness_period consecutive pops, at
// most one is not the most urgent non-empty priority.
TEST(priority_queues, urgent_first_except_one_fair_turn_per_period) {
    priority_queues q;
    int id = 0;
    for (int i = 0; i < 200; ++i) {
        q.push(make_event(++id, 1));
        q.push(make_event(++id, 5));
        q.push(make_event(++id, 10));
    }
    std::vector<int> seen;
    while (auto ev = q.pop()) seen.push_back(ev->priority);
    ASSERT_EQ(seen.size(), 600u);
    // Replay the contents to know the most urgent non-empty priority before each pop.
    std::map<int, int> left{{1, 200}, {5, 200}, {10, 200}};
    std::vector<bool> urgent(seen.size());
    for (std::size_t i = 0; i < seen.size(); ++i) {
        int top = 0;
        for (auto& [p, n] : left) {
            if (n > 0) top = p;
        }
        urgent[i] = seen[i] == top;
        --left[seen[i]];
    }
    for (std::size_t start = 0; start + 16 <= seen.size(); ++start) {
        int not_urgent = 0;
        for (std::size_t i = start; i < start + 16; ++i) not_urgent += urgent[i] ? 0 : 1;
        ASSERT_LE(not_urgent, 1) << "window starting at pop " << start;
    }
    // Every 10 was popped before the last 1.
    std::size_t last_ten = 0, last_one = 0;
    for (std::size_t i = 0; i < seen.size(); ++i) {
        if (seen[i] == 10) last_ten = i;
        if (seen[i] == 1) last_one = i;
    }
    EXPECT_LT(last_ten, last_one);
}

TEST(priority_queues, fifo_within_a_priority_single_producer) {
    priority_queues q;
    for (int i = 1; i <= 1000; ++i) q.push(make_event(i, 7));
    event_id prev = 0;
    while (auto ev = q.pop()) {
        EXPECT_GT(ev->id, prev);
        prev = ev->id;
    }
    EXPECT_EQ(prev, 1000);
}

// Four producers push concurrently (mixed priorities) while the one consumer pops: for each
// (producer, priority) the consumer sees ids in push order, and sees every event once.
TEST(priority_queues, fifo_per_producer_under_concurrency) {
    priority_queues q;
    constexpr int producers = 4, per_producer = 20000;
    std::atomic<int> done{0};
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p) {
        threads.emplace_back([&, p] {
            for (int i = 0; i < per_producer; ++i) {
                // id encodes producer and order; priority cycles so every queue is used.
                q.push(make_event(static_cast<event_id>(p) * 1'000'000 + i, 1 + (i % 10)));
            }
            done.fetch_add(1);
        });
    }
    std::map<std::pair<event_id, int>, event_id> last;  // (producer, priority) -> last id
    int popped = 0;
    while (popped < producers * per_producer) {
        auto ev = q.pop();
        if (!ev) {
            std::this_thread::yield();
            continue;
        }
        ++popped;
        auto key = std::make_pair(ev->id / 1'000'000, ev->priority);
        auto it = last.find(key);
        if (it != last.end()) {
            ASSERT_GT(ev->id, it->second) << "producer " << key.first << " priority " << key.second;
        }
        last[key] = ev->id;
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(q.pop(), nullptr);
    EXPECT_EQ(popped, producers * per_producer);
}

// Header: under a flood of priority-10 events, priority 1 is served at least once in every
// 16 * 10 = 160 pops.
TEST(priority_queues, priority_one_served_under_flood_of_tens) {
    priority_queues q;
    event_id id = 0;
    for (int i = 0; i < 100; ++i) q.push(make_event(++id, 1));
    for (int i = 0; i < 4000; ++i) q.push(make_event(++id, 10));
    std::vector<int> seen;
    for (int i = 0; i < 1600; ++i) {
        auto ev = q.pop();
        ASSERT_NE(ev, nullptr);
        seen.push_back(ev->priority);
        q.push(make_event(++id, 10));  // the flood never stops
    }
    for (std::size_t start = 0; start + 160 <= seen.size(); ++start) {
        bool one = false;
        for (std::size_t i = start; i < start + 160 && !one; ++i) one = seen[i] == 1;
        ASSERT_TRUE(one) << "no priority-1 pop in the 160 pops starting at " << start;
    }
}

// Every non-empty priority 1..9 is served in every window of 160 pops, and 10 keeps at least
// 15 of every 16 pops while it is non-empty.
TEST(priority_queues, every_priority_served_and_ten_keeps_fifteen_of_sixteen) {
    priority_queues q;
    event_id id = 0;
    for (int p = 1; p <= 9; ++p) {
        for (int i = 0; i < 100; ++i) q.push(make_event(++id, p));
    }
    for (int i = 0; i < 3000; ++i) q.push(make_event(++id, 10));
    std::vector<int> seen;
    for (int i = 0; i < 1600; ++i) {
        auto ev = q.pop();
        ASSERT_NE(ev, nullptr);
        seen.push_back(ev->priority);
    }
    for (std::size_t start = 0; start + 160 <= seen.size(); ++start) {
        for (int p = 1; p <= 9; ++p) {
            bool found = false;
            for (std::size_t i = start; i < start + 160 && !found; ++i) found = seen[i] == p;
            ASSERT_TRUE(found) << "priority " << p << " starved in the window at " << start;
        }
    }
    for (std::size_t start = 0; start + 16 <= seen.size(); ++start) {
        int tens = 0;
        for (std::size_t i = start; i < start + 16; ++i) tens += seen[i] == 10 ? 1 : 0;
        ASSERT_GE(tens, 15) << "window at " << start;
    }
}

TEST(priority_queues, fairness_period_one_serves_least_urgent_in_rotation) {
    priority_queues q(1);
    q.push(make_event(1, 10));
    q.push(make_event(2, 2));
    q.push(make_event(3, 2));
    // Every pop is a fair turn: the rotating floor still lets 10 in between.
    std::vector<int> seen;
    while (auto ev = q.pop()) seen.push_back(ev->priority);
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen.front(), 2);
}

}  // namespace
}  // namespace pubsub
