// Who may use the admin endpoint of the real pubsubd: the loopback Host rule (DNS rebinding),
// --http-auth all, cross-site changes without a token, the header timeout and
// --http-max-connections (SPEC 7.4).
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <thread>

#include "tests/admin/admin_env.h"

namespace pubsub::test {
namespace {

using namespace std::chrono_literals;
using tcp = boost::asio::ip::tcp;

// A raw request closing the connection after its response; headers are "Name: value" lines.
std::string request(const std::string& method, const std::string& target, const std::string& host,
                    const std::vector<std::string>& headers = {}, const std::string& body = "") {
    std::string r = method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\n";
    for (const auto& h : headers) r += h + "\r\n";
    if (!body.empty() || method != "GET")
        r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    return r + "Connection: close\r\n\r\n" + body;
}

int status_of(std::uint16_t port, const std::string& raw) {
    auto r = http_raw(port, raw);
    EXPECT_TRUE(r.ok()) << r.message();
    return r.ok() ? r->status : 0;
}

TEST_F(admin_test, HostMustBeALoopbackLiteralLocalhostOrAnAllowedName) {
    start_admin({"--http-allow-host", "admin.internal"});
    ASSERT_FALSE(HasFatalFailure());
    const std::string p = ":" + std::to_string(port());
    for (const std::string& host : std::vector<std::string>{
             "127.attacker.example", "127.attacker.example" + p, "127.0.0.1.attacker.example" + p,
             "localhost.attacker.example", "attacker.example" + p, "0x7f.0.0.1" + p}) {
        auto r = http_raw(port(), request("GET", "/api/status", host));
        ASSERT_TRUE(r.ok()) << r.message();
        EXPECT_EQ(r->status, 421) << "Host " << host << ": " << r->body;
    }
    for (const std::string& host :
         std::vector<std::string>{"127.0.0.1" + p, "127.0.0.2" + p, "[::1]" + p, "localhost",
                                  "localhost" + p, "admin.internal" + p}) {
        EXPECT_EQ(status_of(port(), request("GET", "/api/status", host)), 200) << "Host " << host;
    }
}

TEST_F(admin_test, AuthAllNeedsTheTokenForReadsButNotForProbesMetricsOrThePage) {
    start_admin({"--http-auth", "all"});
    ASSERT_FALSE(HasFatalFailure());
    for (const char* read : {"/api/status", "/api/events", "/api/events/1", "/api/subscribers"}) {
        auto r = call("GET", read, "", "");
        EXPECT_EQ(r.status, 401) << read << ": " << r.body;
        EXPECT_EQ(call("GET", read, "", "wrong").status, 401) << read;
    }
    EXPECT_EQ(call("GET", "/api/status").status, 200);  // with the token
    EXPECT_EQ(call("GET", "/api/subscribers").status, 200);
    for (const char* open : {"/healthz", "/metrics", "/", "/app.js"}) {
        EXPECT_EQ(get(open).status, 200) << open;
    }
    EXPECT_EQ(call("POST", "/api/filters/validate", R"({"event_filter":{}})", "").status, 401);
}

TEST_F(admin_test, AuthAllWithoutATokenIsAConfigurationError) {
    auto r =
        e2e::run_command({e2e::bin_dir() + "/pubsubd", "--dsn", dsn(), "--schema", schema(),
                          "--socket", socket_path(), "--http", "127.0.0.1:0", "--http-auth", "all"},
                         tmp().path() / "noauth.log", 30s);
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(*r, 2);
    EXPECT_NE(e2e::file_tail(tmp().path() / "noauth.log", 2000).find("--http-auth all needs"),
              std::string::npos);
}

// Without a token, any web page could make the victim's browser POST a form here: a change
// needs no Origin or this endpoint's own, and a JSON body (a form cannot send one cross-site).
TEST_F(admin_test, UnauthenticatedChangesRefuseOtherOriginsAndFormBodies) {
    start_admin({"--http-allow-unauthenticated"}, false);
    ASSERT_FALSE(HasFatalFailure());
    const std::string host = "127.0.0.1:" + std::to_string(port());
    auto sub = [](const std::string& name) {
        return R"({"subscriber_name":")" + name + R"(","event_type":"x","job_type":"noop"})";
    };
    const std::string json_type = "Content-Type: application/json";
    struct refused_case {
        std::vector<std::string> headers;
        std::string body;
    };
    std::vector<refused_case> refused = {
        {{"Origin: http://evil.example", json_type}, sub("evil1")},
        {{"Origin: http://127.0.0.1:1", json_type}, sub("evil2")},
        {{"Origin: null", json_type}, sub("evil3")},
        {{"Content-Type: application/x-www-form-urlencoded"}, "subscriber_name=evil4"},
        {{"Content-Type: text/plain"}, sub("evil5")},
        {{"Content-Type: multipart/form-data; boundary=b"}, "--b--"},
        {{}, sub("evil6")},  // a body without a type
    };
    for (const auto& c : refused) {
        auto r = http_raw(port(), request("POST", "/api/subscribers", host, c.headers, c.body));
        ASSERT_TRUE(r.ok()) << r.message();
        EXPECT_EQ(r->status, 403) << c.headers.size() << " " << c.body << ": " << r->body;
    }
    for (int i = 1; i <= 6; ++i) {  // nothing was created (read back through the API)
        EXPECT_EQ(get("/api/subscribers/evil" + std::to_string(i)).status, 404) << i;
    }
    // A bodiless change sent as a form is refused too; a curl-like one (no Origin) is not.
    auto ids = emit({e2e::event_line("x", "", "{}", 5, "durable")});
    ASSERT_EQ(ids.size(), 1u);
    const std::string cancel = "/api/events/" + std::to_string(ids[0]) + "/cancel";
    EXPECT_EQ(status_of(port(), request("POST", cancel, host,
                                        {"Content-Type: application/x-www-form-urlencoded"})),
              403);
    EXPECT_EQ(status_of(port(), request("POST", "/api/subscribers", host,
                                        {"Origin: http://" + host, json_type}, sub("same"))),
              201);
    EXPECT_EQ(
        status_of(port(), request("POST", "/api/subscribers", host,
                                  {"Content-Type: application/json; charset=utf-8"}, sub("curl"))),
        201);
}

TEST_F(admin_test, HeaderTimeoutCutsAClientThatSendsItsHeaderSlowly) {
    start_admin({"--http-header-timeout", "1"});
    ASSERT_FALSE(HasFatalFailure());
    boost::asio::io_context io;
    tcp::socket s(io);
    s.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port()));
    auto t0 = std::chrono::steady_clock::now();
    boost::asio::write(s, boost::asio::buffer(std::string("GET /api/status HTTP/1.1\r\n")));
    bool cut = false;
    s.non_blocking(true);
    while (!cut && std::chrono::steady_clock::now() - t0 < 8s) {
        boost::system::error_code ec;
        boost::asio::write(s, boost::asio::buffer(std::string("X-Slow: 1\r\n")), ec);
        char buf[256];
        s.read_some(boost::asio::buffer(buf), ec);
        cut = ec && ec != boost::asio::error::would_block;
        std::this_thread::sleep_for(100ms);
    }
    double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_TRUE(cut) << "still connected after 8 s of header bytes";
    EXPECT_GT(took, 0.8);
    EXPECT_LT(took, 4.0);
    EXPECT_EQ(get("/api/status").status, 200);
}

TEST_F(admin_test, ConnectionsBeyondHttpMaxConnectionsGet503) {
    start_admin({"--http-max-connections", "2"});
    ASSERT_FALSE(HasFatalFailure());
    boost::asio::io_context io;
    auto idle = [&] {
        auto s = std::make_unique<tcp::socket>(io);
        s->connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port()));
        return s;
    };
    auto a = idle();
    auto b = idle();
    auto r = http_raw(port(), request("GET", "/api/status", "127.0.0.1"), 10s);
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(r->status, 503) << r->body;
    EXPECT_NE(r->body.find("--http-max-connections"), std::string::npos) << r->body;
    a.reset();
    int got = 0;
    for (int i = 0; i < 100 && got != 200; ++i) {
        auto m = http_call(port(), "GET", "/metrics");
        got = m.ok() ? m->status : 0;
        if (got == 200) {
            auto parsed = parse_prometheus(m->body);
            ASSERT_TRUE(parsed.ok()) << parsed.message();
            auto n = prom_value(*parsed, "pubsub_connections_refused_total",
                                {{"door", "http"}, {"reason", "max_connections"}});
            ASSERT_TRUE(n.ok()) << n.message();
            EXPECT_GE(*n, 1);
        } else {
            std::this_thread::sleep_for(20ms);
        }
    }
    EXPECT_EQ(got, 200) << "no place freed after a client left";
    EXPECT_NE(daemon().log_tail(20000).find("refused a connection"), std::string::npos);
}

}  // namespace
}  // namespace pubsub::test
