// Event counts by status (storage/status_queries.h) without a scan of the table: exact while the
// table is small; above 100,000 events the finished statuses are estimates from the last ANALYZE
// (listed as such), within the stated contract, and the open statuses stay exact.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "storage/status_queries.h"
#include "tests/support/pg_test_env.h"

namespace pubsub {
namespace {

class status_counts_test : public test::pg_schema_test {
  protected:
    // n events: every 100th failed, every 20th (not failed) cancelled, 7 pending, 3 processing.
    void fill(int n) {
        ASSERT_TRUE(conn()
                        .exec("INSERT INTO " + schema() +
                              ".tpubsub_events (event_type, status) SELECT 't', CASE WHEN k <= 7 "
                              "THEN 'pending' WHEN k <= 10 THEN 'processing' WHEN k % 100 = 0 "
                              "THEN 'failed' WHEN k % 20 = 0 THEN 'cancelled' ELSE 'completed' "
                              "END FROM generate_series(1, " +
                              std::to_string(n) + ") k")
                        .ok());
    }
    struct count {
        std::int64_t events = 0;
        bool estimated = false;
    };
    std::map<std::string, count> counts() {
        std::map<std::string, count> out;
        auto r = events_by_status(conn(), schema());
        EXPECT_TRUE(r.ok()) << r.message();
        if (!r.ok()) return out;
        for (int i = 0; i < r->rows(); ++i) {
            out[std::string(r->get(i, 0))] = {r->get_int(i, 1), r->get(i, 2) == "t"};
        }
        return out;
    }
};

TEST_F(status_counts_test, ExactWhileSmall) {
    fill(1000);
    ASSERT_TRUE(conn().exec("ANALYZE " + schema() + ".tpubsub_events").ok());
    auto c = counts();
    EXPECT_EQ(c["pending"].events, 7);
    EXPECT_EQ(c["processing"].events, 3);
    EXPECT_EQ(c["failed"].events, 10);
    EXPECT_EQ(c["cancelled"].events, 40);
    EXPECT_EQ(c["completed"].events, 1000 - 60);
    for (auto& [s, n] : c) EXPECT_FALSE(n.estimated) << s;
    auto json = status_summary_json(conn(), schema());
    ASSERT_TRUE(json.ok()) << json.message();
    EXPECT_NE(json->find("\"events_estimated\" : []"), std::string::npos) << *json;
    EXPECT_NE(json->find("\"completed\" : 940"), std::string::npos) << *json;
}

TEST_F(status_counts_test, FinishedStatusesEstimatedWhenBigOpenOnesExact) {
    const int n = 150'000;
    fill(n);
    ASSERT_TRUE(conn().exec("ANALYZE " + schema() + ".tpubsub_events").ok());
    auto c = counts();
    EXPECT_EQ(c["pending"].events, 7);
    EXPECT_FALSE(c["pending"].estimated);
    EXPECT_EQ(c["processing"].events, 3);
    // Exact: 1,500 failed, 6,000 cancelled, 142,490 completed. The contract: within 10% of the
    // table's size (the staleness autovacuum allows) plus the sample's error; fresh statistics
    // here, so the sample's error alone (30,000 rows sampled) is well inside 1% of n.
    const std::map<std::string, std::int64_t> exact{
        {"failed", 1500}, {"cancelled", 6000}, {"completed", n - 7500 - 10}};
    for (const auto& [s, want] : exact) {
        EXPECT_TRUE(c[s].estimated) << s;
        EXPECT_LE(std::llabs(c[s].events - want), n / 100) << s << " " << c[s].events;
    }
    auto json = status_summary_json(conn(), schema());
    ASSERT_TRUE(json.ok()) << json.message();
    EXPECT_NE(json->find("\"events_estimated\" : [\"cancelled\", \"completed\", \"failed\"]"),
              std::string::npos)
        << *json;
}

}  // namespace
}  // namespace pubsub
