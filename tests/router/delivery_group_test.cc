// delivery_group: processing recorded once, the final state recorded once with the first error,
// whatever the number of threads finishing deliveries at once.
#include <gtest/gtest.h>

#include <barrier>
#include <set>
#include <thread>
#include <vector>

#include "router/delivery.h"
#include "tests/router/memory_log.h"

namespace pubsub {
namespace {

using test::memory_log;

TEST(delivery_group, sequential_first_error_wins) {
    memory_log log;
    auto ev = test::make_event(7, 5);
    delivery_group g(ev, 3, 2, log);
    EXPECT_EQ(g.ev(), ev);
    EXPECT_EQ(g.attempt(), 2);
    g.started();
    g.started();
    g.finished(false, "first");
    g.finished(true, "");
    EXPECT_EQ(log.all().size(), 1u) << "final recorded before the last delivery finished";
    g.finished(false, "second");
    auto all = log.all();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].status, event_status::processing);
    EXPECT_EQ(all[0].seq, seq_processing);
    EXPECT_EQ(all[0].retry_count, 1);
    EXPECT_EQ(all[1].status, event_status::failed);
    EXPECT_EQ(all[1].seq, seq_final);
    EXPECT_EQ(all[1].error, "first");
    EXPECT_EQ(all[1].retry_count, 1);
    EXPECT_LE(all[0].at_us, all[1].at_us);
    EXPECT_EQ(all[1].ev, ev);
}

TEST(delivery_group, all_ok_is_completed_without_error) {
    memory_log log;
    delivery_group g(test::make_event(1, 5), 2, 1, log);
    g.started();
    g.finished(true, "");
    g.started();
    g.finished(true, "ignored when ok");
    auto all = log.all();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[1].status, event_status::completed);
    EXPECT_EQ(all[1].error, "");
    EXPECT_EQ(all[1].retry_count, 0);
}

// Many groups, each finished by many threads released together: exactly one processing and one
// final transition per group; failed with one of the reported errors when any failed.
TEST(delivery_group, many_threads_record_once) {
    constexpr int threads = 8, groups = 300;
    memory_log log;
    std::vector<std::shared_ptr<delivery_group>> gs;
    for (int i = 0; i < groups; ++i) {
        gs.push_back(std::make_shared<delivery_group>(test::make_event(i + 1, 5), threads, 1, log));
    }
    std::barrier sync(threads);
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&, t] {
            for (int i = 0; i < groups; ++i) {
                sync.arrive_and_wait();
                gs[static_cast<std::size_t>(i)]->started();
                // Group i fails in threads t where (i + t) % 3 == 0 when i is odd.
                bool ok = i % 2 == 0 || (i + t) % 3 != 0;
                gs[static_cast<std::size_t>(i)]->finished(ok,
                                                          "error from thread " + std::to_string(t));
            }
        });
    }
    for (auto& t : ts) t.join();
    auto by_event = log.by_event();
    ASSERT_EQ(by_event.size(), static_cast<std::size_t>(groups));
    for (auto& [id, rs] : by_event) {
        int i = static_cast<int>(id) - 1;
        int processing = 0, finals = 0;
        for (auto& r : rs) {
            if (r.status == event_status::processing) ++processing;
            if (test::is_final(r.status)) ++finals;
        }
        EXPECT_EQ(processing, 1) << "event " << id;
        ASSERT_EQ(finals, 1) << "event " << id;
        const auto& fin = rs.back();
        ASSERT_TRUE(test::is_final(fin.status)) << "final recorded before processing, event " << id;
        if (i % 2 == 0) {
            EXPECT_EQ(fin.status, event_status::completed);
            EXPECT_EQ(fin.error, "");
        } else {
            EXPECT_EQ(fin.status, event_status::failed);
            std::set<std::string> allowed;
            for (int t = 0; t < threads; ++t) {
                if ((i + t) % 3 == 0) allowed.insert("error from thread " + std::to_string(t));
            }
            EXPECT_TRUE(allowed.count(fin.error)) << "event " << id << " error " << fin.error;
        }
    }
}

}  // namespace
}  // namespace pubsub
