// End-to-end (SPEC 7.2, STYLE 7): the database is down when far-off scheduled events come due.
// The scheduler, holding them as (id, due time), cannot read their rows: they wait (late, never
// lost, no spin), and each runs once the database is back, none before its run_at. On a
// private cluster (fault_support.h), so the shared test cluster is never disturbed.
#include <gtest/gtest.h>

#include <thread>

#include "tests/e2e/delayed_send.h"
#include "tests/e2e/e2e_env.h"
#include "tests/e2e/fault_support.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;

using scheduled_fault_e2e = e2e_test;

TEST_F(scheduled_fault_e2e, DatabaseDownWhenScheduledEventsComeDue) {
    private_cluster& cluster = private_cluster::shared();
    status prepared = cluster.prepare(schema());  // a noop subscriber on e2e_event
    ASSERT_TRUE(prepared.ok()) << prepared.message();
    start_daemon_on(cluster.dsn(), {"--db-wait", "60"});
    ASSERT_FALSE(HasFatalFailure());
    auto sent = send_delayed(socket_path(), "e2e_event", 30, 4000, 10);
    ASSERT_TRUE(sent.ok()) << sent.message();
    std::this_thread::sleep_for(300ms);  // committed: held without their bodies
    ASSERT_TRUE(cluster.stop_fast(tmp().path() / "pg-stop.log").ok());
    std::this_thread::sleep_for(5s);  // past every run_at, the database still down
    const std::string down_log = daemon().log_tail();
    EXPECT_NE(down_log.find("cannot read due scheduled events"), std::string::npos) << down_log;
    ASSERT_TRUE(cluster.start().ok());
    status done = wait_completed(cluster.dsn(), schema(), *sent, 30s);
    ASSERT_TRUE(done.ok()) << done.message() << "\n" << daemon().log_tail();
    auto c = pg::connection::open(cluster.dsn());
    ASSERT_TRUE(c.ok()) << c.message();
    auto early = c->query("SELECT count(*) FROM " + c->quote_identifier(schema()) +
                          ".tpubsub_events WHERE processed_at < run_at OR retry_count > 0");
    ASSERT_TRUE(early.ok()) << early.message();
    EXPECT_EQ(early->get_int(0, 0), 0) << "ran before its time, or more than once";
}

}  // namespace
}  // namespace pubsub::e2e
