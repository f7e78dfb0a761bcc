// Pause and resume over the HTTP API (SPEC 7.4): the real pubsubd with --http. Pausing holds
// deliveries (seen in /api/pauses, /api/status and /metrics' pubsub_deliveries_held, parsed
// strictly), each change leaves an audit row naming "http <peer>", resuming runs them.
#include <thread>

#include "tests/admin/admin_env.h"

namespace pubsub::test {
namespace {

using namespace std::chrono_literals;

class pause_api_test : public admin_test {
  protected:
    double metric(const std::string& family, const std::string& job_type) {
        auto fams = scrape();
        for (const auto& s : fams[family].samples) {
            if (s.labels.count("job_type") && s.labels.at("job_type") == job_type) return s.value;
        }
        return -1;
    }
    // Polls until the metric has `want` (20 s).
    void wait_metric(const std::string& family, const std::string& job_type, double want) {
        double v = -1;
        for (auto until = std::chrono::steady_clock::now() + 20s;
             std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(20ms)) {
            if ((v = metric(family, job_type)) == want) return;
        }
        ADD_FAILURE() << family << "{job_type=" << job_type << "} is " << v << ", want " << want;
    }
};

TEST_F(pause_api_test, pause_holds_shows_in_status_and_metrics_and_resume_runs) {
    add_noop_subscriber("n", "t");
    start_admin();
    EXPECT_EQ(call("POST", "/api/subscribers/n/pause", "", "").status, 401);  // a change
    auto r = call("POST", "/api/subscribers/n/pause");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("\"changed\":true"), std::string::npos) << r.body;
    std::this_thread::sleep_for(300ms);  // the routers hear of it by NOTIFY
    auto ids = emit({e2e::event_line("t", "", "{}", 5, "durable"),
                     e2e::event_line("t", "", "{}", 9, "durable")});
    ASSERT_EQ(ids.size(), 2u);
    wait_metric("pubsub_deliveries_held", "noop", 2);
    EXPECT_EQ(scrape()["pubsub_deliveries_held"].type, "gauge");
    auto p = get("/api/pauses");
    EXPECT_EQ(p.body, "{\"subscribers\":[\"n\"],\"pools\":[],\"held\":2}");
    EXPECT_NE(get("/api/status").body.find("\"pauses\":{\"subscribers\":[\"n\"]"),
              std::string::npos);

    ASSERT_EQ(call("POST", "/api/pools/noop/pause").status, 200);
    wait_metric("pubsub_pool_paused", "noop", 1);
    EXPECT_EQ(call("POST", "/api/pools/nope/pause").status, 404);
    EXPECT_EQ(call("POST", "/api/subscribers/nobody/pause").status, 404);
    EXPECT_EQ(call("GET", "/api/pools/noop/pause").status, 405);

    ASSERT_EQ(call("POST", "/api/subscribers/n/resume").status, 200);
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(metric("pubsub_deliveries_held", "noop"), 2);  // the pool is still paused
    ASSERT_EQ(call("POST", "/api/pools/noop/resume").status, 200);
    ASSERT_TRUE(e2e::wait_completed(dsn(), schema(), ids, 20s).ok());
    wait_metric("pubsub_deliveries_held", "noop", 0);
    EXPECT_EQ(count("SELECT count(*) FROM " + schema() +
                    ".tpubsub_audit WHERE actor LIKE 'http 127.0.0.1:%' AND rows = 1"),
              4);
}

// GET /api/subscribers (all, and one) says whether each subscriber is paused.
TEST_F(pause_api_test, subscribers_listing_shows_the_pause) {
    add_noop_subscriber("n", "t");
    add_noop_subscriber("m", "t");
    start_admin();
    auto one = [&](const std::string& name) { return get("/api/subscribers/" + name).body; };
    EXPECT_NE(one("n").find("\"paused\":false"), std::string::npos) << one("n");
    ASSERT_EQ(call("POST", "/api/subscribers/n/pause").status, 200);
    EXPECT_NE(one("n").find("\"paused\":true"), std::string::npos) << one("n");
    EXPECT_NE(one("m").find("\"paused\":false"), std::string::npos) << one("m");
    auto all = get("/api/subscribers").body;
    auto n_at = all.find("\"subscriber_name\":\"n\"");
    auto m_at = all.find("\"subscriber_name\":\"m\"");
    ASSERT_NE(n_at, std::string::npos) << all;
    ASSERT_NE(m_at, std::string::npos) << all;
    // Each object's own "paused" follows its name (the objects are in id order: n, then m).
    EXPECT_LT(all.find("\"paused\":true", n_at), m_at) << all;
    EXPECT_NE(all.find("\"paused\":false", m_at), std::string::npos) << all;
    ASSERT_EQ(call("POST", "/api/subscribers/n/resume").status, 200);
    EXPECT_NE(one("n").find("\"paused\":false"), std::string::npos) << one("n");
}

}  // namespace
}  // namespace pubsub::test
