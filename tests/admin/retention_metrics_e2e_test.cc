// The retention pruner's figures in /metrics after a real prune by the real pubsubd: expired
// completed events are written straight into the table, and the witness is the table counted
// over the test's own connection before and after; the removed-events counter must equal the
// difference, with one cycle or more, no error, and a last success between the start and now.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/admin/admin_env.h"

namespace pubsub::test {
namespace {

using namespace std::chrono_literals;
using retention_metrics_e2e = admin_test;

double unix_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

TEST_F(retention_metrics_e2e, CountersFollowARealPrune) {
    const std::string ev = conn().quote_identifier(schema()) + ".tpubsub_events";
    const std::string dv = conn().quote_identifier(schema()) + ".tpubsub_deliveries";
    // 30 completed two hours ago (expired under completed=1h), 2 completed a minute ago.
    ASSERT_TRUE(conn()
                    .exec("INSERT INTO " + ev +
                          " (event_id, event_type, status, completed_at, created_at) "
                          "SELECT id, 't', 'completed', now() - interval '2 hours', "
                          "now() - interval '2 hours' FROM generate_series(1, 30) id; "
                          "INSERT INTO " +
                          ev +
                          " (event_id, event_type, status, completed_at, created_at) "
                          "SELECT id, 't', 'completed', now() - interval '1 minute', "
                          "now() - interval '1 minute' FROM generate_series(31, 32) id; "
                          "INSERT INTO " +
                          dv +
                          " (event_id, subscriber_id, status) SELECT id, 1, 'completed' "
                          "FROM generate_series(1, 32) id")
                    .ok());
    auto count = [&] {
        auto r = conn().query("SELECT count(*) FROM " + ev + " WHERE event_id <= 32");
        return r.ok() ? std::stoll(std::string(r->get(0, 0))) : -1;
    };
    const long long before = count();
    ASSERT_EQ(before, 32);
    const double started = unix_now();
    start_admin({"--retention", "completed=1h"});
    ASSERT_FALSE(HasFatalFailure());

    long long after = before;
    for (auto until = std::chrono::steady_clock::now() + 15s;
         std::chrono::steady_clock::now() < until && after != 2;
         std::this_thread::sleep_for(50ms)) {
        after = count();
    }
    ASSERT_EQ(after, 2) << daemon().log_tail();
    // The counters move when the cycle ends, a moment after its last DELETE committed.
    std::map<std::string, prom_family> m;
    double removed = -1;
    for (auto until = std::chrono::steady_clock::now() + 10s;
         std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(100ms)) {
        m = scrape();
        auto v = prom_value(m, "pubsub_retention_events_removed_total");
        ASSERT_TRUE(v.ok()) << v.message();
        removed = *v;
        if (removed == static_cast<double>(before - after)) break;
    }
    EXPECT_EQ(removed, static_cast<double>(before - after));
    EXPECT_EQ(m.at("pubsub_retention_events_removed_total").type, "counter");
    EXPECT_GE(*prom_value(m, "pubsub_retention_cycles_total"), 1);
    EXPECT_EQ(*prom_value(m, "pubsub_retention_errors_total"), 0);
    const double last = *prom_value(m, "pubsub_retention_last_success_timestamp_seconds");
    EXPECT_GE(last, started - 1);
    EXPECT_LE(last, unix_now() + 1);
    EXPECT_GE(*prom_value(m, "pubsub_retention_last_duration_seconds"), 0);
    EXPECT_EQ(stop_daemon(), std::optional<int>(0)) << daemon().log_tail();
}

}  // namespace
}  // namespace pubsub::test
