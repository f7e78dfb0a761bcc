// The PostgreSQL environment of integration tests: the fixture cluster's DSN and a fresh,
// migrated schema per test.
//
// The DSN comes from PUBSUB_TEST_DSN when set (any PostgreSQL you like), else from the cluster
// that the `pg_start` CTest fixture runs for PUBSUB_TEST_PG_DIR (tests/CMakeLists.txt sets it on
// every INTEGRATION test). Each pg_schema_test gets its own schema `t_<pid>_<n>` with every
// migration applied; it is dropped at teardown unless PUBSUB_KEEP_SCHEMAS is set.
// Not thread-safe to set up, like any GoogleTest fixture; pg_dsn() is safe from any thread.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>

#include "base/result.h"
#include "storage/pg.h"

namespace pubsub::test {

// The DSN of the test database, or an error saying which variable to set and how.
result<std::string> pg_dsn();

// A new, unique, migrated schema name on the test database (t_<pid>_<counter>).
result<std::string> create_test_schema(const std::string& dsn);

// Drops it (CASCADE) unless PUBSUB_KEEP_SCHEMAS is set.
void drop_test_schema(const std::string& dsn, const std::string& schema);

// Fixture: SetUp() fails the test (and skips its body) when there is no database.
class pg_schema_test : public ::testing::Test {
  protected:
    void SetUp() override;
    void TearDown() override;

    const std::string& dsn() const { return dsn_; }
    const std::string& schema() const { return schema_; }
    // A connection opened by SetUp(), for the test's own use.
    pg::connection& conn() { return *conn_; }
    // schema(), quoted for SQL text.
    std::string qs() { return conn().quote_identifier(schema()); }
    // The integer in the first row and column of `sql` (a count, a max) read over conn();
    // -1, and a failed expectation naming the error, when the query fails.
    std::int64_t count(const std::string& sql);

  private:
    std::string dsn_;
    std::string schema_;
    std::optional<pg::connection> conn_;
};

}  // namespace pubsub::test
