// The write-behind's chunk rows (storage/event_chunks.h) against real PostgreSQL: every row a
// batch writes for the first time lies inside a chunk committed with it (its id range, its
// created_at range, its type's and source's bits in the filter), on the direct path, on the
// idempotent path taken after a failed write, and for rows created by SQL and claimed. The
// witness is the tables read over the test's own connection.
#include <gtest/gtest.h>

#include <thread>

#include "router/delivery.h"
#include "storage/event_chunks.h"
#include "storage/event_store.h"
#include "storage/write_behind.h"
#include "tests/storage/write_behind_helpers.h"
#include "tests/support/pg_test_env.h"

namespace pubsub {
namespace {

// Rows, and how many of them a chunk covers.
using counts = std::pair<std::int64_t, std::int64_t>;

using test::hang_guard;

std::shared_ptr<event> new_event(event_id id, const std::string& type) {
    auto ev = std::make_shared<event>();
    ev->id = id;
    ev->type = type;
    ev->source = "src:" + type;
    ev->data_json = "{}";
    ev->created_us = now_us();
    return ev;
}

using test::make_t;

class write_behind_chunks_test : public test::pg_schema_test {
  protected:
    write_behind_options options() {
        write_behind_options o;
        o.dsn = dsn();
        o.schema = schema();
        o.reconnect_min = std::chrono::milliseconds(5);
        o.reconnect_max = std::chrono::milliseconds(50);
        return o;
    }
    // Rows of `type` in the events table, and how many of them lie inside a chunk whose ranges
    // hold them and whose filter has the bits of their type and source.
    counts covered(const std::string& type) {
        std::string bits;
        for (int b : bloom_bits_exact(chunk_field::type, type)) {
            bits += " AND get_bit(c.values_bloom, " + std::to_string(b) + ") = 1";
        }
        for (int b : bloom_bits_exact(chunk_field::source, "src:" + type)) {
            bits += " AND get_bit(c.values_bloom, " + std::to_string(b) + ") = 1";
        }
        const std::string s = schema();
        const std::string where =
            " FROM " + s + ".tpubsub_events e WHERE e.event_type = '" + type + "'";
        return {count("SELECT count(*)" + where),
                count("SELECT count(*)" + where + " AND EXISTS (SELECT 1 FROM " + s +
                      ".tpubsub_event_chunks c WHERE e.event_id BETWEEN c.first_id AND "
                      "c.last_id AND e.created_at BETWEEN c.min_created AND c.max_created" +
                      bits + ")")};
    }
    std::int64_t chunks() {
        return count("SELECT count(*) FROM " + schema() + ".tpubsub_event_chunks");
    }
};

TEST_F(write_behind_chunks_test, new_rows_lie_in_chunks_committed_with_them) {
    write_behind wb(options());
    ASSERT_TRUE(wb.start().ok());
    test::ack_counter a;
    for (event_id id = 1; id <= 700; ++id) {
        wb.record(make_t(new_event(id, id % 2 ? "odd.one" : "even.one"), event_status::pending,
                         seq_pending, a.make()));
    }
    ASSERT_TRUE(a.wait_ok(700));
    wb.stop(std::chrono::steady_clock::now() + std::chrono::seconds(30));
    EXPECT_EQ(covered("odd.one"), counts(350, 350));
    EXPECT_EQ(covered("even.one"), counts(350, 350));
    // At most 256 events per chunk, and each event summarised once.
    EXPECT_EQ(count("SELECT sum(n_events) FROM " + schema() + ".tpubsub_event_chunks"), 700);
    EXPECT_EQ(count("SELECT max(n_events) FROM " + schema() + ".tpubsub_event_chunks"),
              std::int64_t{chunk_max_events});
}

// A chunk of too many distinct values (a file path as each event's source) gets no filter: a
// NULL that readers always read. Its ranges still cover its rows.
TEST_F(write_behind_chunks_test, rows_of_many_values_lie_in_a_chunk_without_filter) {
    write_behind_options o = options();
    o.linger = std::chrono::seconds(1);  // one batch: the rows are recorded well within it
    o.connections = 1;                   // all 256 in that batch
    write_behind wb(o);
    ASSERT_TRUE(wb.start().ok());
    test::ack_counter a;
    for (event_id id = 1; id <= 256; ++id) {
        auto ev = new_event(id, "many.values");
        ev->source = "/data/in/file-" + std::to_string(id * 7919) + ".csv";
        wb.record(make_t(ev, event_status::pending, seq_pending, a.make()));
    }
    ASSERT_TRUE(a.wait_ok(256));
    wb.stop(std::chrono::steady_clock::now() + std::chrono::seconds(30));
    const std::string s = schema();
    EXPECT_EQ(
        count("SELECT count(*) FROM " + s + ".tpubsub_event_chunks WHERE values_bloom IS NULL"), 1);
    EXPECT_EQ(
        count("SELECT count(*) FROM " + s + ".tpubsub_events e WHERE EXISTS (SELECT 1 FROM " + s +
              ".tpubsub_event_chunks c WHERE e.event_id BETWEEN c.first_id AND c.last_id "
              "AND e.created_at BETWEEN c.min_created AND c.max_created)"),
        256);
}

// A write that fails (a trigger refusing with a transient error) puts the writer on its
// idempotent path (staging table and merge); the chunks come with the rows there too.
TEST_F(write_behind_chunks_test, rows_written_after_a_failure_lie_in_chunks) {
    const std::string s = schema();
    ASSERT_TRUE(conn()
                    .exec("CREATE TABLE " + s + ".read_only (x int); INSERT INTO " + s +
                          ".read_only VALUES (1); CREATE FUNCTION " + s +
                          ".ro() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF EXISTS (SELECT "
                          "1 FROM " +
                          s +
                          ".read_only) THEN RAISE EXCEPTION 'read-only' USING "
                          "ERRCODE = '25006'; END IF; RETURN NEW; END $$; CREATE TRIGGER ro "
                          "BEFORE INSERT ON " +
                          s +
                          ".tpubsub_events FOR EACH ROW EXECUTE "
                          "FUNCTION " +
                          s + ".ro()")
                    .ok());
    write_behind wb(options());
    ASSERT_TRUE(wb.start().ok());
    test::ack_counter a;
    for (event_id id = 1; id <= 300; ++id) {
        wb.record(
            make_t(new_event(id, "after.failure"), event_status::pending, seq_pending, a.make()));
    }
    auto end = std::chrono::steady_clock::now() + hang_guard;
    while (wb.stats().failures == 0 && std::chrono::steady_clock::now() < end) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_GT(wb.stats().failures, 0u);
    EXPECT_EQ(chunks(), 0);
    ASSERT_TRUE(conn().exec("DELETE FROM " + s + ".read_only").ok());
    ASSERT_TRUE(a.wait_ok(300));
    wb.stop(std::chrono::steady_clock::now() + std::chrono::seconds(30));
    EXPECT_EQ(covered("after.failure"), counts(300, 300));
}

// Rows created by SQL (no writer summarised them) get their chunk with their first write after
// the claim, and only with that one.
TEST_F(write_behind_chunks_test, rows_created_by_sql_lie_in_chunks_after_their_first_write) {
    ASSERT_TRUE(conn()
                    .exec("INSERT INTO " + schema() +
                          ".tpubsub_events (event_type, event_source, created_at) SELECT "
                          "'by.sql', 'src:by.sql', now() - make_interval(secs => k) FROM "
                          "generate_series(1, 20) k")
                    .ok());
    ASSERT_TRUE(prepare_claims(conn(), schema()).ok());
    auto claim = claim_open_events(conn(), options().node_id, 100, 1, claim_kind::unclaimed);
    ASSERT_TRUE(claim.ok()) << claim.message();
    const std::vector<event_ptr>& claimed = claim->events;
    ASSERT_EQ(claimed.size(), 20u);
    EXPECT_EQ(covered("by.sql").second, 0);
    write_behind wb(options());
    ASSERT_TRUE(wb.start().ok());
    test::ack_counter a;
    for (const auto& ev : claimed) {
        wb.record(make_t(ev, event_status::processing, seq_processing, a.make()));
    }
    ASSERT_TRUE(a.wait_ok(20));
    EXPECT_EQ(covered("by.sql"), counts(20, 20));
    const std::int64_t after_first = chunks();
    for (const auto& ev : claimed) {
        wb.record(make_t(ev, event_status::completed, seq_final, a.make()));
    }
    ASSERT_TRUE(a.wait_ok(40));
    wb.stop(std::chrono::steady_clock::now() + std::chrono::seconds(30));
    EXPECT_EQ(chunks(), after_first);
    EXPECT_EQ(count("SELECT count(*) FROM " + schema() +
                    ".tpubsub_events WHERE event_type = 'by.sql' AND status = 'completed'"),
              20);
}

}  // namespace
}  // namespace pubsub
