// Retention (storage/retention.h, retention_pruner.h): durations and policies, and the prune
// against real PostgreSQL: exactly the finished events older than their status's duration go,
// with their delivery rows; open events, younger ones and the watcher's rows stay; a dry run
// counts without deleting; 0 keeps forever; a cycle takes the schema's lock.
#include "storage/retention.h"

#include <gtest/gtest.h>

#include "storage/retention_pruner.h"
#include "tests/support/pg_test_env.h"

namespace pubsub {
namespace {

using std::chrono::seconds;

TEST(retention_policy, durations_and_defaults) {
    EXPECT_EQ(*parse_duration("30s"), seconds(30));
    EXPECT_EQ(*parse_duration("15m"), seconds(900));
    EXPECT_EQ(*parse_duration("12h"), seconds(43200));
    EXPECT_EQ(*parse_duration("7d"), seconds(604800));
    EXPECT_EQ(*parse_duration("0"), seconds(0));
    for (const char* bad : {"", "7", "d", "-1d", "1w", "1.5h", "7 d", "99999999999d"}) {
        EXPECT_FALSE(parse_duration(bad).ok()) << bad;
    }
    auto p = parse_retention({});
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(describe(*p), "completed=7d cancelled=7d failed=30d");
    p = parse_retention({"failed=0", "completed=90m", "completed=12h"});
    ASSERT_TRUE(p.ok()) << p.message();
    EXPECT_EQ(describe(*p), "completed=12h cancelled=7d failed=0");
    EXPECT_FALSE(parse_retention({"pending=1d"}).ok());
    EXPECT_FALSE(parse_retention({"completed"}).ok());
    EXPECT_FALSE(parse_retention({"completed=soon"}).ok());
}

class retention_test : public test::pg_schema_test {
  protected:
    // Events 1..9: (status, completed so many hours ago), two delivery rows each.
    void SetUp() override {
        test::pg_schema_test::SetUp();
        const std::string s = schema();
        ASSERT_TRUE(conn()
                        .exec("INSERT INTO " + s +
                              ".tpubsub_events (event_id, event_type, status, completed_at) "
                              "SELECT id, 't', st, CASE WHEN h IS NULL THEN NULL ELSE now() - "
                              "make_interval(hours => h) END FROM (VALUES "
                              "(1, 'completed', 10), (2, 'completed', 1), (3, 'failed', 10), "
                              "(4, 'failed', 100), (5, 'cancelled', 10), (6, 'pending', NULL), "
                              "(7, 'processing', NULL), (8, 'completed', 48), "
                              "(9, 'cancelled', 1)) v(id, st, h); "
                              "INSERT INTO " +
                              s +
                              ".tpubsub_deliveries (event_id, subscriber_id, status) SELECT id, "
                              "sub, 'completed' FROM generate_series(1, 9) id, "
                              "generate_series(1, 2) sub; "
                              "INSERT INTO " +
                              s +
                              ".tpubsub_watched_files (path, watch_dir, size, mtime, event_id) "
                              "VALUES ('/w/a', '/w', 1, now(), 1); UPDATE " +
                              s +
                              ".tpubsub_events SET created_at = completed_at - interval '1 "
                              "second' WHERE completed_at IS NOT NULL")
                        .ok());
    }
    std::string ids(const char* table) {
        auto r = conn().query(
            "SELECT coalesce(string_agg(DISTINCT event_id::text, ',' ORDER BY "
            "event_id::text), '') FROM " +
            schema() + "." + table);
        return r.ok() ? std::string(r->get(0, 0)) : r.message();
    }
};

TEST_F(retention_test, prunes_exactly_the_expired_finished_events_with_their_deliveries) {
    // Dry run: counts, removes nothing.
    auto n = count_prunable(conn(), schema(),
                            retention_policy{seconds(5 * 3600), seconds(0), seconds(0)});
    ASSERT_TRUE(n.ok()) << n.message();
    EXPECT_EQ(*n, 2);  // 1 and 8
    EXPECT_EQ(ids("tpubsub_events"), "1,2,3,4,5,6,7,8,9");

    // completed 5h, failed 50h, cancelled 0 (kept forever); batches of one.
    retention_policy p{seconds(5 * 3600), seconds(0), seconds(50 * 3600)};
    auto r = run_prune_cycle(conn(), schema(), p, 1, std::chrono::milliseconds(0), 1'000'000, {});
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_TRUE(r->ran);
    EXPECT_EQ(r->removed, 3);  // 1, 8 (completed), 4 (failed)
    EXPECT_FALSE(r->vacuumed);
    EXPECT_EQ(ids("tpubsub_events"), "2,3,5,6,7,9");
    EXPECT_EQ(ids("tpubsub_deliveries"), "2,3,5,6,7,9");
    EXPECT_EQ(ids("tpubsub_watched_files"), "1");  // the watcher's record outlives the event

    // A second cycle has nothing left; a VACUUM threshold of 0 still vacuums nothing removed.
    r = run_prune_cycle(conn(), schema(), p, 100, std::chrono::milliseconds(0), 0, {});
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(r->removed, 0);

    // Every finished status kept forever: nothing runs at all.
    r = run_prune_cycle(conn(), schema(), retention_policy{seconds(0), seconds(0), seconds(0)}, 100,
                        std::chrono::milliseconds(0), 0, {});
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_FALSE(r->ran);
    EXPECT_EQ(ids("tpubsub_events"), "2,3,5,6,7,9");
}

TEST_F(retention_test, batches_vacuum_and_zero_keeps_forever) {
    auto n = prune_all(conn(), schema(),
                       retention_policy{seconds(0), seconds(3600 / 2), seconds(0)}, 1, {});
    ASSERT_TRUE(n.ok()) << n.message();
    EXPECT_EQ(*n, 2);  // 5 and 9, one per batch
    n = prune_batch(conn(), schema(), retention_policy{seconds(0), seconds(0), seconds(0)}, 10);
    ASSERT_TRUE(n.ok()) << n.message();
    EXPECT_EQ(*n, 0);  // kept forever
    retention_policy p{seconds(3600 / 2), seconds(0), seconds(0)};
    auto r = run_prune_cycle(conn(), schema(), p, 10, std::chrono::milliseconds(0), 1, {});
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(r->removed, 3);  // 1, 2, 8
    EXPECT_TRUE(r->vacuumed);
    EXPECT_EQ(ids("tpubsub_events"), "3,4,6,7");
}

// The pruner looks through the chunks (oldest first) and the tail: a chunk's events wait until
// its newest one is past the shortest duration; overlapping chunks remove each event once; a
// chunk is deleted once its range is empty; ids below the newest chunk that no chunk covers
// are left alone. The witness: the rows left, read with plain SQL.
TEST_F(retention_test, prunes_through_the_chunks_and_the_tail) {
    const std::string s = schema();
    ASSERT_TRUE(conn()
                    .exec("INSERT INTO " + s +
                          ".tpubsub_events (event_id, event_type, status, created_at, "
                          "completed_at) SELECT id, 't', 'completed', now() - interval '48 "
                          "hours', now() - interval '48 hours' FROM unnest('{20,21,30}'::int[]) "
                          "id; INSERT INTO " +
                          s +
                          ".tpubsub_event_chunks SELECT min(event_id), max(event_id), "
                          "min(created_at), max(created_at), count(*), NULL FROM " +
                          s +
                          ".tpubsub_events e JOIN (VALUES (1, 1, 1), (2, 3, 4), (3, 4, 5), (4, 8, "
                          "8), (5, 2, 2), (6, 6, 7), (7, 21, 21)) k(n, lo, hi) ON e.event_id "
                          "BETWEEN k.lo AND k.hi GROUP BY k.n")
                    .ok());
    auto chunks = [&] {
        auto r = conn().query(
            "SELECT string_agg(first_id || '-' || last_id, ',' ORDER BY "
            "first_id) FROM " +
            s + ".tpubsub_event_chunks");
        return r.ok() ? std::string(r->get(0, 0)) : r.message();
    };
    // completed 5h, cancelled kept, failed 50h. Chunk 2-2 (1 h old) is not due, so event 2
    // would wait even if it had expired; 6-7 are open.
    retention_policy p{seconds(5 * 3600), seconds(0), seconds(50 * 3600)};
    auto n = count_prunable(conn(), s, p);
    ASSERT_TRUE(n.ok()) << n.message();
    EXPECT_EQ(*n, 5);  // 1, 8 (completed), 4 (failed), 21 (chunk), 30 (tail)
    auto removed = prune_all(conn(), s, p, 1, {});
    ASSERT_TRUE(removed.ok()) << removed.message();
    EXPECT_EQ(*removed, 5);
    EXPECT_EQ(ids("tpubsub_events"), "2,20,3,5,6,7,9");  // 20: below the newest chunk, in none
    EXPECT_EQ(ids("tpubsub_deliveries"), "2,3,5,6,7,9");
    EXPECT_EQ(chunks(), "2-2,3-4,4-5,6-7");  // 1-1, 8-8 and 21-21 are empty now
    // With the chunks above it gone, 20 is in the tail now: the next pass removes it.
    n = count_prunable(conn(), s, p);
    ASSERT_TRUE(n.ok()) << n.message();
    EXPECT_EQ(*n, 1);
    removed = prune_all(conn(), s, p, 100, {});
    ASSERT_TRUE(removed.ok()) << removed.message();
    EXPECT_EQ(*removed, 1);
    EXPECT_EQ(ids("tpubsub_events"), "2,3,5,6,7,9");
}

TEST_F(retention_test, another_holder_of_the_schema_lock_makes_a_cycle_skip) {
    auto other = pg::connection::open(dsn());
    ASSERT_TRUE(other.ok()) << other.message();
    auto held = other->query("SELECT pg_try_advisory_lock(hashtextextended(" +
                             other->quote_literal("pubsub retention " + schema()) + ", 0))");
    ASSERT_TRUE(held.ok()) << held.message();
    ASSERT_EQ(held->get(0, 0), "t");
    retention_policy p{seconds(1), seconds(1), seconds(1)};
    int firsts = 0;  // the summary of uncovered ranges runs only under the lock
    auto r = run_prune_cycle(conn(), schema(), p, 10, std::chrono::milliseconds(0), 0, {},
                             [&] { ++firsts; });
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_FALSE(r->ran);
    EXPECT_EQ(firsts, 0);
    EXPECT_EQ(ids("tpubsub_events"), "1,2,3,4,5,6,7,8,9");
    ASSERT_TRUE(other->query("SELECT pg_advisory_unlock_all()").ok());
    r = run_prune_cycle(conn(), schema(), p, 10, std::chrono::milliseconds(0), 0, {},
                        [&] { ++firsts; });
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_TRUE(r->ran);
    EXPECT_EQ(firsts, 1);
}

TEST_F(retention_test, the_pruner_service_runs_a_cycle_on_its_own_connection) {
    retention_pruner_options o;
    o.dsn = dsn();
    o.schema = schema();
    o.policy = retention_policy{seconds(5 * 3600), seconds(5 * 3600), seconds(5 * 3600)};
    o.first_delay = std::chrono::milliseconds(0);
    retention_pruner pruner(o);
    ASSERT_TRUE(pruner.start().ok());
    for (int i = 0; i < 500 && pruner.counts().cycles == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pruner.stop_now();
    EXPECT_EQ(pruner.counts().cycles, 1u);
    EXPECT_EQ(pruner.counts().removed, 5u);  // 1, 8, 3, 4, 5
    EXPECT_EQ(ids("tpubsub_events"), "2,6,7,9");
}

}  // namespace
}  // namespace pubsub
