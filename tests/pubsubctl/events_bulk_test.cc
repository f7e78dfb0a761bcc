// pubsubctl events retry|cancel by filter and by several ids, with --dry-run, against a real
// PostgreSQL: the count printed, exactly the matching rows changed, the errors for bad input,
// and the audit entries (the OS user as actor) of these and of subscriber changes, read over the
// test's own connection.
#include <gtest/gtest.h>

#include "storage/audit_log.h"
#include "tests/pubsubctl/run_ctl.h"

namespace pubsub::test {
namespace {

class events_bulk_test : public ctl_test {
  protected:
    void SetUp() override {
        ctl_test::SetUp();
        if (HasFatalFailure()) return;
        // 100 events: failed when i % 4 == 0, pending when i % 4 == 1, else completed;
        // type imp_<i % 2>, created one minute apart.
        auto r = conn().exec("INSERT INTO " + schema() +
                             ".tpubsub_events (event_id, event_type, event_source, status, "
                             "created_at) SELECT i, 'imp_' || (i % 2), 'src', CASE i % 4 WHEN 0 "
                             "THEN 'failed' WHEN 1 THEN 'pending' ELSE 'completed' END, "
                             "timestamptz '2026-02-01 00:00:00Z' + i * interval '1 minute' "
                             "FROM generate_series(1, 100) AS i");
        ASSERT_TRUE(r.ok()) << r.message();
    }
    std::int64_t count(const std::string& where) {
        auto r =
            conn().query("SELECT count(*) FROM " + schema() + ".tpubsub_events WHERE " + where);
        EXPECT_TRUE(r.ok()) << r.message();
        return r.ok() ? r->get_int(0, 0) : -1;
    }
    std::vector<audit_record> audit() {
        auto r = recent_audit(conn(), schema(), 100);
        EXPECT_TRUE(r.ok()) << r.message();
        return r.ok() ? *r : std::vector<audit_record>{};
    }
};

TEST_F(events_bulk_test, RetryByFilterPrintsTheCountAndChangesOnlyMatches) {
    // Failed events of type imp_0 (i % 4 == 0 is always even): 25, of which i < 51: 12.
    auto dry = ctl({"events", "retry", "--type", "imp_0", "--status", "failed", "--until",
                    "2026-02-01T00:51:00Z", "--dry-run"});
    EXPECT_EQ(dry.code, 0) << dry.err;
    EXPECT_EQ(dry.out, "12 events would be retried (dry run: nothing changed)\n");
    EXPECT_EQ(count("status = 'failed'"), 25);
    EXPECT_TRUE(audit().empty());

    auto done = ctl({"events", "retry", "--type", "imp_?", "--until", "2026-02-01T00:51:00Z",
                     "--batch-size", "5"});
    EXPECT_EQ(done.code, 0) << done.err;
    EXPECT_EQ(done.out, "12 events retried (0 recorded deliveries re-queued, 3 batches)\n");
    EXPECT_EQ(count("status = 'failed'"), 13);
    EXPECT_EQ(count("status = 'pending' AND event_id % 4 = 0"), 12);
    EXPECT_EQ(count("status = 'pending' AND event_id % 4 = 0 AND event_id >= 51"), 0);

    auto a = audit();
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].entry.actor, os_user_actor());
    EXPECT_EQ(a[0].entry.action, "events.retry");
    EXPECT_EQ(a[0].entry.rows, 12);
    EXPECT_EQ(a[0].entry.target, R"({"type":"imp_?","until":"2026-02-01T00:51:00Z"})");
}

TEST_F(events_bulk_test, CancelSeveralIdsWithJsonOutput) {
    auto out = ctl({"--json", "events", "cancel", "1", "5", "4", "9"});  // 4 is failed
    EXPECT_EQ(out.code, 0) << out.err;
    EXPECT_EQ(out.out,
              "{\"action\":\"cancel\",\"dry_run\":false,\"events\":3,\"deliveries\":0,"
              "\"batches\":1}\n");
    EXPECT_EQ(count("status = 'cancelled'"), 3);
    EXPECT_EQ(count("event_id = 4 AND status = 'failed'"), 1);
    // One id alone keeps the single action's message and its audit entry.
    auto one = ctl({"events", "cancel", "13"});
    EXPECT_EQ(one.code, 0) << one.err;
    EXPECT_EQ(one.out, "event 13 cancelled (it was pending)\n");
    auto a = audit();
    ASSERT_EQ(a.size(), 2u);
    EXPECT_EQ(a[0].entry.target, "13");
    EXPECT_EQ(a[1].entry.target, R"({"ids":[1,5,4,9]})");
    EXPECT_EQ(a[1].entry.rows, 3);
}

TEST_F(events_bulk_test, BadInputIsRefusedWithASpecificError) {
    auto expect_error = [&](std::vector<std::string> args, const std::string& says) {
        auto r = ctl(args);
        EXPECT_EQ(r.code, 1) << says;
        EXPECT_NE(r.err.find(says), std::string::npos) << r.err;
    };
    expect_error({"events", "retry"}, "give event ids or a filter");
    expect_error({"events", "retry", "--type", ""}, "type: empty glob");
    expect_error({"events", "cancel", "--status", "completed"}, "only to pending or processing");
    expect_error({"events", "retry", "--status", "nope"}, "unknown status \"nope\"");
    expect_error({"events", "retry", "--since", "soon"}, "since: not a timestamp");
    expect_error({"events", "retry", "x", "--status", "failed"}, "positive integer");
    EXPECT_EQ(count("status = 'failed'"), 25);
    EXPECT_TRUE(audit().empty());
}

TEST_F(events_bulk_test, SubscriberChangesAreAudited) {
    EXPECT_EQ(
        ctl({"subscribers", "add", "--name", "s1", "--event-type", "t", "--job-type", "noop"}).code,
        0);
    EXPECT_EQ(ctl({"subscribers", "update", "s1", "--max-retries", "4"}).code, 0);
    EXPECT_EQ(ctl({"subscribers", "disable", "s1"}).code, 0);
    EXPECT_EQ(ctl({"subscribers", "enable", "s1"}).code, 0);
    EXPECT_EQ(ctl({"subscribers", "remove", "s1"}).code, 0);
    EXPECT_EQ(ctl({"subscribers", "remove", "s1"}).code, 1);  // changed nothing: no entry
    std::vector<std::string> actions;
    for (const auto& r : audit()) {
        EXPECT_EQ(r.entry.actor, os_user_actor());
        EXPECT_EQ(r.entry.target, "s1");
        actions.push_back(r.entry.action);
    }
    EXPECT_EQ(actions, (std::vector<std::string>{"subscribers.remove", "subscribers.enable",
                                                 "subscribers.disable", "subscribers.update",
                                                 "subscribers.add"}));
}

}  // namespace
}  // namespace pubsub::test
