// /livez and /readyz against the real pubsubd while its PostgreSQL (a private cluster,
// tests/e2e/fault_support.h) is stopped for a moment: the process stays live (a supervisor must
// not restart it while its buffer rides the outage out), it is not ready (a load balancer takes
// it out), and both answer 200 once the database is back. /healthz follows /readyz.
#include <gtest/gtest.h>

#include <thread>

#include "tests/admin/admin_env.h"
#include "tests/e2e/fault_support.h"

namespace pubsub::test {
namespace {

using namespace std::chrono_literals;
using probes_e2e = admin_test;

// Polls `target` until it answers `want` (or the timeout passes); the last reply.
http_reply wait_for(std::uint16_t port, const std::string& target, int want,
                    std::chrono::seconds timeout) {
    http_reply last;
    for (auto until = std::chrono::steady_clock::now() + timeout;
         std::chrono::steady_clock::now() < until;) {
        auto r = http_call(port, "GET", target);
        if (r.ok()) last = *r;
        if (r.ok() && r->status == want) break;
        std::this_thread::sleep_for(100ms);
    }
    return last;
}

TEST_F(probes_e2e, LiveAndNotReadyWhileTheDatabaseIsDown) {
    e2e::private_cluster& cluster = e2e::private_cluster::shared();
    status prepared = cluster.prepare(schema());
    ASSERT_TRUE(prepared.ok()) << prepared.message();
    start_admin_on(cluster.dsn(), {"--db-wait", "60"});
    ASSERT_FALSE(HasFatalFailure());
    EXPECT_EQ(get("/livez").status, 200);
    auto ready = get("/readyz");
    EXPECT_EQ(ready.status, 200) << ready.body;
    EXPECT_EQ(ready.body, "{\"status\":\"ok\"}");

    ASSERT_TRUE(cluster.stop_fast(tmp().path() / "pg_ctl.log").ok());
    auto down = wait_for(port(), "/readyz", 503, 20s);
    EXPECT_EQ(down.status, 503) << down.body;
    EXPECT_NE(down.body.find("database"), std::string::npos) << down.body;
    EXPECT_EQ(get("/healthz").status, 503);
    for (int i = 0; i < 5; ++i) {  // live for the whole outage, not only its first moment
        auto live = get("/livez");
        EXPECT_EQ(live.status, 200) << live.body;
        EXPECT_EQ(live.body, "{\"status\":\"ok\"}");
        std::this_thread::sleep_for(200ms);
    }
    auto m = scrape();
    auto r = prom_value(m, "pubsub_ready");
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(*r, 0);
    EXPECT_FALSE(prom_value(m, "pubsub_oldest_pending_age_seconds").ok());
    EXPECT_TRUE(prom_value(m, "process_resident_memory_bytes").ok());

    ASSERT_TRUE(cluster.start().ok());
    auto up = wait_for(port(), "/readyz", 200, 30s);
    EXPECT_EQ(up.status, 200) << up.body << "\n" << daemon().log_tail();
    EXPECT_EQ(get("/healthz").status, 200);
    EXPECT_EQ(get("/livez").status, 200);
    EXPECT_TRUE(daemon_running());
    EXPECT_EQ(stop_daemon(), std::optional<int>(0));
}

// Under --http-auth all the probes still need no token (the page's data does).
TEST_F(probes_e2e, ProbesAreOpenUnderHttpAuthAll) {
    start_admin({"--http-auth", "all"});
    ASSERT_FALSE(HasFatalFailure());
    EXPECT_EQ(get("/livez").status, 200);
    EXPECT_EQ(get("/readyz").status, 200);
    EXPECT_EQ(get("/api/status").status, 401);
}

}  // namespace
}  // namespace pubsub::test
