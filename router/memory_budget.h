// memory_budget: one bound, in bytes, on what the daemon holds in memory on behalf of producers
// (today: admitted events whose row is not committed yet; later: scheduled events, held
// deliveries, worker windows). Every such holder draws on the same budget, so the total is
// bounded by one setting (--max-unpersisted-bytes) whatever the mix.
//
// try_charge() takes bytes only if they fit (admission); charge() takes them unconditionally
// (for something already accepted, so the count stays true); release() gives them back. Sizes
// are approximations of the heap a value holds (approx_bytes below), not allocator-exact.
// Thread-safe, lock-free (one atomic), never allocates, never blocks.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "router/event.h"

namespace pubsub {

class memory_budget {
  public:
    explicit memory_budget(std::size_t limit_bytes) : limit_(limit_bytes) {}
    memory_budget(const memory_budget&) = delete;
    memory_budget& operator=(const memory_budget&) = delete;

    // Takes `bytes` if used() + bytes <= limit(); false (nothing taken) otherwise.
    [[nodiscard]] bool try_charge(std::size_t bytes) {
        // Relaxed: the budget is a bound, never a synchronisation point for the charged data.
        std::size_t cur = used_.load(std::memory_order_relaxed);
        do {
            if (bytes > limit_ || cur > limit_ - bytes) return false;
        } while (!used_.compare_exchange_weak(cur, cur + bytes, std::memory_order_relaxed));
        return true;
    }
    void charge(std::size_t bytes) { used_.fetch_add(bytes, std::memory_order_relaxed); }
    // Gives back bytes charged earlier (releasing more than was charged is a caller bug).
    void release(std::size_t bytes) { used_.fetch_sub(bytes, std::memory_order_relaxed); }

    std::size_t used() const { return used_.load(std::memory_order_relaxed); }
    std::size_t limit() const { return limit_; }
    bool has_room() const { return used() < limit_; }

  private:
    const std::size_t limit_;
    std::atomic<std::size_t> used_{0};
};

// What an admitted event costs while the write-behind holds it: its strings, the event itself,
// and the transition, row and hash-map node that carry it (a fixed overhead).
inline std::size_t approx_bytes(const event& ev) {
    constexpr std::size_t overhead = 512;
    return sizeof(event) + overhead + ev.type.size() + ev.source.size() + ev.data_json.size();
}

}  // namespace pubsub
