// config_check against real PostgreSQL: what it answers for each case, and that a check never
// waits on another's database round trip (a check blocked on a locked table leaves a check of
// another table free to answer).
#include "storage/config_check.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "tests/support/pg_test_env.h"

namespace pubsub {
namespace {

class config_check_test : public test::pg_schema_test {
  protected:
    void make_tables() {
        ASSERT_TRUE(conn()
                        .exec("CREATE TABLE " + schema() +
                              ".timportconfig (config_id int PRIMARY KEY); CREATE TABLE " +
                              schema() +
                              ".treportmanager (report_id int PRIMARY KEY); INSERT INTO " +
                              schema() + ".timportconfig VALUES (7); INSERT INTO " + schema() +
                              ".treportmanager VALUES (9)")
                        .ok());
    }
};

TEST_F(config_check_test, answers_by_job_type_table_and_row) {
    config_check unreachable("host=/nonexistent dbname=x", schema());
    EXPECT_TRUE(unreachable.check(job_type::custom, std::nullopt).ok());  // no database asked
    EXPECT_NE(unreachable.check(job_type::import, 7).message().find("cannot check config_id"),
              std::string::npos);

    config_check before(dsn(), schema());
    EXPECT_TRUE(before.check(job_type::import, 7).ok()) << "no platform table: nothing to check";

    make_tables();
    config_check cc(dsn(), schema());
    EXPECT_TRUE(cc.check(job_type::import, 7).ok());
    EXPECT_TRUE(cc.check(job_type::report, 9).ok());
    status missing = cc.check(job_type::import, 8);
    EXPECT_NE(missing.message().find("config_id 8 not found in"), std::string::npos)
        << missing.message();
    status none = cc.check(job_type::report, std::nullopt);
    EXPECT_NE(none.message().find("no config_id, and report needs a"), std::string::npos)
        << none.message();
    ASSERT_TRUE(conn().exec("DELETE FROM " + schema() + ".timportconfig").ok());
    EXPECT_FALSE(cc.check(job_type::import, 7).ok()) << "the row is looked up on every check";
}

TEST_F(config_check_test, a_blocked_check_does_not_hold_up_another) {
    make_tables();
    config_check cc(dsn(), schema());
    ASSERT_TRUE(cc.check(job_type::import, 7).ok());  // both tables known to exist
    ASSERT_TRUE(cc.check(job_type::report, 9).ok());
    auto locker = pg::connection::open(dsn());
    ASSERT_TRUE(locker.ok()) << locker.message();
    ASSERT_TRUE(
        locker->exec("BEGIN; LOCK TABLE " + schema() + ".timportconfig IN ACCESS EXCLUSIVE MODE")
            .ok());
    std::atomic<bool> blocked_done{false};
    status blocked_result;
    std::thread blocked([&] {
        blocked_result = cc.check(job_type::import, 7);
        blocked_done = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // now waiting on the lock
    auto other = std::async(std::launch::async, [&] { return cc.check(job_type::report, 9); });
    const bool answered = other.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
    EXPECT_FALSE(blocked_done.load()) << "the import check should still wait on the lock";
    ASSERT_TRUE(locker->exec("COMMIT").ok());
    blocked.join();
    EXPECT_TRUE(answered) << "the report check waited for the blocked import check";
    EXPECT_TRUE(other.get().ok());
    EXPECT_TRUE(blocked_result.ok()) << blocked_result.message();
}

}  // namespace
}  // namespace pubsub
