// retry_policy: when a failed delivery runs again (SPEC 4: exponential backoff up to the
// subscriber's max_retries).
//
// The delay after the n-th failed attempt of a budget (n = 1 after the first failure) is
//   d(n) = min(cap, base * factor^(n-1)), drawn uniformly in [d(n) * (1 - jitter), d(n)]
// Defaults: base 1 s, factor 2, cap 5 min, jitter 0.5 ("equal jitter": spreads retries of many
// deliveries that failed together, and with factor >= 2 the next delay is never shorter than the
// previous one's lower bound). base is --retry-base-ms, cap --retry-max-ms.
// A delivery is dead once it has failed max_retries + 1 attempts in its budget (the budget
// starts again at an operator's `events retry`). Pure functions; thread-safe.
#pragma once

#include <chrono>

namespace pubsub {

struct retry_policy {
    bool enabled = true;  // false: every failure is final (pool tests)
    std::chrono::milliseconds base{1000};
    double factor = 2.0;
    std::chrono::milliseconds cap{300'000};
    double jitter = 0.5;  // 0..1
};

// The delay after `failed` failed attempts (>= 1); unit is a uniform draw in [0, 1).
std::chrono::milliseconds retry_delay(const retry_policy& p, int failed, double unit);

// Whether a delivery whose attempt `attempt` (counted from 1 over its life) just failed gets
// another one; retry_base is the attempts made before the last operator retry.
bool retry_left(const retry_policy& p, int attempt, int retry_base, int max_retries);

}  // namespace pubsub
