#include "handlers/retry_policy.h"

#include <algorithm>
#include <cmath>

namespace pubsub {

std::chrono::milliseconds retry_delay(const retry_policy& p, int failed, double unit) {
    double base = static_cast<double>(p.base.count());
    double cap = static_cast<double>(p.cap.count());
    double d = base * std::pow(std::max(p.factor, 1.0), std::max(failed, 1) - 1);
    d = std::min(d, cap);
    double jitter = std::clamp(p.jitter, 0.0, 1.0);
    double u = std::clamp(unit, 0.0, 1.0);
    return std::chrono::milliseconds(static_cast<std::int64_t>(d * (1.0 - jitter * u)));
}

bool retry_left(const retry_policy& p, int attempt, int retry_base, int max_retries) {
    return p.enabled && attempt - retry_base <= max_retries;
}

}  // namespace pubsub
