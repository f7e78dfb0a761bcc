// retry_policy: the computed schedule (no clock involved) and the retry budget.
#include "handlers/retry_policy.h"

#include <gtest/gtest.h>

#include <random>

namespace pubsub {
namespace {

using ms = std::chrono::milliseconds;

retry_policy policy(int base_ms, int cap_ms) {
    retry_policy p;
    p.base = ms(base_ms);
    p.cap = ms(cap_ms);
    return p;
}

TEST(retry_delay, doubles_from_base_up_to_the_cap_without_jitter_draw) {
    auto p = policy(100, 1000);
    std::vector<ms> got;
    for (int n = 1; n <= 7; ++n) got.push_back(retry_delay(p, n, 0.0));
    EXPECT_EQ(got,
              (std::vector<ms>{ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000), ms(1000)}));
}

TEST(retry_delay, jitter_stays_within_half_and_full_delay) {
    auto p = policy(100, 60'000);
    std::mt19937 rng(42);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (int n = 1; n <= 9; ++n) {
        auto full = retry_delay(p, n, 0.0);
        for (int i = 0; i < 200; ++i) {
            auto d = retry_delay(p, n, u(rng));
            EXPECT_LE(d, full) << "failure " << n;
            EXPECT_GE(d, full / 2) << "failure " << n;
        }
    }
}

// With factor 2 and jitter 0.5, a later retry never comes sooner than an earlier one could
// (below the cap): the schedule is ordered whatever the draws.
TEST(retry_delay, schedule_is_ordered_whatever_the_draws) {
    auto p = policy(50, 100'000);
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (int trial = 0; trial < 100; ++trial) {
        ms previous{0};
        for (int n = 1; n <= 10; ++n) {
            auto d = retry_delay(p, n, u(rng));
            EXPECT_GE(d, previous) << "failure " << n << " trial " << trial;
            previous = d;
        }
    }
}

TEST(retry_delay, degenerate_inputs) {
    auto p = policy(100, 50);  // cap below base: the cap wins
    EXPECT_EQ(retry_delay(p, 1, 0.0), ms(50));
    p = policy(100, 1000);
    EXPECT_EQ(retry_delay(p, 0, 0.0), ms(100)) << "failed < 1 counts as the first failure";
    EXPECT_EQ(retry_delay(p, 1, 5.0), ms(50)) << "unit is clamped to [0, 1]";
    EXPECT_EQ(retry_delay(p, 400, 0.0), ms(1000)) << "no overflow far past the cap";
}

TEST(retry_left, budget_is_max_retries_after_the_first_attempt) {
    retry_policy p;
    EXPECT_TRUE(retry_left(p, 1, 0, 3));
    EXPECT_TRUE(retry_left(p, 3, 0, 3));
    EXPECT_FALSE(retry_left(p, 4, 0, 3)) << "attempt 4 of max_retries 3 is the last";
    EXPECT_FALSE(retry_left(p, 1, 0, 0)) << "max_retries 0: the first failure is final";
    // After an operator retry at 4 attempts: 3 more retries after attempt 5.
    EXPECT_TRUE(retry_left(p, 5, 4, 3));
    EXPECT_TRUE(retry_left(p, 7, 4, 3));
    EXPECT_FALSE(retry_left(p, 8, 4, 3));
    p.enabled = false;
    EXPECT_FALSE(retry_left(p, 1, 0, 3));
}

}  // namespace
}  // namespace pubsub
