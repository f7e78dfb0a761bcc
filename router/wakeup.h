// wakeup: lets one consumer thread sleep until producers signal new work.
//
// DESIGN: producers call notify() after publishing work (e.g. enqueue on a ConcurrentQueue);
// the consumer calls wait(has_work). notify() costs one atomic increment plus one load, and a
// futex wake only while the consumer is actually asleep. Lost wake-ups are impossible because
// both sides use seq_cst on sleeping_ and epoch_ (see the comment in wait()).
// Thread-safe for many producers and exactly one consumer per instance.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

namespace pubsub {

class wakeup {
  public:
    void notify() {
        epoch_.fetch_add(1, std::memory_order_seq_cst);
        if (sleeping_.load(std::memory_order_seq_cst)) epoch_.notify_one();
    }

    // Returns when has_work() is true or after stop(); spins briefly before sleeping.
    template <class Pred>
    void wait(Pred has_work) {
        for (int i = 0; i < spin_rounds_; ++i) {
            if (has_work() || stopped()) return;
            std::this_thread::yield();
        }
        while (!stopped()) {
            sleeping_.store(true, std::memory_order_seq_cst);
            // Invariant: a producer that publishes after we read `seen` either makes has_work()
            // true below, or increments epoch_ and then sees sleeping_ == true and wakes us.
            std::uint32_t seen = epoch_.load(std::memory_order_seq_cst);
            if (has_work()) break;
            epoch_.wait(seen, std::memory_order_seq_cst);
            if (has_work()) break;
        }
        sleeping_.store(false, std::memory_order_relaxed);
    }

    void stop() {
        stopped_.store(true, std::memory_order_seq_cst);
        epoch_.fetch_add(1, std::memory_order_seq_cst);
        epoch_.notify_all();
    }
    bool stopped() const { return stopped_.load(std::memory_order_acquire); }
    void set_spin_rounds(int n) { spin_rounds_ = n; }

  private:
    std::atomic<std::uint32_t> epoch_{0};
    std::atomic<bool> sleeping_{false};
    std::atomic<bool> stopped_{false};
    int spin_rounds_ = 64;
};

}  // namespace pubsub
