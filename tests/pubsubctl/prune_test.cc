// pubsubctl events prune against a real PostgreSQL: the dry run counts without deleting, the
// prune removes the expired finished events with their deliveries and prints the count, --status
// narrows it, and each run leaves an audit entry with the OS user.
#include <gtest/gtest.h>

#include "storage/audit_log.h"
#include "tests/pubsubctl/run_ctl.h"

namespace pubsub::test {
namespace {

class prune_test : public ctl_test {
  protected:
    void SetUp() override {
        ctl_test::SetUp();
        // 1, 2: completed 3 h and 10 min ago; 3: failed 3 h ago; 4: pending; deliveries of 1..4.
        ASSERT_TRUE(conn()
                        .exec("INSERT INTO " + schema() +
                              ".tpubsub_events (event_id, event_type, status, completed_at) "
                              "VALUES (1, 't', 'completed', now() - interval '3 hours'), "
                              "(2, 't', 'completed', now() - interval '10 minutes'), "
                              "(3, 't', 'failed', now() - interval '3 hours'), "
                              "(4, 't', 'pending', NULL); INSERT INTO " +
                              schema() +
                              ".tpubsub_deliveries (event_id, subscriber_id, status) "
                              "SELECT id, 1, 'dead' FROM generate_series(1, 4) id; UPDATE " +
                              schema() +
                              ".tpubsub_events SET created_at = completed_at WHERE completed_at "
                              "IS NOT NULL")
                        .ok());
    }
    std::string ids(const char* table) {
        auto r = conn().query(
            "SELECT coalesce(string_agg(event_id::text, ',' ORDER BY event_id), "
            "'') FROM " +
            schema() + "." + table);
        return r.ok() ? std::string(r->get(0, 0)) : r.message();
    }
};

TEST_F(prune_test, DryRunCountsThenPruneRemovesWithDeliveriesAndAudits) {
    auto dry = ctl({"events", "prune", "--older-than", "1h", "--dry-run"});
    ASSERT_EQ(dry.code, 0) << dry.err;
    EXPECT_EQ(dry.out, "would remove 2 events\n");
    EXPECT_EQ(ids("tpubsub_events"), "1,2,3,4");

    auto one = ctl({"events", "prune", "--older-than", "1h", "--status", "failed"});
    ASSERT_EQ(one.code, 0) << one.err;
    EXPECT_EQ(one.out, "removed 1 events\n");
    EXPECT_EQ(ids("tpubsub_events"), "1,2,4");

    auto all = ctl({"events", "prune", "--older-than", "5m"});
    ASSERT_EQ(all.code, 0) << all.err;
    EXPECT_EQ(all.out, "removed 2 events\n");
    EXPECT_EQ(ids("tpubsub_events"), "4");
    EXPECT_EQ(ids("tpubsub_deliveries"), "4");

    auto audit = recent_audit(conn(), schema(), 10);
    ASSERT_TRUE(audit.ok()) << audit.message();
    ASSERT_EQ(audit->size(), 3u);
    EXPECT_EQ((*audit)[0].entry.action, "events.prune");
    EXPECT_EQ((*audit)[0].entry.actor, os_user_actor());
    EXPECT_EQ((*audit)[0].entry.rows, 2);
    EXPECT_EQ((*audit)[0].entry.target, R"({"older_than":"5m"})");
    EXPECT_EQ((*audit)[1].entry.target, R"({"older_than":"1h","status":"failed"})");
    EXPECT_EQ((*audit)[2].entry.rows, 0);  // the dry run
}

TEST_F(prune_test, BadArgumentsAreRefused) {
    EXPECT_NE(ctl({"events", "prune", "--older-than", "soon"}).code, 0);
    EXPECT_NE(ctl({"events", "prune", "--older-than", "1h", "--status", "pending"}).code, 0);
    EXPECT_NE(ctl({"events", "prune"}).code, 0);
    EXPECT_EQ(ids("tpubsub_events"), "1,2,3,4");
}

}  // namespace
}  // namespace pubsub::test
