// service and service_list: start in order, stop in reverse, once, for failures and stops alike.
#include "base/service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pubsub {
namespace {

using clock = service::clock;

// Records "start NAME" and "stop NAME" in a shared journal.
struct journal {
    std::mutex mu;
    std::vector<std::string> lines;
    void add(std::string s) {
        std::lock_guard lock(mu);
        lines.push_back(std::move(s));
    }
};

service_fn recorded(journal& j, const std::string& name, bool fail = false) {
    return service_fn(
        name,
        [&j, name, fail]() -> status {
            j.add("start " + name);
            return fail ? status::error(name + " failed") : status();
        },
        [&j, name](clock::time_point) { j.add("stop " + name); });
}

TEST(service_list, StartsInOrderAndStopsInReverse) {
    journal j;
    auto a = recorded(j, "a"), b = recorded(j, "b"), c = recorded(j, "c");
    service_list list;
    ASSERT_TRUE(list.start({&a, &b}).ok());
    ASSERT_TRUE(list.start({&c}).ok());
    EXPECT_EQ(list.running(), 3u);
    list.stop(clock::now());
    EXPECT_EQ(list.running(), 0u);
    EXPECT_EQ(j.lines, (std::vector<std::string>{"start a", "start b", "start c", "stop c",
                                                 "stop b", "stop a"}));
}

TEST(service_list, AFailedStartStartsNoMoreAndStopStopsTheStartedOnesButNotTheFailedOne) {
    journal j;
    auto a = recorded(j, "a"), b = recorded(j, "b"), bad = recorded(j, "bad", true),
         never = recorded(j, "never");
    service_list list;
    ASSERT_TRUE(list.start({&a}).ok());
    status s = list.start({&b, &bad, &never});
    EXPECT_EQ(s.message(), "bad failed");
    EXPECT_EQ(list.running(), 2u);
    list.stop(clock::now());
    EXPECT_EQ(list.running(), 0u);
    EXPECT_EQ(j.lines,
              (std::vector<std::string>{"start a", "start b", "start bad", "stop b", "stop a"}));
}

TEST(service_list, StopIsIdempotentAndTheDestructorStopsWhatIsLeft) {
    journal j;
    auto a = recorded(j, "a");
    {
        service_list list;
        list.stop(clock::now());  // nothing started: nothing to do
        ASSERT_TRUE(list.start({&a}).ok());
    }
    EXPECT_EQ(j.lines, (std::vector<std::string>{"start a", "stop a"}));
    service_list list;
    ASSERT_TRUE(list.start({&a}).ok());
    list.stop(clock::now());
    list.stop(clock::now());
    EXPECT_EQ(j.lines.size(), 4u);
}

TEST(service_list, EveryServiceGetsTheDeadline) {
    auto deadline = clock::now() + std::chrono::seconds(7);
    std::vector<clock::time_point> seen;
    service_fn a(
        "a", [] { return status(); }, [&](clock::time_point d) { seen.push_back(d); });
    service_fn b(
        "b", [] { return status(); }, [&](clock::time_point d) { seen.push_back(d); });
    service_list list;
    ASSERT_TRUE(list.start({&a, &b}).ok());
    list.stop(deadline);
    EXPECT_EQ(seen, (std::vector<clock::time_point>{deadline, deadline}));
}

TEST(service_fn, StopWithoutStartOrAfterAFailedStartOrTwiceIsANoOp) {
    int stops = 0;
    bool fail = true;
    service_fn s(
        "s", [&] { return fail ? status::error("no") : status(); },
        [&](clock::time_point) { ++stops; });
    EXPECT_EQ(s.name(), "s");
    s.stop(clock::now());
    EXPECT_FALSE(s.start().ok());
    s.stop(clock::now());
    EXPECT_EQ(stops, 0);
    fail = false;
    ASSERT_TRUE(s.start().ok());
    s.stop(clock::now());
    s.stop(clock::now());
    EXPECT_EQ(stops, 1);
    ASSERT_TRUE(s.start().ok());  // a stopped service may start again
    s.stop(clock::now());
    EXPECT_EQ(stops, 2);
}

TEST(service_fn, AStepWithNothingToStop) {
    int runs = 0;
    service_fn step("step", [&] {
        ++runs;
        return status();
    });
    service_list list;
    ASSERT_TRUE(list.start({&step}).ok());
    list.stop(clock::now());
    EXPECT_EQ(runs, 1);
}

// A service owning a thread that feeds the next one, as a door feeds the router: stopped in
// reverse, the producer is joined before its consumer stops, so no item reaches a stopped one.
class worker final : public service {
  public:
    worker(std::string name, worker* next) : name_(std::move(name)), next_(next) {}
    std::string_view name() const override { return name_; }
    status start() override {
        {
            std::lock_guard lock(mu_);
            open_ = true;
        }
        thread_ = std::thread([this] { run(); });
        return status();
    }
    void stop(clock::time_point) noexcept override {
        {
            std::lock_guard lock(mu_);
            if (!open_) return;
            open_ = false;
        }
        cv_.notify_all();
        thread_.join();
    }
    bool push(int v) {
        std::lock_guard lock(mu_);
        if (!open_) return false;
        items_.push_back(v);
        cv_.notify_all();
        return true;
    }
    std::atomic<int> refused{0};
    std::atomic<int> handled{0};

  private:
    void run() {
        for (int i = 0;; ++i) {
            std::unique_lock lock(mu_);
            if (!open_) return;
            if (next_ == nullptr) {
                cv_.wait(lock, [this] { return !open_ || !items_.empty(); });
                handled += static_cast<int>(items_.size());
                items_.clear();
                continue;
            }
            lock.unlock();
            if (!next_->push(i)) ++refused;
            std::this_thread::yield();
        }
    }

    std::string name_;
    worker* next_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool open_ = false;
    std::vector<int> items_;
    std::thread thread_;
};

TEST(service_list, ConcurrentStopsStopEachServiceOnceAndProducersFirst) {
    for (int round = 0; round < 20; ++round) {
        worker sink("sink", nullptr), middle("middle", &sink), door("door", &middle);
        service_list list;
        ASSERT_TRUE(list.start({&sink, &middle, &door}).ok());
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        std::thread other([&] { list.stop(clock::now()); });
        list.stop(clock::now());
        other.join();
        EXPECT_EQ(list.running(), 0u);
        EXPECT_EQ(door.refused, 0) << "the door fed a stopped service";
        EXPECT_EQ(middle.refused, 0) << "the middle fed a stopped sink";
    }
}

}  // namespace
}  // namespace pubsub
