#include "router/scheduled_events.h"

#include <algorithm>
#include <chrono>

namespace pubsub {

scheduled_events::scheduled_events(release_fn release, memory_budget* budget)
    : release_(std::move(release)), budget_(budget) {}

scheduled_events::~scheduled_events() {
    stop();
    if (budget_) {
        std::size_t held = 0;
        for (const auto& e : heap_) {
            if (e.ev) held += approx_bytes(*e.ev);
        }
        budget_->release(held);
    }
}

void scheduled_events::start() {
    if (thread_.joinable()) return;
    {
        std::lock_guard lock(mu_);
        stopping_ = false;
    }
    thread_ = std::thread([this] { run(); });
}

void scheduled_events::stop() noexcept {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
}

void scheduled_events::add(event_ptr ev) {
    if (budget_) budget_->charge(approx_bytes(*ev));
    const event* added = ev.get();
    bool earliest;
    {
        std::lock_guard lock(mu_);
        heap_.push_back(entry{ev->run_at_us, std::move(ev)});
        std::push_heap(heap_.begin(), heap_.end(), later);
        ++live_;
        earliest = heap_.front().ev.get() == added;  // the thread sleeps for a later one
    }
    if (earliest) cv_.notify_one();
}

bool scheduled_events::cancel(event_id id) {
    event_ptr dropped;
    {
        std::lock_guard lock(mu_);
        for (auto& e : heap_) {
            if (e.ev && e.ev->id == id) {
                dropped = std::move(e.ev);
                --live_;
                break;
            }
        }
    }
    if (!dropped) return false;
    if (budget_) budget_->release(approx_bytes(*dropped));
    return true;
}

std::size_t scheduled_events::size() const {
    std::lock_guard lock(mu_);
    return live_;
}

void scheduled_events::run() {
    std::vector<event_ptr> due;
    std::unique_lock lock(mu_);
    while (!stopping_) {
        const std::int64_t now = now_us();
        while (!heap_.empty() && heap_.front().due_us <= now) {
            std::pop_heap(heap_.begin(), heap_.end(), later);
            if (heap_.back().ev) {
                due.push_back(std::move(heap_.back().ev));
                --live_;
            }
            heap_.pop_back();
        }
        if (!due.empty()) {
            lock.unlock();
            for (auto& ev : due) {
                if (budget_) budget_->release(approx_bytes(*ev));
                release_(std::move(ev));
            }
            due.clear();
            lock.lock();
            continue;
        }
        std::int64_t wait_us = 1'000'000;
        if (!heap_.empty()) wait_us = std::min(wait_us, heap_.front().due_us - now);
        cv_.wait_for(lock, std::chrono::microseconds(wait_us));
    }
}

}  // namespace pubsub
