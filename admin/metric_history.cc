#include "admin/metric_history.h"

#include <algorithm>

namespace pubsub::admin {

metric_history::metric_history(std::size_t capacity) : ring_(std::max<std::size_t>(capacity, 1)) {}

void metric_history::add(const history_point& p) {
    std::lock_guard lock(mu_);
    ring_[next_] = p;
    next_ = (next_ + 1) % ring_.size();
    size_ = std::min(size_ + 1, ring_.size());
}

std::vector<history_point> metric_history::last(std::size_t n) const {
    std::lock_guard lock(mu_);
    n = std::min(n, size_);
    std::vector<history_point> out;
    out.reserve(n);
    std::size_t start = (next_ + ring_.size() - n) % ring_.size();
    for (std::size_t i = 0; i < n; ++i) out.push_back(ring_[(start + i) % ring_.size()]);
    return out;
}

}  // namespace pubsub::admin
