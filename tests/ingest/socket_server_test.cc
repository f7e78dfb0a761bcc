// ingest/socket_server.h without a database: the bounds a client cannot push past (unsent
// replies, unanswered lines, open connections), pause and resume keeping every reply in order,
// and other clients served while one stalls. The intake is real, over an in-memory log and a
// router that is never started (events stay in its queues). Runs under TSan.
#include "ingest/socket_server.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "tests/e2e/ndjson_client.h"
#include "tests/e2e/process.h"
#include "tests/router/memory_log.h"
#include "tests/support/fd_squeeze.h"

namespace pubsub {
namespace {

using namespace std::chrono_literals;
using e2e::ndjson_client;

class counting_ids final : public id_source {
  public:
    result<event_id> next_id() override { return next_.fetch_add(1) + 1; }
    std::atomic<event_id> next_{0};
};

class null_sink final : public delivery_sink {
  public:
    void submit(delivery) override {}
};

struct socket_server_test : ::testing::Test {
    e2e::temp_dir dir{"pubsub-socket-"};
    test::memory_log log;
    null_sink sink;
    counting_ids ids;
    router rt{{}, log, sink};  // never started
    intake in{ids, log, rt};
    std::optional<socket_server> server;

    std::string path() const { return (dir.path() / "s.sock").string(); }

    void start(socket_options o) {
        o.path = path();
        server.emplace(std::move(o), in);
        ASSERT_TRUE(server->start().ok());
    }

    // A queued event with a payload of `pad` bytes, so lines differ in length.
    static std::string queued_line(std::size_t i, std::size_t pad = 0) {
        return R"({"event_type":"t","ack":"queued","event_data":{"i":)" + std::to_string(i) +
               R"(,"p":")" + std::string(pad, 'x') + "\"}}";
    }

    // The client is answered again: one queued event gets its ok reply.
    static void expect_served(ndjson_client& c) {
        ASSERT_TRUE(c.send_line(queued_line(0)).ok());
        auto r = c.read_reply(5s);
        ASSERT_TRUE(r.ok()) << r.message();
        EXPECT_TRUE(r->ok) << r->raw;
    }
};

// 2 MiB of empty lines, never read: each would get a ~70-byte error reply (140 MiB in all).
// The session parses only until 64 KiB of replies wait unsent; the kernel's socket buffers
// (about 200 KiB each way) hold the rest, so the client stalls after a few hundred KiB.
TEST_F(socket_server_test, NeverReadingClientStallsItselfAndOthersAreServed) {
    socket_options o;
    o.max_unsent_bytes = 64 * 1024;
    start(o);
    auto hog = ndjson_client::connect(path());
    ASSERT_TRUE(hog.ok()) << hog.message();
    constexpr std::size_t total = 2 << 20;
    std::size_t written = hog->send_until_stalled("\n", total, 500ms);
    auto parsed = server->counters().lines;
    EXPECT_LT(written, total) << "the door kept reading a client that never reads";
    // Replies parked in the kernel (its buffer toward the client, about wmem_default) plus
    // our 64 KiB bound, at ~70 bytes a reply: a few thousand lines here.
    std::size_t wmem = 212'992;
    std::ifstream("/proc/sys/net/core/wmem_default") >> wmem;
    std::size_t bound = std::max<std::size_t>(20'000, 4 * wmem / 60);
    EXPECT_LT(parsed, bound) << "lines parsed while the client read nothing";

    auto other = ndjson_client::connect(path());
    ASSERT_TRUE(other.ok()) << other.message();
    expect_served(*other);

    // Once the client reads, the session resumes and answers every line, in order.
    std::size_t answered = 0;
    while (answered < written) {
        auto r = hog->read_reply(10s);
        ASSERT_TRUE(r.ok()) << r.message() << " after " << answered << " of " << written;
        ASSERT_FALSE(r->ok);
        ASSERT_NE(r->error.find("empty line"), std::string::npos) << r->raw;
        ++answered;
    }
    EXPECT_EQ(server->counters().lines, written + 1);
}

// Tiny bounds make the session pause and resume thousands of times, with lines cut across
// reads; every line is answered once, in order (the ids are handed out in line order).
TEST_F(socket_server_test, PausingKeepsEveryReplyInOrder) {
    socket_options o;
    o.max_unsent_bytes = 2048;
    o.max_inflight = 16;
    start(o);
    auto c = ndjson_client::connect(path());
    ASSERT_TRUE(c.ok()) << c.message();
    constexpr std::size_t n = 20'000;
    std::thread writer([&] {
        std::string batch;
        for (std::size_t i = 0; i < n; ++i) {
            batch += queued_line(i, i % 97) + "\n";
            if (batch.size() > 32 * 1024 || i + 1 == n) {
                if (!c->send(batch).ok()) return;
                batch.clear();
            }
        }
    });
    event_id last = 0;
    std::size_t got = 0;
    for (; got < n; ++got) {
        auto r = c->read_reply(10s);
        if (!r.ok() || !r->ok || r->event_id != last + 1) {
            ADD_FAILURE() << "reply " << got << ": " << (r.ok() ? r->raw : r.message());
            break;
        }
        last = r->event_id;
    }
    c->shutdown_both();
    writer.join();
    EXPECT_EQ(got, n);
}

TEST_F(socket_server_test, OneConnectionBeyondMaxConnectionsGetsAnErrorLine) {
    socket_options o;
    o.max_connections = 2;
    start(o);
    auto a = ndjson_client::connect(path());
    auto b = ndjson_client::connect(path());
    ASSERT_TRUE(a.ok() && b.ok());
    expect_served(*a);
    expect_served(*b);

    auto c = ndjson_client::connect(path());  // the kernel accepts; the door refuses
    ASSERT_TRUE(c.ok()) << c.message();
    auto line = c->read_line(5s);
    ASSERT_TRUE(line.ok()) << line.message();
    EXPECT_NE(line->find("too many connections"), std::string::npos) << *line;
    EXPECT_NE(line->find("--max-connections 2"), std::string::npos) << *line;
    EXPECT_FALSE(c->read_line(5s).ok()) << "the refused connection stays open";
    EXPECT_EQ(server->counters().refused_connections, 1u);
    expect_served(*b);  // the others live on

    a->shutdown_both();
    for (auto until = std::chrono::steady_clock::now() + 5s;
         server->counters().open > 1 && std::chrono::steady_clock::now() < until;) {
        std::this_thread::sleep_for(5ms);
    }
    EXPECT_EQ(server->counters().open, 1u);
    auto d = ndjson_client::connect(path());
    ASSERT_TRUE(d.ok());
    expect_served(*d);
}

// Unfinished lines draw on the memory budget beyond 64 KiB each: connections each holding a
// line just under --max-line-bytes (1 MiB here) cannot together take more than the budget
// (1.5 MiB): the second such line is refused naming the budget, and its bytes come back when
// a connection goes.
TEST_F(socket_server_test, UnfinishedLinesDrawOnTheMemoryBudget) {
    memory_budget budget(1536 * 1024);
    socket_options o;
    o.budget = &budget;
    start(o);
    const std::string unfinished =
        R"({"event_type":"t","event_data":{"p":")" + std::string(1000 * 1024, 'x');
    auto a = ndjson_client::connect(path());
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE(a->send(unfinished).ok());
    for (auto until = std::chrono::steady_clock::now() + 5s;
         budget.used() < 900 * 1024 && std::chrono::steady_clock::now() < until;) {
        std::this_thread::sleep_for(5ms);
    }
    EXPECT_GE(budget.used(), 900u * 1024);
    auto b = ndjson_client::connect(path());
    ASSERT_TRUE(b.ok());
    (void)b->send(unfinished);  // may be cut by the close
    auto line = b->read_line(5s);
    ASSERT_TRUE(line.ok()) << line.message();
    EXPECT_NE(line->find("memory budget is full"), std::string::npos) << *line;
    EXPECT_NE(line->find("--max-unpersisted-bytes"), std::string::npos) << *line;
    auto c = ndjson_client::connect(path());
    ASSERT_TRUE(c.ok());
    expect_served(*c);  // short lines still pass
    a->shutdown_both();
    for (auto until = std::chrono::steady_clock::now() + 5s;
         budget.used() > 0 && std::chrono::steady_clock::now() < until;) {
        std::this_thread::sleep_for(5ms);
    }
    EXPECT_EQ(budget.used(), 0u);
}

// Out of file descriptors, accept() fails at once for as long as the connection waits: the
// door retries every 100 ms (a few log lines) instead of spinning, and serves it when it can.
TEST_F(socket_server_test, AcceptFailuresAreRetriedCalmly) {
    std::atomic<int> failures{0};
    socket_options o;
    o.log = [&](log_level, const std::string& m) {
        if (m.find("accept failed") != std::string::npos) failures.fetch_add(1);
    };
    start(o);
    test::fd_squeeze squeeze(1);  // room for the client's socket only
    ASSERT_TRUE(squeeze.ok());
    auto c = ndjson_client::connect(path());
    std::this_thread::sleep_for(500ms);
    squeeze.release();
    ASSERT_TRUE(c.ok()) << c.message();
    EXPECT_GE(failures.load(), 1) << "accept never failed: the test did not run out of fds";
    EXPECT_LE(failures.load(), 10) << "accept retried without a pause";
    expect_served(*c);
}

// A client stalled with unparsed lines in its session's buffer does not hold up the stop.
TEST_F(socket_server_test, StopReturnsWithAStalledClientConnected) {
    socket_options o;
    o.max_unsent_bytes = 4096;
    start(o);
    auto hog = ndjson_client::connect(path());
    ASSERT_TRUE(hog.ok());
    (void)hog->send_until_stalled("\n", 1 << 20, 300ms);
    auto t0 = std::chrono::steady_clock::now();
    server->stop_now();
    server->close();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

}  // namespace
}  // namespace pubsub
