// Upgrading a schema that holds events to the event chunks (sql/016_event_chunks.sql): the
// events that exist get chunks covering them, and the per-row created_at index is gone.
#include <unistd.h>

#include <cstdlib>

#include <gtest/gtest.h>

#include "storage/migrations.h"
#include "tests/support/pg_test_env.h"

namespace pubsub {
namespace {

int version_of(const char* name) { return std::atoi(name); }

// Applies the migration files up to `last` by hand, recorded as apply_migrations records them.
void migrate_to(pg::connection& c, const std::string& q, int last) {
    ASSERT_TRUE(c.exec("CREATE SCHEMA " + q + "; CREATE TABLE " + q +
                       ".tpubsub_migrations (version int PRIMARY KEY, name text NOT NULL, "
                       "applied_at timestamptz NOT NULL DEFAULT now())")
                    .ok());
    for (const auto& f : embedded_migrations()) {
        const int v = version_of(f.name);
        if (v > last) break;
        std::string sql = f.sql;
        for (auto p = sql.find("{{schema}}"); p != std::string::npos;
             p = sql.find("{{schema}}", p + q.size())) {
            sql.replace(p, 10, q);
        }
        auto st = c.exec("BEGIN; " + sql + "; INSERT INTO " + q +
                         ".tpubsub_migrations (version, name) VALUES (" + std::to_string(v) +
                         ", '" + f.name + "'); COMMIT");
        ASSERT_TRUE(st.ok()) << f.name << ": " << st.message();
    }
}

TEST(chunks_migration, events_of_an_older_schema_get_chunks_and_lose_the_created_at_index) {
    auto dsn = test::pg_dsn();
    ASSERT_TRUE(dsn.ok()) << dsn.message();
    auto opened = pg::connection::open(*dsn);
    ASSERT_TRUE(opened.ok()) << opened.message();
    pg::connection& c = *opened;
    const std::string schema = "chunks_up_" + std::to_string(getpid());
    const std::string q = c.quote_identifier(schema);
    migrate_to(c, q, 15);
    ASSERT_FALSE(testing::Test::HasFatalFailure());
    auto count = [&](const std::string& sql) {
        auto r = c.query(sql);
        EXPECT_TRUE(r.ok()) << r.message();
        return r.ok() ? r->get_int(0, 0) : -1;
    };
    const std::string index_count = "SELECT count(*) FROM pg_indexes WHERE schemaname = '" +
                                    schema + "' AND indexname = 'tpubsub_events_created_idx'";
    EXPECT_EQ(count(index_count), 1);
    ASSERT_TRUE(c.exec("INSERT INTO " + q +
                       ".tpubsub_events (event_type, event_source, created_at) SELECT 't' || "
                       "(k % 7), 's', now() - make_interval(secs => k) FROM "
                       "generate_series(1, 1000) k")
                    .ok());
    auto applied = apply_migrations(c, schema);
    ASSERT_TRUE(applied.ok()) << applied.message();
    EXPECT_GE(*applied, 1);
    EXPECT_EQ(count(index_count), 0);
    EXPECT_EQ(count("SELECT count(*) FROM " + q +
                    ".tpubsub_events e WHERE NOT EXISTS (SELECT 1 FROM " + q +
                    ".tpubsub_event_chunks c WHERE e.event_id BETWEEN c.first_id AND "
                    "c.last_id AND e.created_at BETWEEN c.min_created AND c.max_created)"),
              0);
    EXPECT_EQ(count("SELECT sum(n_events) FROM " + q + ".tpubsub_event_chunks"), 1000);
    test::drop_test_schema(*dsn, schema);
}

}  // namespace
}  // namespace pubsub
