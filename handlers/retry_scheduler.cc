#include "handlers/retry_scheduler.h"

namespace pubsub {

status retry_scheduler::start() {
    if (thread_.joinable()) return status();
    {
        std::lock_guard lock(mu_);
        stopping_ = false;
    }
    thread_ = std::thread([this] { run(); });
    return status();
}

void retry_scheduler::stop(clock::time_point) noexcept {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    std::multimap<clock::time_point, delivery> dropped;
    std::lock_guard lock(mu_);
    dropped.swap(held_);  // destroyed after the lock: groups may be released here
}

void retry_scheduler::schedule(delivery d, clock::time_point due) {
    bool earliest = false;
    {
        std::lock_guard lock(mu_);
        auto it = held_.emplace(due, std::move(d));
        earliest = it == held_.begin();
    }
    if (earliest) cv_.notify_one();
}

std::vector<delivery> retry_scheduler::take_event(event_id id) {
    std::vector<delivery> out;
    std::lock_guard lock(mu_);
    for (auto it = held_.begin(); it != held_.end();) {
        if (it->second.group->ev()->id == id) {
            out.push_back(std::move(it->second));
            it = held_.erase(it);
        } else {
            ++it;
        }
    }
    return out;
}

std::size_t retry_scheduler::size() const {
    std::lock_guard lock(mu_);
    return held_.size();
}

void retry_scheduler::run() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
        if (held_.empty()) {
            cv_.wait(lock);
            continue;
        }
        auto due = held_.begin()->first;
        if (clock::now() < due) {
            cv_.wait_until(lock, due);
            continue;
        }
        std::vector<delivery> ready;
        auto now = clock::now();
        while (!held_.empty() && held_.begin()->first <= now) {
            ready.push_back(std::move(held_.begin()->second));
            held_.erase(held_.begin());
        }
        lock.unlock();
        for (auto& d : ready) fire_(std::move(d));
        lock.lock();
    }
}

}  // namespace pubsub
