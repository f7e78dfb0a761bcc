// wakeup: many producers, one sleeping consumer, no lost wake-up; stop() wakes the sleeper.
#include "router/wakeup.h"

#include <concurrentqueue/concurrentqueue.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/router/memory_log.h"

namespace pubsub {
namespace {

// Turns a hang into a failure: after the hang guard it sets `fired` and stops the wakeup, so a
// consumer stuck by a lost wake-up returns and the test reports it.
class watchdog {
  public:
    explicit watchdog(wakeup& w)
        : thread_([this, &w] {
              std::unique_lock lock(mu_);
              if (!cv_.wait_for(lock, test::hang_guard, [this] { return done_; })) {
                  fired = true;
                  w.stop();
              }
          }) {}
    ~watchdog() {
        {
            std::lock_guard lock(mu_);
            done_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }
    std::atomic<bool> fired{false};

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool done_ = false;
    std::thread thread_;
};

#if defined(__SANITIZE_THREAD__)
constexpr int stress_per_producer = 20000;  // ThreadSanitizer is ~20x slower
#else
constexpr int stress_per_producer = 100000;
#endif

void run_stress(long spin_ns) {
    constexpr int producers = 4, per_producer = stress_per_producer;
    constexpr long total = static_cast<long>(producers) * per_producer;
    wakeup w;
    w.set_max_spin(std::chrono::nanoseconds(spin_ns));
    moodycamel::ConcurrentQueue<int> work;
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p) {
        threads.emplace_back([&, p] {
            moodycamel::ProducerToken token(work);
            for (int i = 0; i < per_producer; ++i) {
                work.enqueue(token, p);
                w.notify();
                // Pause now and then so the consumer empties the queue and really sleeps.
                if (i % 1024 == 0) std::this_thread::yield();
            }
        });
    }
    long consumed = 0;
    {
        watchdog dog(w);
        while (consumed < total && !w.stopped()) {
            int item;
            while (work.try_dequeue(item)) ++consumed;
            if (consumed >= total) break;
            w.wait([&] { return work.size_approx() > 0; });
        }
        EXPECT_FALSE(dog.fired) << "consumer stuck after " << consumed << " of " << total
                                << " items: lost wake-up";
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(consumed, total);
}

TEST(wakeup, four_producers_no_lost_wakeup_sleeping_consumer) { run_stress(0); }
TEST(wakeup, four_producers_no_lost_wakeup_default_spin) { run_stress(4000); }

TEST(wakeup, wait_returns_at_once_when_work_is_there) {
    wakeup w;
    int calls = 0;
    w.wait([&] {
        ++calls;
        return true;
    });
    EXPECT_EQ(calls, 1);
}

TEST(wakeup, stop_wakes_a_sleeping_consumer) {
    wakeup w;
    w.set_max_spin(std::chrono::nanoseconds(0));
    std::atomic<bool> returned{false};
    std::thread consumer([&] {
        w.wait([] { return false; });
        returned = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let it sleep (not asserted)
    w.stop();
    consumer.join();
    EXPECT_TRUE(returned);
    EXPECT_TRUE(w.stopped());
    // After stop, wait() never blocks.
    w.wait([] { return false; });
}

TEST(wakeup, single_notify_wakes_the_sleeper) {
    for (int round = 0; round < 200; ++round) {
        wakeup w;
        w.set_max_spin(std::chrono::nanoseconds(0));
        std::atomic<bool> flag{false};
        std::thread consumer([&] { w.wait([&] { return flag.load(); }); });
        if (round % 2 == 0) std::this_thread::yield();
        flag = true;
        w.notify();
        consumer.join();  // a lost wake-up hangs here (ctest timeout)
        EXPECT_TRUE(flag);
    }
}

}  // namespace
}  // namespace pubsub
