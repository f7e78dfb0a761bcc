// Bulk retry and cancel by filter (storage/event_bulk.h) against real PostgreSQL: exactly the
// matching events change (the rest of the table is compared row by row), a dry run changes
// nothing, the work runs in batches of the given size, globs follow the filter language's syntax
// with LIKE's metacharacters taken literally, bad input gets a specific error, and every change
// (bulk or single) leaves an audit entry, read over a second connection.
#include <gtest/gtest.h>

#include <map>

#include "storage/audit_log.h"
#include "storage/event_actions.h"
#include "storage/event_bulk.h"
#include "storage/event_chunks.h"
#include "tests/support/pg_test_env.h"

namespace pubsub {
namespace {

class event_bulk : public test::pg_schema_test {
  protected:
    void SetUp() override {
        test::pg_schema_test::SetUp();
        if (HasFatalFailure()) return;
        // 3,000 events: status by i % 5, type by i % 3, source by i % 2, one minute apart.
        exec("INSERT INTO " + schema() +
             ".tpubsub_events (event_id, event_type, event_source, status, created_at, "
             "completed_at) SELECT i, (ARRAY['sales_order', 'sales%_x', 'other'])[i % 3 + 1], "
             "CASE WHEN i % 2 = 0 THEN 'shop:' || i ELSE 'crm:' || i END, "
             "(ARRAY['pending', 'processing', 'completed', 'failed', 'cancelled'])[i % 5 + 1], "
             "timestamptz '2026-01-01 00:00:00Z' + i * interval '1 minute', "
             "CASE WHEN i % 5 >= 2 THEN now() END FROM generate_series(1, 3000) AS i");
        // Every failed event has a dead and a completed delivery; open ones a retrying one.
        exec("INSERT INTO " + schema() +
             ".tpubsub_deliveries (event_id, subscriber_id, status, attempts) SELECT event_id, "
             "s, CASE WHEN status = 'failed' THEN (ARRAY['dead', 'completed'])[s] ELSE "
             "'retrying' END, 2 FROM " +
             schema() +
             ".tpubsub_events, generate_series(1, 2) AS s WHERE status IN ('failed', "
             "'pending', 'processing')");
        auto second = pg::connection::open(dsn());
        ASSERT_TRUE(second.ok()) << second.message();
        witness_.emplace(std::move(*second));
    }

    void exec(const std::string& sql) {
        auto r = conn().exec(sql);
        ASSERT_TRUE(r.ok()) << r.message();
    }

    // event_id -> status, read over the second connection.
    std::map<event_id, std::string> statuses() {
        std::map<event_id, std::string> out;
        auto r = witness_->query("SELECT event_id, status FROM " + schema() + ".tpubsub_events");
        EXPECT_TRUE(r.ok()) << r.message();
        if (!r.ok()) return out;
        for (int i = 0; i < r->rows(); ++i) out[r->get_int(i, 0)] = std::string(r->get(i, 1));
        return out;
    }

    std::int64_t count(const std::string& sql) {
        auto r = witness_->query(sql);
        EXPECT_TRUE(r.ok()) << r.message();
        return r.ok() ? r->get_int(0, 0) : -1;
    }

    result<bulk_outcome> run(bulk_action a, const bulk_selection& s, bool dry_run = false,
                             int batch = 1000) {
        bulk_options o;
        o.dry_run = dry_run;
        o.batch_size = batch;
        o.actor = "tester";
        return run_bulk(conn(), schema(), a, s, o);
    }

    std::optional<pg::connection> witness_;
};

TEST_F(event_bulk, retry_changes_exactly_the_matching_events_in_batches) {
    auto before = statuses();
    bulk_selection s;
    s.type_glob = "sales_*";  // sales_order only: `_` is literal, not LIKE's any character
    s.statuses = {"failed"};
    auto dry = run(bulk_action::retry, s, true);
    ASSERT_TRUE(dry.ok()) << dry.message();
    EXPECT_EQ(statuses(), before) << "a dry run changes nothing";
    EXPECT_EQ(count("SELECT count(*) FROM " + schema() + ".tpubsub_audit"), 0);

    auto out = run(bulk_action::retry, s, false, 70);
    ASSERT_TRUE(out.ok()) << out.message();
    auto after = statuses();
    std::int64_t expected = 0;
    for (const auto& [id, st] : before) {
        bool match = id % 3 == 0 && st == "failed";
        expected += match;
        EXPECT_EQ(after[id], match ? "pending" : st) << "event " << id;
    }
    EXPECT_EQ(expected, 200);
    EXPECT_EQ(dry->events, expected);
    EXPECT_EQ(out->events, expected);
    EXPECT_EQ(out->batches, 3) << "200 events in batches of 70";
    // The rows' own witness: each changed row carries the id of the transaction that wrote it.
    auto tx = witness_->query(
        "SELECT count(*), max(n) FROM (SELECT xmin::text, count(*) AS n FROM " + schema() +
        ".tpubsub_events WHERE status = 'pending' AND "
        "event_id % 3 = 0 AND event_id % 5 = 3 GROUP BY 1) t");
    ASSERT_TRUE(tx.ok()) << tx.message();
    EXPECT_EQ(tx->get_int(0, 0), 3) << "three transactions";
    EXPECT_EQ(tx->get_int(0, 1), 70) << "none wrote more than a batch";
    EXPECT_EQ(out->deliveries, expected) << "the dead delivery of each; the completed is kept";
    EXPECT_EQ(count("SELECT count(*) FROM " + schema() +
                    ".tpubsub_deliveries WHERE status = 'pending' AND retry_base = 2"),
              expected);
    // One audit entry for the whole change, counting every batch.
    auto audit = recent_audit(*witness_, schema(), 10);
    ASSERT_TRUE(audit.ok()) << audit.message();
    ASSERT_EQ(audit->size(), 1u);
    EXPECT_EQ((*audit)[0].entry.actor, "tester");
    EXPECT_EQ((*audit)[0].entry.action, "events.retry");
    EXPECT_EQ((*audit)[0].entry.rows, expected);
    EXPECT_EQ((*audit)[0].entry.target, R"({"status":["failed"],"type":"sales_*"})");
}

// With the events summarised as chunks, a time range starts from the chunks' ids (the first
// chunk that ends at or after `since`); the same events change and the dry run counts them.
TEST_F(event_bulk, a_time_range_over_summarised_events_starts_at_its_chunks) {
    ASSERT_TRUE(summarize_events(conn(), schema(), 1, 2500).ok());  // 2501.. the tail
    const auto before = statuses();
    auto retried = [](const std::string& st) { return st == "failed" || st == "cancelled"; };
    // In the tail first, then from a chunk's middle.
    for (const auto& [since, from] : {std::pair("2026-01-02T20:00:00Z", event_id(2640)),
                                      std::pair("2026-01-01T10:00:00Z", event_id(600))}) {
        bulk_selection s;
        s.since = since;
        std::int64_t expected = 0;
        for (const auto& [id, st] : statuses()) expected += id >= from && retried(st);
        auto dry = run(bulk_action::retry, s, true);
        ASSERT_TRUE(dry.ok()) << dry.message();
        EXPECT_EQ(dry->events, expected) << since;
        auto out = run(bulk_action::retry, s);
        ASSERT_TRUE(out.ok()) << out.message();
        EXPECT_EQ(out->events, expected) << since;
        EXPECT_GT(expected, 0);
    }
    auto after = statuses();
    for (const auto& [id, st] : before) {
        EXPECT_EQ(after[id], id >= 600 && retried(st) ? "pending" : st) << "event " << id;
    }
}

TEST_F(event_bulk, a_dry_run_counts_each_status_up_to_its_limit_and_ends_at_the_chunks_of_until) {
    ASSERT_TRUE(summarize_events(conn(), schema(), 1, 2500).ok());  // 2501.. the tail
    auto retried = [](const std::string& st) { return st == "failed" || st == "cancelled"; };
    // Before a chunk's time (ids below 600), and in the tail's (ids below 2820).
    for (const auto& [until, below] : {std::pair("2026-01-01T10:00:00Z", event_id(600)),
                                       std::pair("2026-01-02T23:00:00Z", event_id(2820))}) {
        bulk_selection s;
        s.until = until;
        std::int64_t expected = 0;
        for (const auto& [id, st] : statuses()) expected += id < below && retried(st);
        bulk_options o;
        o.dry_run = true;
        for (std::int64_t limit : {std::int64_t(0), std::int64_t(10'000), expected}) {
            o.count_limit = limit;
            auto all = run_bulk(conn(), schema(), bulk_action::retry, s, o);
            ASSERT_TRUE(all.ok()) << all.message();
            EXPECT_EQ(all->events, expected) << until << " limit " << limit;
            EXPECT_FALSE(all->more) << until << " limit " << limit;
        }
        o.count_limit = expected - 1;  // failed and cancelled together pass it
        auto capped = run_bulk(conn(), schema(), bulk_action::retry, s, o);
        ASSERT_TRUE(capped.ok()) << capped.message();
        EXPECT_EQ(capped->events, expected - 1) << until;
        EXPECT_TRUE(capped->more) << until;
        EXPECT_GT(expected, 100);
    }
}

TEST_F(event_bulk, cancel_by_source_and_time_range) {
    auto before = statuses();
    bulk_selection s;
    s.source_glob = "shop:*";
    s.since = "2026-01-01T10:00:00Z";  // i >= 600
    s.until = "2026-01-01T20:00:00Z";  // i < 1200
    auto out = run(bulk_action::cancel, s);
    ASSERT_TRUE(out.ok()) << out.message();
    auto after = statuses();
    std::int64_t expected = 0;
    for (const auto& [id, st] : before) {
        bool match =
            id % 2 == 0 && id >= 600 && id < 1200 && (st == "pending" || st == "processing");
        expected += match;
        EXPECT_EQ(after[id], match ? "cancelled" : st) << "event " << id;
    }
    EXPECT_EQ(out->events, expected);
    EXPECT_EQ(out->batches, 1);
    EXPECT_EQ(out->deliveries, 2 * expected);
}

TEST_F(event_bulk, globs_take_like_metacharacters_literally) {
    bulk_selection s;
    s.type_glob = "sales%?x";  // only "sales%_x": % literal, ? one character
    auto n = run(bulk_action::retry, s, true);
    ASSERT_TRUE(n.ok()) << n.message();
    EXPECT_EQ(n->events, count("SELECT count(*) FROM " + schema() +
                               ".tpubsub_events WHERE event_type = 'sales%_x' AND status IN "
                               "('failed', 'cancelled')"));
    EXPECT_GT(n->events, 0);
    s.type_glob = "sales%\\*";  // an escaped star is a literal star: nothing matches
    n = run(bulk_action::retry, s, true);
    ASSERT_TRUE(n.ok()) << n.message();
    EXPECT_EQ(n->events, 0);
    auto like = glob_to_like("a\\*b*c?%_\\\\", "type");
    ASSERT_TRUE(like.ok());
    EXPECT_EQ(*like, "a*b%c_\\%\\_\\\\");
}

TEST_F(event_bulk, ids_restrict_the_filter) {
    bulk_selection s;
    s.ids = {3, 4, 8, 9, 10};  // failed: 3, 8; cancelled: 4, 9; completed: none of these
    auto out = run(bulk_action::retry, s);
    ASSERT_TRUE(out.ok()) << out.message();
    EXPECT_EQ(out->events, 4);
    auto after = statuses();
    for (event_id id : {3, 4, 8, 9}) EXPECT_EQ(after[id], "pending");
    EXPECT_EQ(after[10], "pending") << "10 % 5 == 0: it was pending and stays so";
}

TEST_F(event_bulk, bad_input_gets_a_specific_error) {
    auto error = [&](bulk_action a, bulk_selection s) {
        auto r = run(a, s, true);
        return r.ok() ? std::string("(ok)") : r.message();
    };
    EXPECT_NE(error(bulk_action::retry, {}).find("empty filter"), std::string::npos);
    bulk_selection s;
    s.statuses = {"done"};
    EXPECT_NE(error(bulk_action::retry, s).find("unknown status \"done\""), std::string::npos);
    s.statuses = {"pending"};
    EXPECT_NE(error(bulk_action::retry, s).find("only to failed or cancelled"), std::string::npos);
    s.statuses = {"completed"};
    EXPECT_NE(error(bulk_action::cancel, s).find("only to pending or processing"),
              std::string::npos);
    s = {};
    s.type_glob = "";
    EXPECT_NE(error(bulk_action::retry, s).find("type: empty glob"), std::string::npos);
    s.type_glob = "a\tb";
    EXPECT_NE(error(bulk_action::retry, s).find("type: control character"), std::string::npos);
    s = {};
    s.source_glob = "\xff";
    EXPECT_NE(error(bulk_action::retry, s).find("source: glob is not valid UTF-8"),
              std::string::npos);
    for (const char* bad : {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "ab\xe2\x82"}) {
        s.source_glob = bad;
        EXPECT_NE(error(bulk_action::retry, s).find("not valid UTF-8"), std::string::npos);
    }
    s.source_glob = "caf\xc3\xa9 \xf0\x9f\x93\xa6";  // café and a 4-byte character: fine
    EXPECT_EQ(error(bulk_action::retry, s), "(ok)");
    s = {};
    s.since = "last tuesday-ish";
    EXPECT_NE(error(bulk_action::retry, s).find("since: not a timestamp"), std::string::npos);
}

TEST_F(event_bulk, single_actions_are_audited_in_their_transaction) {
    auto r = retry_event(conn(), schema(), 3, "alice");
    ASSERT_TRUE(r.ok()) << r.message();
    ASSERT_EQ(r->what, event_action_outcome::kind::done) << r->message;
    auto c = cancel_event(conn(), schema(), 5, "http 127.0.0.1:4242");
    ASSERT_TRUE(c.ok()) << c.message();
    ASSERT_EQ(c->what, event_action_outcome::kind::done) << c->message;
    auto refused = cancel_event(conn(), schema(), 7, "alice");  // completed: not applicable
    ASSERT_TRUE(refused.ok());
    EXPECT_EQ(refused->what, event_action_outcome::kind::not_applicable);
    auto audit = recent_audit(*witness_, schema(), 10);
    ASSERT_TRUE(audit.ok()) << audit.message();
    ASSERT_EQ(audit->size(), 2u) << "nothing for the refused cancel";
    EXPECT_EQ((*audit)[0].entry.actor, "http 127.0.0.1:4242");
    EXPECT_EQ((*audit)[0].entry.action, "events.cancel");
    EXPECT_EQ((*audit)[0].entry.target, "5");
    EXPECT_EQ((*audit)[1].entry.actor, "alice");
    EXPECT_EQ((*audit)[1].entry.action, "events.retry");
    EXPECT_EQ((*audit)[1].entry.rows, 1);
}

}  // namespace
}  // namespace pubsub
