#include "router/priority_queues.h"

#include <concurrentqueue/concurrentqueue.h>

#include <cassert>

namespace pubsub {

struct priority_queues::impl {
    explicit impl(int period) : fairness_period(period), pops_until_fair_turn(period) {}
    // Index 0 holds priority 1, index 9 priority 10.
    std::array<moodycamel::ConcurrentQueue<event_ptr>, max_priority> queues;
    // Consumer-only state (the single dispatch thread): no synchronisation needed.
    int fairness_period;
    int pops_until_fair_turn;  // the fair turn is the period-th pop, never the first
    int fair_floor = 0;        // rotating start index for the fair turn

    event_ptr try_pop(int index) {
        event_ptr ev;
        if (queues[static_cast<std::size_t>(index)].try_dequeue(ev)) return ev;
        return nullptr;
    }
};

priority_queues::priority_queues(int fairness_period)
    : impl_(std::make_unique<impl>(fairness_period < 1 ? 1 : fairness_period)) {}
priority_queues::~priority_queues() = default;

void priority_queues::push(event_ptr ev) {
    assert(ev && ev->priority >= min_priority && ev->priority <= max_priority);
    impl_->queues[static_cast<std::size_t>(ev->priority - 1)].enqueue(std::move(ev));
}

event_ptr priority_queues::pop() {
    auto& s = *impl_;
    if (--s.pops_until_fair_turn <= 0) {
        s.pops_until_fair_turn = s.fairness_period;
        // Fair turn: the least urgent non-empty queue, starting from a rotating floor so that
        // every priority below 10 takes its turn.
        for (int k = 0; k < max_priority; ++k) {
            int index = (s.fair_floor + k) % max_priority;
            if (auto ev = s.try_pop(index)) {
                s.fair_floor = (index + 1) % max_priority;
                return ev;
            }
        }
        return nullptr;
    }
    for (int index = max_priority - 1; index >= 0; --index) {
        if (auto ev = s.try_pop(index)) return ev;
    }
    return nullptr;
}

std::size_t priority_queues::size_approx(int priority) const {
    return impl_->queues[static_cast<std::size_t>(priority - 1)].size_approx();
}

std::size_t priority_queues::total_approx() const {
    std::size_t n = 0;
    for (const auto& q : impl_->queues) n += q.size_approx();
    return n;
}

}  // namespace pubsub
