// apply_migrations against the fixture cluster: fresh, idempotent, concurrent, refused names.
#include <unistd.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "storage/audit_log.h"
#include "storage/migrations.h"
#include "tests/support/pg_test_env.h"

namespace pubsub {
namespace {

// A schema name that no migration has touched yet; dropped by the destructor.
class bare_schema {
  public:
    bare_schema() {
        static std::atomic<int> n{0};  // relaxed: uniqueness only
        name_ = "m_" + std::to_string(getpid()) + "_" + std::to_string(n.fetch_add(1));
        auto dsn = test::pg_dsn();
        if (dsn) dsn_ = *dsn;
    }
    ~bare_schema() { test::drop_test_schema(dsn_, name_); }
    const std::string& name() const { return name_; }
    const std::string& dsn() const { return dsn_; }

  private:
    std::string name_;
    std::string dsn_;
};

pg::connection must_connect(const std::string& dsn) {
    auto conn = pg::connection::open(dsn);
    if (!conn) ADD_FAILURE() << conn.message();
    return std::move(*conn);
}

int recorded_versions(pg::connection& conn, const std::string& schema) {
    auto q = conn.query("SELECT count(*) FROM " + schema + ".tpubsub_migrations");
    EXPECT_TRUE(q.ok()) << q.message();
    return q ? static_cast<int>(q->get_int(0, 0)) : -1;
}

class migrations_test : public ::testing::Test {
  protected:
    void SetUp() override {
        auto dsn = test::pg_dsn();
        ASSERT_TRUE(dsn.ok()) << dsn.message();
    }
    bare_schema schema_;
};

TEST_F(migrations_test, fresh_schema_gets_every_file_and_working_tables) {
    auto conn = must_connect(schema_.dsn());
    auto applied = apply_migrations(conn, schema_.name());
    ASSERT_TRUE(applied.ok()) << applied.message();
    const int all = static_cast<int>(embedded_migrations().size());
    EXPECT_GE(all, 3);
    EXPECT_EQ(*applied, all);
    EXPECT_EQ(recorded_versions(conn, schema_.name()), all);
    // The {{schema}} placeholder inside nextval('...') must resolve to this schema's sequence.
    auto id = conn.query("INSERT INTO " + schema_.name() +
                         ".tpubsub_events (event_type) VALUES ('x') RETURNING event_id");
    ASSERT_TRUE(id.ok()) << id.message();
    EXPECT_GT(id->get_int(0, 0), 0);
    auto sub = conn.query("INSERT INTO " + schema_.name() +
                          ".tpubsub_subscribers (subscriber_name, event_type, job_type) "
                          "VALUES ('s', 'x', 'noop') RETURNING max_retries");
    ASSERT_TRUE(sub.ok()) << sub.message();
}

TEST_F(migrations_test, second_run_applies_nothing) {
    auto conn = must_connect(schema_.dsn());
    ASSERT_TRUE(apply_migrations(conn, schema_.name()).ok());
    auto again = apply_migrations(conn, schema_.name());
    ASSERT_TRUE(again.ok()) << again.message();
    EXPECT_EQ(*again, 0);
}

TEST_F(migrations_test, two_connections_migrating_at_once_both_succeed) {
    const std::string dsn = schema_.dsn();
    const std::string name = schema_.name();
    result<int> results[2] = {status::error("not run"), status::error("not run")};
    std::atomic<int> ready{0};
    auto work = [&](int i) {
        auto conn = pg::connection::open(dsn);
        if (!conn) {
            results[i] = conn.error();
            return;
        }
        ready.fetch_add(1);
        while (ready.load() < 2) std::this_thread::yield();  // start together
        results[i] = apply_migrations(*conn, name);
    };
    std::thread a(work, 0), b(work, 1);
    a.join();
    b.join();
    ASSERT_TRUE(results[0].ok()) << results[0].message();
    ASSERT_TRUE(results[1].ok()) << results[1].message();
    const int all = static_cast<int>(embedded_migrations().size());
    EXPECT_EQ(*results[0] + *results[1], all);
    auto conn = must_connect(dsn);
    EXPECT_EQ(recorded_versions(conn, name), all);
}

TEST_F(migrations_test, bad_schema_names_are_refused) {
    auto conn = must_connect(schema_.dsn());
    for (const char* bad : {"", "Dba", "1abc", "a-b", "a b", "x;drop", "\"q\"", "ünï"}) {
        auto r = apply_migrations(conn, bad);
        ASSERT_FALSE(r.ok()) << "accepted '" << bad << "'";
        EXPECT_NE(r.message().find("invalid schema name"), std::string::npos) << r.message();
    }
    EXPECT_FALSE(apply_migrations(conn, std::string(64, 'a')).ok());
}

TEST_F(migrations_test, refuses_a_connection_inside_a_transaction) {
    auto conn = must_connect(schema_.dsn());
    ASSERT_TRUE(conn.exec("BEGIN").ok());
    auto r = apply_migrations(conn, schema_.name());
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(conn.exec("ROLLBACK").ok());
}

// SPEC 7.1: a database that is not UTF8 is refused before anything is created in it.
TEST_F(migrations_test, refuses_a_database_that_is_not_utf8) {
    auto admin = must_connect(schema_.dsn());
    const std::string db = "m_ascii_" + std::to_string(getpid());
    (void)admin.exec("DROP DATABASE IF EXISTS " + db);
    ASSERT_TRUE(admin.exec("CREATE DATABASE " + db +
                           " ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
                    .ok());
    {
        auto conn = must_connect(schema_.dsn() + " dbname=" + db);  // the last dbname counts
        auto r = apply_migrations(conn, schema_.name());
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.message().find("uses encoding SQL_ASCII; pubsub needs UTF8"),
                  std::string::npos)
            << r.message();
        auto q = conn.query("SELECT count(*) FROM pg_namespace WHERE nspname = $1",
                            {schema_.name()});
        ASSERT_TRUE(q.ok());
        EXPECT_EQ(q->get_int(0, 0), 0) << "the schema was created anyway";
    }
    EXPECT_TRUE(admin.exec("DROP DATABASE " + db).ok());
}

// The shared fixture other test folders use: a migrated schema, and a connection to it.
class support_fixture_test : public test::pg_schema_test {};

TEST_F(support_fixture_test, gives_a_migrated_schema_and_a_connection) {
    EXPECT_EQ(schema().rfind("t_", 0), 0u);
    auto q = conn().query("SELECT to_regclass($1) IS NOT NULL", {schema() + ".tpubsub_events"});
    ASSERT_TRUE(q.ok()) << q.message();
    EXPECT_EQ(q->get(0, 0), "t");
    auto again = apply_migrations(conn(), schema());
    ASSERT_TRUE(again.ok()) << again.message();
    EXPECT_EQ(*again, 0);
}

TEST_F(migrations_test, audit_entries_read_back_newest_first) {
    auto conn = must_connect(schema_.dsn());
    ASSERT_TRUE(apply_migrations(conn, schema_.name()).ok());
    ASSERT_TRUE(record_audit(conn, schema_.name(),
                             {"alice", "events.retry", "{\"status\":\"failed\"}", 12, ""})
                    .ok());
    ASSERT_TRUE(record_audit(conn, schema_.name(),
                             {"http 127.0.0.1", "subscribers.pause", "billing", 0,
                              "{\"dry_run\":false}"})
                    .ok());
    auto got = recent_audit(conn, schema_.name(), 10);
    ASSERT_TRUE(got.ok()) << got.message();
    ASSERT_EQ(got->size(), 2u);
    EXPECT_EQ((*got)[0].entry.action, "subscribers.pause");
    EXPECT_EQ((*got)[0].entry.detail_json, "{\"dry_run\": false}");
    EXPECT_EQ((*got)[1].entry.actor, "alice");
    EXPECT_EQ((*got)[1].entry.rows, 12);
    EXPECT_EQ((*got)[1].entry.detail_json, "");
    EXPECT_FALSE((*got)[1].at.empty());
    EXPECT_FALSE(os_user_actor().empty());
}

}  // namespace
}  // namespace pubsub
