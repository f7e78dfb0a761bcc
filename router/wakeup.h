// wakeup: lets one consumer thread sleep until producers signal new work.
//
// DESIGN: producers call notify() after publishing work (e.g. enqueue on a ConcurrentQueue);
// the consumer calls wait(has_work). notify() costs one atomic increment plus one load, and a
// futex wake only while the consumer is actually asleep. Lost wake-ups are impossible because
// both sides use seq_cst on sleeping_ and epoch_ (see the comment in wait()).
//
// Before sleeping, wait() busy-polls has_work() with the CPU's pause instruction for a short,
// adaptive time: at most max_spin (default 4 us), halved after every spin that ended in a sleep
// and doubled after every spin that found work, never below min_spin (0.25 us). So a burst
// (work arriving every microsecond or so) is taken without a futex round trip, while a steady
// trickle (work every 100 us) costs a fraction of a microsecond of spinning per wait. The spin
// never calls sched_yield(): under EEVDF (Linux 6.6+) each yield pushes the thread's deadline
// back by a whole slice, so a consumer that yields while another thread is runnable on its CPU
// can find work only after that thread's slice (hundreds of microseconds), without being woken.
// The sleep itself is a plain futex wait on Linux, not std::atomic::wait: libstdc++ 12's wait
// spins with sched_yield() (4 of its 16 rounds) before it sleeps, with the effect above.
// Thread-safe for many producers and exactly one consumer per instance.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace pubsub {

class wakeup {
  public:
    void notify() {
        epoch_.fetch_add(1, std::memory_order_seq_cst);
        if (sleeping_.load(std::memory_order_seq_cst)) wake_all();
    }

    // Returns when has_work() is true or after stop(); spins briefly before sleeping.
    template <class Pred>
    void wait(Pred has_work) {
        if (spin(has_work)) return;
        while (!stopped()) {
            sleeping_.store(true, std::memory_order_seq_cst);
            // Invariant: a producer that publishes after we read `seen` either makes has_work()
            // true below, or increments epoch_ and then sees sleeping_ == true and wakes us.
            std::uint32_t seen = epoch_.load(std::memory_order_seq_cst);
            if (has_work()) break;
            sleep_while(seen);
            if (has_work()) break;
        }
        sleeping_.store(false, std::memory_order_relaxed);
    }

    void stop() {
        stopped_.store(true, std::memory_order_seq_cst);
        epoch_.fetch_add(1, std::memory_order_seq_cst);
        wake_all();
    }
    bool stopped() const { return stopped_.load(std::memory_order_acquire); }
    // Consumer thread (or before it starts). 0 disables the spin: wait() checks once, then sleeps.
    void set_max_spin(std::chrono::nanoseconds max) {
        max_spin_ = max;
        spin_ = max < min_spin ? max : min_spin;
    }

  private:
    static constexpr std::chrono::nanoseconds min_spin{250};

    static void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        asm volatile("yield" ::: "memory");
#endif
    }

    // Sleeps until epoch_ differs from `seen` (or spuriously: callers re-check).
    void sleep_while(std::uint32_t seen) {
#if defined(__linux__)
        static_assert(sizeof(epoch_) == sizeof(std::uint32_t) &&
                      decltype(epoch_)::is_always_lock_free);
        ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&epoch_), FUTEX_WAIT_PRIVATE, seen,
                  nullptr, nullptr, 0);
#else
        epoch_.wait(seen, std::memory_order_seq_cst);
#endif
    }
    void wake_all() {
#if defined(__linux__)
        ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&epoch_), FUTEX_WAKE_PRIVATE,
                  INT32_MAX, nullptr, nullptr, 0);
#else
        epoch_.notify_all();
#endif
    }

    // Consumer only. True when has_work() (or stop) turned up within the current spin budget.
    template <class Pred>
    bool spin(Pred& has_work) {
        if (has_work() || stopped()) return true;
        if (spin_.count() <= 0) return false;
        using clock = std::chrono::steady_clock;
        const auto until = clock::now() + spin_;
        do {
            for (int i = 0; i < 8; ++i) {
                cpu_relax();
                if (has_work() || stopped()) {
                    spin_ = spin_ * 2 > max_spin_ ? max_spin_ : spin_ * 2;
                    return true;
                }
            }
        } while (clock::now() < until);
        const auto floor = max_spin_ < min_spin ? max_spin_ : min_spin;
        spin_ = spin_ / 2 < floor ? floor : spin_ / 2;
        return false;
    }

    std::atomic<std::uint32_t> epoch_{0};
    std::atomic<bool> sleeping_{false};
    std::atomic<bool> stopped_{false};
    // Consumer-only spin budget (see DESIGN); no synchronisation needed.
    std::chrono::nanoseconds max_spin_{4000};
    std::chrono::nanoseconds spin_{4000};
};

}  // namespace pubsub
