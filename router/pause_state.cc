#include "router/pause_state.h"

#include <algorithm>

#include "router/router.h"

namespace pubsub {

namespace {

// Most urgent first: higher priority, then the older event (ids rise within a node's blocks).
bool more_urgent(const delivery& a, const delivery& b) {
    const auto& x = *a.group->ev();
    const auto& y = *b.group->ev();
    if (x.priority != y.priority) return x.priority > y.priority;
    return x.id < y.id;
}

}  // namespace

bool pause_state::paused_locked(const subscriber& s) const {
    return (set_.job_types & job_type_bit(s.job)) != 0 ||
           std::binary_search(set_.subscribers.begin(), set_.subscribers.end(), s.id);
}

bool pause_state::paused(const subscriber& s) const {
    if (!any_.load(std::memory_order_relaxed)) return false;
    std::lock_guard lock(mu_);
    return paused_locked(s);
}

void pause_state::count(const delivery& d, int delta) {
    auto& n = held_by_type_[static_cast<std::size_t>(d.sub->job)];
    n = static_cast<std::size_t>(static_cast<std::int64_t>(n) + delta);
    if (!budget_) return;
    // Charged unconditionally: the event was admitted already, and holding it must not fail.
    const std::size_t bytes = approx_bytes(*d.group->ev());
    if (delta > 0) {
        budget_->charge(bytes);
    } else {
        budget_->release(bytes);
    }
}

bool pause_state::hold(delivery& d, const std::function<void(const delivery&)>& on_hold) {
    if (!any_.load(std::memory_order_relaxed)) return false;
    std::lock_guard lock(mu_);
    if (!paused_locked(*d.sub)) return false;
    on_hold(d);
    d.has_row = true;  // its row says held: every later state must be written over it
    count(d, 1);
    held_.push_back(std::move(d));
    return true;
}

std::vector<delivery> pause_state::set(pause_set p) {
    std::sort(p.subscribers.begin(), p.subscribers.end());
    std::vector<delivery> released;
    {
        std::lock_guard lock(mu_);
        set_ = std::move(p);
        any_.store(set_.job_types != 0 || !set_.subscribers.empty(), std::memory_order_relaxed);
        auto keep = std::stable_partition(held_.begin(), held_.end(), [this](const delivery& d) {
            return paused_locked(*d.sub);
        });
        for (auto it = keep; it != held_.end(); ++it) {
            count(*it, -1);
            released.push_back(std::move(*it));
        }
        held_.erase(keep, held_.end());
    }
    std::stable_sort(released.begin(), released.end(), more_urgent);
    return released;
}

pause_set pause_state::current() const {
    std::lock_guard lock(mu_);
    return set_;
}

std::vector<delivery> pause_state::take_event(event_id id) {
    std::vector<delivery> out;
    std::lock_guard lock(mu_);
    auto keep = std::stable_partition(held_.begin(), held_.end(),
                                      [id](const delivery& d) { return d.group->ev()->id != id; });
    for (auto it = keep; it != held_.end(); ++it) {
        count(*it, -1);
        out.push_back(std::move(*it));
    }
    held_.erase(keep, held_.end());
    return out;
}

std::vector<delivery> pause_state::take_all() {
    std::lock_guard lock(mu_);
    std::vector<delivery> out = std::move(held_);
    held_.clear();
    for (const auto& d : out) count(d, -1);
    return out;
}

std::size_t pause_state::held() const {
    std::lock_guard lock(mu_);
    return held_.size();
}

std::size_t pause_state::held(job_type t) const {
    std::lock_guard lock(mu_);
    return held_by_type_[static_cast<std::size_t>(t)];
}

}  // namespace pubsub
