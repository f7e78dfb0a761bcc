// admin_api through the daemon's phases (node_sources::phase), against the test database: while
// starting or draining /readyz answers 503 naming the phase, /livez 200, reads answer, and a
// change gets 503 naming the phase before it reaches the database; once serving it goes through.
#include <gtest/gtest.h>

#include <atomic>

#include "admin/api.h"
#include "admin/pg_pool.h"
#include "tests/support/pg_test_env.h"

namespace pubsub::admin {
namespace {

using phase_test = test::pg_schema_test;

http_request request(const std::string& method, const std::string& target) {
    http_request r;
    r.method = method;
    r.target = target;
    r.host = "127.0.0.1:8080";
    r.authorization = "Bearer t";
    r.peer = "127.0.0.1:5000";
    return r;
}

TEST_F(phase_test, ReadyzAndChangesFollowThePhase) {
    std::atomic<serving_phase> phase{serving_phase::starting};
    pg_pool pool(dsn(), 1);
    api_options o;
    o.schema = schema();
    o.dsn = dsn();
    o.token = "t";
    o.sources.phase = [&] { return phase.load(); };
    admin_api api(o, pool);
    const http_request change = request("POST", "/api/subscribers/nobody/disable");

    auto ready = api.handle(request("GET", "/readyz"));
    EXPECT_EQ(ready.status, 503);
    EXPECT_NE(ready.body.find("starting"), std::string::npos) << ready.body;
    EXPECT_EQ(api.handle(request("GET", "/livez")).status, 200);
    auto refused = api.handle(change);
    EXPECT_EQ(refused.status, 503);
    EXPECT_NE(refused.body.find("starting"), std::string::npos) << refused.body;

    phase = serving_phase::serving;
    EXPECT_EQ(api.handle(request("GET", "/readyz")).status, 200);
    EXPECT_EQ(api.handle(change).status, 404);  // through to the database: no such subscriber

    phase = serving_phase::draining;
    ready = api.handle(request("GET", "/readyz"));
    EXPECT_EQ(ready.status, 503);
    EXPECT_NE(ready.body.find("\"draining: "), std::string::npos) << ready.body;
    EXPECT_EQ(api.handle(request("GET", "/livez")).status, 200);
    EXPECT_EQ(api.handle(request("GET", "/metrics")).status, 200);
    EXPECT_EQ(api.handle(request("GET", "/api/subscribers")).status, 200);  // reads answer
    refused = api.handle(change);
    EXPECT_EQ(refused.status, 503);
    EXPECT_NE(refused.body.find("draining"), std::string::npos) << refused.body;
    // A change without the token is still 401 first: the phase tells nothing to strangers.
    http_request anonymous = change;
    anonymous.authorization.clear();
    EXPECT_EQ(api.handle(anonymous).status, 401);
}

}  // namespace
}  // namespace pubsub::admin
