// idempotency_keys: the key claim of a write-behind batch against real PostgreSQL. New keys take
// the plain INSERT; a batch meeting a taken key goes back to its savepoint and upserts: the taken
// key's row learns the holder, the others are claimed all the same, an expired key is taken
// over, and the batch's transaction stays usable. Also what migration 018 leaves behind.
#include "storage/idempotency_keys.h"

#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

#include "storage/migrations.h"
#include "tests/support/pg_test_env.h"

namespace pubsub {
namespace {

using std::chrono::seconds;

pending_row keyed_row(event_id id, std::string key) {
    auto ev = std::make_shared<event>();
    ev->id = id;
    ev->type = "t";
    ev->idempotency_key = std::move(key);
    pending_row row;
    row.ev = std::move(ev);
    row.has_pending = true;
    row.seq = 1;
    return row;
}

class key_claim_test : public test::pg_schema_test {
  protected:
    std::string table() { return schema() + ".tpubsub_idempotency_keys"; }
    // The holder of key on a second connection (committed state only); 0 when none.
    event_id holder(const std::string& key) {
        auto other = pg::connection::open(dsn());
        if (!other.ok()) return -1;
        auto r =
            other->query("SELECT event_id FROM " + table() + " WHERE idempotency_key = $1", {key});
        if (!r.ok() || r->rows() == 0) return 0;
        return r->get_int(0, 0);
    }
    status claim(std::vector<pending_row>& rows, seconds window = seconds(86400)) {
        if (status s = conn().exec("BEGIN"); !s.ok()) return s;
        if (status s = claim_keys(conn(), key_claim_sql(schema()), rows, window); !s.ok()) {
            (void)conn().exec("ROLLBACK");
            return s;
        }
        // The transaction must still take statements after the claim (a conflict included).
        if (status s = conn().exec("SELECT 1"); !s.ok()) return s;
        return conn().exec("COMMIT");
    }
};

TEST_F(key_claim_test, new_keys_are_claimed_by_their_events) {
    std::vector<pending_row> rows;
    for (int i = 1; i <= 50; ++i) rows.push_back(keyed_row(100 + i, "k-" + std::to_string(i)));
    ASSERT_TRUE(claim(rows).ok());
    for (const auto& row : rows) EXPECT_EQ(row.duplicate_of, 0) << row.ev->idempotency_key;
    EXPECT_EQ(holder("k-1"), 101);
    EXPECT_EQ(holder("k-50"), 150);
}

TEST_F(key_claim_test, a_taken_key_answers_its_holder_and_the_others_are_still_claimed) {
    ASSERT_TRUE(
        conn()
            .exec("INSERT INTO " + table() + " (idempotency_key, event_id) VALUES ('taken', 7)")
            .ok());
    std::vector<pending_row> rows;
    rows.push_back(keyed_row(201, "a-new"));
    rows.push_back(keyed_row(202, "taken"));
    rows.push_back(keyed_row(203, "z-new"));
    rows.push_back(keyed_row(204, ""));  // no key: left alone
    ASSERT_TRUE(claim(rows).ok()) << conn().last_server_error();
    EXPECT_EQ(rows[0].duplicate_of, 0);
    EXPECT_EQ(rows[1].duplicate_of, 7);
    EXPECT_EQ(rows[2].duplicate_of, 0);
    EXPECT_EQ(rows[3].duplicate_of, 0);
    EXPECT_EQ(holder("a-new"), 201);
    EXPECT_EQ(holder("taken"), 7);
    EXPECT_EQ(holder("z-new"), 203);
}

TEST_F(key_claim_test, a_key_older_than_the_window_is_taken_over) {
    ASSERT_TRUE(conn()
                    .exec("INSERT INTO " + table() +
                          " (idempotency_key, event_id, created_at) VALUES "
                          "('old', 7, now() - interval '2 hours'), ('young', 8, now())")
                    .ok());
    std::vector<pending_row> rows;
    rows.push_back(keyed_row(301, "old"));
    rows.push_back(keyed_row(302, "young"));
    ASSERT_TRUE(claim(rows, seconds(3600)).ok());
    EXPECT_EQ(rows[0].duplicate_of, 0);
    EXPECT_EQ(rows[1].duplicate_of, 8);
    EXPECT_EQ(holder("old"), 301);
}

TEST_F(key_claim_test, one_key_twice_in_a_batch_makes_one_holder) {
    std::vector<pending_row> rows;
    rows.push_back(keyed_row(402, "twice"));
    rows.push_back(keyed_row(401, "twice"));
    ASSERT_TRUE(claim(rows).ok());
    EXPECT_EQ(rows[0].duplicate_of, 401);
    EXPECT_EQ(rows[1].duplicate_of, 0);
    EXPECT_EQ(holder("twice"), 401);
}

TEST_F(key_claim_test, a_holder_on_another_connection_is_waited_for) {
    auto other = pg::connection::open(dsn());
    ASSERT_TRUE(other.ok());
    ASSERT_TRUE(other
                    ->exec("BEGIN; INSERT INTO " + table() +
                           " (idempotency_key, event_id) VALUES ('raced', 9)")
                    .ok());
    std::vector<pending_row> rows;
    rows.push_back(keyed_row(501, "raced"));
    rows.push_back(keyed_row(502, "free"));
    status claimed;
    std::thread t([&] { claimed = claim(rows); });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ASSERT_TRUE(other->exec("COMMIT").ok());
    t.join();
    ASSERT_TRUE(claimed.ok()) << claimed.message();
    EXPECT_EQ(rows[0].duplicate_of, 9);
    EXPECT_EQ(rows[1].duplicate_of, 0);
    EXPECT_EQ(holder("free"), 502);
}

TEST_F(key_claim_test, keys_compare_bytewise_and_age_on_a_brin_index) {
    auto r = conn().query(
        "SELECT c.collname FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation "
        "WHERE a.attrelid = to_regclass($1) AND a.attname = 'idempotency_key'",
        {table()});
    ASSERT_TRUE(r.ok()) << r.message();
    ASSERT_EQ(r->rows(), 1);
    EXPECT_EQ(r->get(0, 0), "C");
    r = conn().query(
        "SELECT string_agg(am.amname || ':' || c.relname, ',' ORDER BY c.relname) FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam "
        "WHERE i.indrelid = to_regclass($1)",
        {table()});
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(r->get(0, 0),
              "brin:tpubsub_idempotency_keys_created_brin,btree:tpubsub_idempotency_keys_pkey");
}

// Migration 018 on a table left as 012 made it (database collation, a btree on created_at) with
// keys in it: every key stays, with its holder and age; run twice, nothing changes.
TEST_F(key_claim_test, migration_018_upgrades_a_table_with_keys_in_it) {
    ASSERT_TRUE(conn()
                    .exec("DROP INDEX " + schema() + ".tpubsub_idempotency_keys_created_brin; " +
                          "ALTER TABLE " + table() +
                          " ALTER COLUMN idempotency_key TYPE text COLLATE \"default\"; " +
                          "CREATE INDEX tpubsub_idempotency_keys_created_idx ON " + table() +
                          " (created_at); INSERT INTO " + table() +
                          " (idempotency_key, event_id, created_at) SELECT 'u-' || i, i, "
                          "now() - make_interval(hours => i) + interval '30 minutes' "
                          "FROM generate_series(1, 1000) i")
                    .ok());
    std::string sql;
    for (const auto& m : embedded_migrations()) {
        if (std::string(m.name).starts_with("018_")) sql = m.sql;
    }
    ASSERT_FALSE(sql.empty());
    for (auto at = sql.find("{{schema}}"); at != std::string::npos; at = sql.find("{{schema}}"))
        sql.replace(at, 10, schema());
    for (int run = 0; run < 2; ++run) {
        ASSERT_TRUE(conn().exec(sql).ok()) << conn().last_server_error();
        auto r = conn().query(
            "SELECT count(*), sum(event_id), "
            "count(*) FILTER (WHERE created_at <= now() - make_interval(hours => "
            "event_id::int) + interval '30 minutes') FROM " +
            table());
        ASSERT_TRUE(r.ok()) << r.message();
        EXPECT_EQ(r->get_int(0, 0), 1000);
        EXPECT_EQ(r->get_int(0, 1), 500500);
        EXPECT_EQ(r->get_int(0, 2), 1000);
    }
    std::vector<pending_row> rows;
    rows.push_back(keyed_row(9001, "u-5"));
    rows.push_back(keyed_row(9002, "u-new"));
    ASSERT_TRUE(claim(rows).ok());
    EXPECT_EQ(rows[0].duplicate_of, 5);
    EXPECT_EQ(rows[1].duplicate_of, 0);
    auto n = delete_expired_keys(conn(), schema(), seconds(500 * 3600), 10000);
    ASSERT_TRUE(n.ok()) << n.message();
    EXPECT_EQ(*n, 500u);  // u-501 .. u-1000
}

}  // namespace
}  // namespace pubsub
