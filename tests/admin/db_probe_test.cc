// db_probe against the test database: the oldest pending event's age (processing and finished
// events do not count), 0 on an empty queue, a reading reused for max_age, and the reason when
// the database does not answer.
#include <gtest/gtest.h>

#include "admin/db_probe.h"
#include "tests/support/pg_test_env.h"

namespace pubsub::admin {
namespace {

using namespace std::chrono_literals;
using db_probe_test = test::pg_schema_test;

void insert(pg::connection& c, const std::string& schema, const std::string& status,
            const std::string& age) {
    auto r = c.query("INSERT INTO " + c.quote_identifier(schema) +
                         ".tpubsub_events (event_type, status, created_at) VALUES ('t', $1, "
                         "now() - $2::interval)",
                     {status, age});
    ASSERT_TRUE(r.ok()) << r.message();
}

TEST_F(db_probe_test, OldestPendingAgeCountsOnlyPendingEvents) {
    db_probe empty(dsn(), schema(), 0ms);
    auto r = empty.read();
    ASSERT_TRUE(r.answered) << r.error;
    EXPECT_EQ(r.oldest_pending_age_s, 0.0);

    insert(conn(), schema(), "completed", "2 hours");
    insert(conn(), schema(), "processing", "1 hour");
    insert(conn(), schema(), "pending", "90 seconds");
    insert(conn(), schema(), "pending", "10 seconds");
    db_probe probe(dsn(), schema(), 1h);
    r = probe.read();
    ASSERT_TRUE(r.answered) << r.error;
    ASSERT_TRUE(r.oldest_pending_age_s);
    EXPECT_GE(*r.oldest_pending_age_s, 90);
    EXPECT_LT(*r.oldest_pending_age_s, 150);

    insert(conn(), schema(), "pending", "1 day");  // within max_age the reading is reused
    EXPECT_LT(*probe.read().oldest_pending_age_s, 150);
}

TEST_F(db_probe_test, UnreachableDatabaseGivesTheReason) {
    db_probe probe("host=/nonexistent-pubsub-dir dbname=x", schema(), 0ms);
    auto r = probe.read();
    EXPECT_FALSE(r.answered);
    EXPECT_FALSE(r.oldest_pending_age_s);
    EXPECT_NE(r.error.find("database unreachable"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace pubsub::admin
