#include "tests/support/pg_test_env.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include "storage/embedded_pg.h"
#include "storage/migrations.h"

namespace pubsub::test {

result<std::string> pg_dsn() {
    if (const char* dsn = std::getenv("PUBSUB_TEST_DSN"); dsn && *dsn) return std::string(dsn);
    const char* dir = std::getenv("PUBSUB_TEST_PG_DIR");
    if (!dir || !*dir) {
        return status::error(
            "PUBSUB_TEST_PG_DIR is not set: run integration tests through ctest (the pg_start "
            "fixture starts the cluster), or run `pubsub-pg start --data-dir DIR` and set "
            "PUBSUB_TEST_PG_DIR=DIR, or set PUBSUB_TEST_DSN");
    }
    auto dsn = embedded_cluster::find_running(dir);
    if (!dsn) {
        return status::error(std::string("no PostgreSQL cluster is running for "
                                         "PUBSUB_TEST_PG_DIR=") +
                             dir + ": run `pubsub-pg start --data-dir " + dir +
                             "` (ctest does it through the pg_start fixture)");
    }
    return *dsn;
}

result<std::string> create_test_schema(const std::string& dsn) {
    static std::atomic<int> counter{0};  // relaxed: only uniqueness matters
    const std::string schema = "t_" + std::to_string(getpid()) + "_" +
                               std::to_string(counter.fetch_add(1, std::memory_order_relaxed));
    auto conn = pg::connection::open(dsn);
    if (!conn) return conn.error();
    // A schema kept by an earlier run whose pid was the same.
    if (auto st = conn->exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE"); !st.ok()) return st;
    auto applied = apply_migrations(*conn, schema);
    if (!applied) return applied.error();
    return schema;
}

void drop_test_schema(const std::string& dsn, const std::string& schema) {
    if (dsn.empty() || schema.empty() || std::getenv("PUBSUB_KEEP_SCHEMAS")) return;
    auto conn = pg::connection::open(dsn);
    if (!conn) {
        ADD_FAILURE() << "cannot drop schema " << schema << ": " << conn.message();
        return;
    }
    auto st = conn->exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
    EXPECT_TRUE(st.ok()) << "cannot drop schema " << schema << ": " << st.message();
}

void pg_schema_test::SetUp() {
    auto dsn = pg_dsn();
    ASSERT_TRUE(dsn.ok()) << dsn.message();
    dsn_ = *dsn;
    auto schema = create_test_schema(dsn_);
    ASSERT_TRUE(schema.ok()) << schema.message();
    schema_ = *schema;
    auto conn = pg::connection::open(dsn_);
    ASSERT_TRUE(conn.ok()) << conn.message();
    conn_.emplace(std::move(*conn));
}

std::int64_t pg_schema_test::count(const std::string& sql) {
    auto r = conn().query(sql);
    EXPECT_TRUE(r.ok()) << r.message();
    return r.ok() ? r->get_int(0, 0) : -1;
}

void pg_schema_test::TearDown() {
    conn_.reset();
    drop_test_schema(dsn_, schema_);
}

}  // namespace pubsub::test
