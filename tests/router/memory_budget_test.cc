// memory_budget: the bound holds exactly under concurrent charge/release from many threads
// (run under ThreadSanitizer with the router tests), and the event size model grows with data.
#include "router/memory_budget.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace pubsub {
namespace {

TEST(memory_budget, try_charge_refuses_what_does_not_fit) {
    memory_budget b(100);
    EXPECT_TRUE(b.try_charge(60));
    EXPECT_FALSE(b.try_charge(41));
    EXPECT_EQ(b.used(), 60u);
    EXPECT_TRUE(b.try_charge(40));
    EXPECT_FALSE(b.has_room());
    EXPECT_FALSE(b.try_charge(1));
    b.release(50);
    EXPECT_TRUE(b.has_room());
    EXPECT_FALSE(b.try_charge(51));
    EXPECT_TRUE(b.try_charge(50));
    EXPECT_FALSE(b.try_charge(static_cast<std::size_t>(-1)));  // no wrap-around
    b.charge(10);  // unconditional: for what is already accepted
    EXPECT_EQ(b.used(), 110u);
    b.release(110);
    EXPECT_EQ(b.used(), 0u);
}

// Threads race to charge 7 bytes at a time and release some of it again; at no time may the
// budget hold more than its limit, and all of it comes back.
TEST(memory_budget, concurrent_charges_never_exceed_the_limit) {
    constexpr std::size_t limit = 7 * 1000;
    memory_budget b(limit);
    std::atomic<std::size_t> peak{0};
    std::atomic<int> refused{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t) {
        ts.emplace_back([&] {
            std::size_t held = 0;
            for (int i = 0; i < 20000; ++i) {
                if (b.try_charge(7)) {
                    held += 7;
                } else {
                    refused.fetch_add(1, std::memory_order_relaxed);
                }
                std::size_t u = b.used();
                std::size_t p = peak.load();
                while (u > p && !peak.compare_exchange_weak(p, u)) {
                }
                if (i % 3 == 0 && held >= 7) {
                    b.release(7);
                    held -= 7;
                }
            }
            b.release(held);
        });
    }
    for (auto& t : ts) t.join();
    EXPECT_LE(peak.load(), limit);
    EXPECT_GT(refused.load(), 0);
    EXPECT_EQ(b.used(), 0u);
}

TEST(memory_budget, event_size_counts_its_strings) {
    event small, big;
    big.data_json.assign(10000, 'x');
    EXPECT_GE(approx_bytes(big), approx_bytes(small) + 10000);
    EXPECT_GT(approx_bytes(small), sizeof(event));
}

}  // namespace
}  // namespace pubsub
