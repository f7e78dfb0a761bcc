// admin/http_server.h without a database: concurrent clients on several server threads
// (run under TSan), keep-alive, the body limit, and stop() with connections open.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "tests/admin/http_client.h"
#include "tests/support/fd_squeeze.h"
#include "admin/admin_server.h"
#include "admin/http_server.h"

namespace pubsub::admin {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

struct echo_server {
    std::atomic<int> calls{0};
    http_server server{http_server_options{"127.0.0.1", 0, 3, 64, {}},
                       [this](const http_request& r) {
                           calls.fetch_add(1, std::memory_order_relaxed);
                           http_response out;
                           out.body = r.method + " " + r.target + " " + r.body;
                           return out;
                       }};
};

TEST(http_server, ConcurrentClientsAllGetTheirOwnAnswer) {
    echo_server s;
    ASSERT_TRUE(s.server.start().ok());
    ASSERT_NE(s.server.port(), 0);
    std::vector<std::thread> clients;
    std::atomic<int> wrong{0};
    for (int t = 0; t < 4; ++t) {
        clients.emplace_back([&, t] {
            for (int i = 0; i < 25; ++i) {
                std::string target = "/t" + std::to_string(t) + "/" + std::to_string(i);
                auto r = test::http_call(s.server.port(), "POST", target, "b");
                if (!r.ok() || r->status != 200 || r->body != "POST " + target + " b") ++wrong;
            }
        });
    }
    for (auto& c : clients) c.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(s.calls.load(), 100);
    s.server.stop_now();
    s.server.stop_now();  // idempotent
}

TEST(http_server, KeepAliveServesSeveralRequestsOnOneConnection) {
    echo_server s;
    ASSERT_TRUE(s.server.start().ok());
    boost::asio::io_context io;
    beast::tcp_stream stream(io);
    stream.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), s.server.port()));
    beast::flat_buffer buf;
    for (int i = 0; i < 3; ++i) {
        http::request<http::string_body> req(http::verb::get, "/k" + std::to_string(i), 11);
        req.keep_alive(true);
        http::write(stream, req);
        http::response<http::string_body> res;
        http::read(stream, buf, res);
        EXPECT_EQ(res.body(), "GET /k" + std::to_string(i) + " ");
        EXPECT_TRUE(res.keep_alive());
    }
    // A connection left open does not keep stop() from returning.
    s.server.stop_now();
}

TEST(http_server, BodyOverTheLimitIs413) {
    echo_server s;  // limit: 64 bytes
    ASSERT_TRUE(s.server.start().ok());
    auto r = test::http_call(s.server.port(), "POST", "/big", std::string(1000, 'x'));
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(s.calls.load(), 0);
}

// A plain TCP connection to the server, for clients that misbehave on purpose.
struct raw_conn {
    boost::asio::io_context io;
    tcp::socket s{io};
    explicit raw_conn(std::uint16_t port) {
        s.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
    }
    // True when the server closed (EOF or reset) within `timeout`; data it sent is skipped.
    bool closed_within(std::chrono::milliseconds timeout) {
        s.non_blocking(true);
        auto until = std::chrono::steady_clock::now() + timeout;
        char buf[512];
        while (std::chrono::steady_clock::now() < until) {
            beast::error_code ec;
            s.read_some(boost::asio::buffer(buf), ec);
            if (ec && ec != boost::asio::error::would_block) return true;
            if (ec) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }
};

struct limited_server {
    http_server server;
    explicit limited_server(http_server_options o)
        : server(std::move(o), [](const http_request& r) {
              http_response out;
              out.body = r.target;
              return out;
          }) {}
};

// A slowloris client: a header line every 100 ms, never the end of the header. Cut at the
// header timeout (300 ms), although bytes keep coming (the read timeout is a minute).
TEST(http_server, HeaderTimeoutCutsASlowClient) {
    http_server_options o;
    o.header_timeout = std::chrono::milliseconds(300);
    limited_server l(o);
    ASSERT_TRUE(l.server.start().ok());
    raw_conn slow(l.server.port());
    auto t0 = std::chrono::steady_clock::now();
    boost::asio::write(slow.s, boost::asio::buffer(std::string("GET / HTTP/1.1\r\n")));
    bool cut = false;
    for (int i = 0; i < 30 && !cut; ++i) {
        beast::error_code ec;
        boost::asio::write(slow.s, boost::asio::buffer("X-Slow-" + std::to_string(i) + ": 1\r\n"),
                           ec);
        cut = ec || slow.closed_within(std::chrono::milliseconds(100));
    }
    auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_TRUE(cut) << "a client still sending its header after 3 s was not cut";
    EXPECT_GE(took, std::chrono::milliseconds(250));
    EXPECT_LT(took, std::chrono::seconds(2));
    // Meanwhile everyone else is served.
    auto r = test::http_call(l.server.port(), "GET", "/fine");
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(r->body, "/fine");
}

// A malformed request or an oversized header gets a status line saying so before the close,
// not a silent reset (the client cannot tell a bug of its own from a crashed server).
TEST(http_server, MalformedRequestsGetAStatusNotASilentClose) {
    echo_server s;
    ASSERT_TRUE(s.server.start().ok());
    const std::pair<std::string, std::string> cases[] = {
        {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", "HTTP/1.1 400"},
        {"GET / HTTP/9.9\r\nHost: x\r\n\r\n", "HTTP/1.1 400"},
        {"GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(20000, 'a') + "\r\n\r\n", "HTTP/1.1 431"},
    };
    for (const auto& [request, status] : cases) {
        raw_conn c(s.server.port());
        beast::error_code ec;
        boost::asio::write(c.s, boost::asio::buffer(request), ec);
        std::string got;
        char buf[512];
        for (;;) {
            std::size_t n = c.s.read_some(boost::asio::buffer(buf), ec);
            got.append(buf, n);
            if (ec) break;
        }
        EXPECT_EQ(got.rfind(status, 0), 0u) << request.substr(0, 40) << " -> " << got;
    }
    EXPECT_EQ(s.calls.load(), 0);
}

TEST(http_server, OneConnectionBeyondTheLimitGets503) {
    http_server_options o;
    o.max_connections = 2;
    limited_server l(o);
    ASSERT_TRUE(l.server.start().ok());
    auto a = std::make_unique<raw_conn>(l.server.port());
    raw_conn b(l.server.port());
    // Both are sessions once a request on a third connection is refused: accepts are in order.
    std::optional<test::http_reply> refused;
    for (int i = 0; i < 100 && !refused; ++i) {
        auto r = test::http_raw(l.server.port(), "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                                std::chrono::seconds(5));
        if (r.ok() && r->status == 503) refused = *r;
    }
    ASSERT_TRUE(refused) << "a third connection was served with two open and a limit of 2";
    EXPECT_NE(refused->body.find("too many connections"), std::string::npos) << refused->body;
    EXPECT_GE(l.server.refused_connections(), 1u);
    a.reset();  // frees a place
    bool served = false;
    for (int i = 0; i < 200 && !served; ++i) {
        auto r = test::http_call(l.server.port(), "GET", "/again");
        served = r.ok() && r->status == 200;
        if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(served) << "no place freed after a connection closed";
}

// Out of file descriptors, accept() fails at once for as long as the connection waits: the
// server retries every 100 ms (a few log lines) instead of spinning, and serves it after.
TEST(http_server, AcceptFailuresAreRetriedCalmly) {
    std::atomic<int> failures{0};
    http_server_options o;
    o.log = [&](log_level, const std::string& m) {
        if (m.find("accept failed") != std::string::npos) failures.fetch_add(1);
    };
    limited_server l(o);
    ASSERT_TRUE(l.server.start().ok());
    boost::asio::io_context io;
    tcp::socket c(io);
    c.open(tcp::v4());  // every descriptor the client needs, before the squeeze
    {
        test::fd_squeeze squeeze(0);  // none left for the server's accept()
        ASSERT_TRUE(squeeze.ok());
        c.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), l.server.port()));
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    EXPECT_GE(failures.load(), 1) << "accept never failed: the test did not run out of fds";
    EXPECT_LE(failures.load(), 10) << "accept retried without a pause";
    boost::asio::write(
        c, boost::asio::buffer(std::string("GET /after HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")));
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    beast::error_code ec;
    http::read(c, buf, res, ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(res.body(), "/after");
}

TEST(http_server, BindFailureIsAnError) {
    http_server bad(http_server_options{"256.1.1.1", 0, 1, 64, {}},
                    [](const http_request&) { return http_response{}; });
    status st = bad.start();
    EXPECT_FALSE(st.ok());
    EXPECT_NE(st.message().find("256.1.1.1"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace pubsub::admin

namespace pubsub::admin {
namespace {

// The whole endpoint with no database behind it: health says why, reads answer 503.
TEST(admin_server, UnreachableDatabaseIsReportedNotHung) {
    admin_options o;
    o.listen = "127.0.0.1:0";
    o.dsn = "host=127.0.0.1 port=1 dbname=none user=none";
    admin_server s(o);
    ASSERT_TRUE(s.start().ok());
    auto h = test::http_call(s.port(), "GET", "/healthz");
    ASSERT_TRUE(h.ok()) << h.message();
    EXPECT_EQ(h->status, 503);
    EXPECT_NE(h->body.find("database unreachable"), std::string::npos) << h->body;
    auto st = test::http_call(s.port(), "GET", "/api/status");
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(st->status, 503);
    auto m = test::http_call(s.port(), "GET", "/metrics");
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->status, 200);
    auto parsed = test::parse_prometheus(m->body);
    ASSERT_TRUE(parsed.ok()) << parsed.message();
    auto errors = test::prom_value(*parsed, "pubsub_db_errors_total", {{"component", "http"}});
    ASSERT_TRUE(errors.ok());
    EXPECT_GE(*errors, 2);
    s.stop_now();
}

}  // namespace
}  // namespace pubsub::admin
