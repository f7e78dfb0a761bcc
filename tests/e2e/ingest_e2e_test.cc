// End-to-end: the socket door of the real pubsubd against real PostgreSQL (SPEC 3.1, 4).
#include <gtest/gtest.h>

#include <cstdio>
#include <set>

#include "tests/e2e/e2e_env.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;

using ingest_e2e = e2e_test;

std::string e2e_line(std::size_t i, std::string_view ack) {
    return event_line("e2e_event", "e2e:" + std::to_string(i), "{\"i\":" + std::to_string(i) + "}",
                      5, ack);
}

TEST_F(ingest_e2e, TenThousandPipelinedDurableEventsAllComplete) {
    add_noop_subscriber("e2e_noop", "e2e_event");
    start_daemon();
    ASSERT_FALSE(HasFatalFailure());

    load_options lo;
    lo.socket_path = socket_path();
    lo.count = 10'000;
    lo.window = 2048;
    lo.line = [](std::size_t i) { return e2e_line(i, "durable"); };
    auto load = run_load(lo);
    ASSERT_TRUE(load.ok()) << load.message();
    ASSERT_EQ(load->end_reason, "");
    ASSERT_EQ(load->replies.size(), 10'000u);
    std::set<std::int64_t> distinct;
    for (const auto& r : load->replies) {
        ASSERT_TRUE(r.ok) << r.raw;
        distinct.insert(r.event_id);
    }
    EXPECT_EQ(distinct.size(), 10'000u);
    std::printf(
        "[ e2e ] 10000 durable events over one pipelined connection: %.3f s, %.0f events/s\n",
        load->seconds, load->per_second());

    auto ids = acked_ids(*load);
    auto t0 = std::chrono::steady_clock::now();
    status done = wait_completed(dsn(), schema(), ids, 20s);
    ASSERT_TRUE(done.ok()) << done.message();
    std::printf("[ e2e ] all completed %.3f s after the last ack\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());

    auto rows = read_events(dsn(), schema(), ids);
    ASSERT_TRUE(rows.ok()) << rows.message();
    ASSERT_EQ(rows->size(), 10'000u);
    for (const auto& [id, row] : *rows) {
        ASSERT_GT(row.processed_us, 0) << "event " << id << " has no processed_at";
        ASSERT_GT(row.completed_us, 0) << "event " << id << " has no completed_at";
        ASSERT_LE(row.created_us, row.processed_us) << "event " << id;
        ASSERT_LE(row.processed_us, row.completed_us) << "event " << id;
        ASSERT_FALSE(row.has_error) << "event " << id << " completed with an error_message "
                                    << "(was it delivered to the noop subscriber?)";
    }
    auto counts = status_counts(dsn(), schema());
    ASSERT_TRUE(counts.ok()) << counts.message();
    EXPECT_EQ((*counts)["completed"], 10'000);
    EXPECT_EQ(counts->size(), 1u) << "rows in statuses other than completed";
}

TEST_F(ingest_e2e, DurableAckMeansTheRowIsCommitted) {
    add_noop_subscriber("e2e_noop", "e2e_event");
    start_daemon();
    ASSERT_FALSE(HasFatalFailure());
    auto client = ndjson_client::connect(socket_path());
    ASSERT_TRUE(client.ok()) << client.message();
    auto checker = pg::connection::open(dsn());
    ASSERT_TRUE(checker.ok()) << checker.message();
    const std::string lookup = "SELECT 1 FROM " + checker->quote_identifier(schema()) +
                               ".tpubsub_events WHERE event_id = $1::bigint";

    // Pipelined: 200 lines at once, then each ack is checked as soon as it is read.
    std::string lines;
    for (std::size_t i = 0; i < 200; ++i) lines += e2e_line(i, "durable") + "\n";
    ASSERT_TRUE(client->send(lines).ok());
    for (std::size_t i = 0; i < 200; ++i) {
        auto r = client->read_reply(10s);
        ASSERT_TRUE(r.ok()) << r.message();
        ASSERT_TRUE(r->ok) << r->raw;
        auto found = checker->query(lookup, {std::to_string(r->event_id)});
        ASSERT_TRUE(found.ok()) << found.message();
        ASSERT_EQ(found->rows(), 1)
            << "event " << r->event_id << " acked durable (line " << i << ") but not in the table";
    }
    // And one at a time, the default ack (no "ack" field) being durable too.
    for (std::size_t i = 0; i < 20; ++i) {
        ASSERT_TRUE(client->send_line(e2e_line(1000 + i, "")).ok());
        auto r = client->read_reply(10s);
        ASSERT_TRUE(r.ok()) << r.message();
        ASSERT_TRUE(r->ok) << r->raw;
        auto found = checker->query(lookup, {std::to_string(r->event_id)});
        ASSERT_TRUE(found.ok()) << found.message();
        ASSERT_EQ(found->rows(), 1) << "event " << r->event_id << " acked (default) but absent";
    }
}

// Sends `line` on `c` and expects an error reply containing `expected`.
void expect_error(ndjson_client& c, const std::string& line, const std::string& expected) {
    ASSERT_TRUE(c.send_line(line).ok());
    auto r = c.read_reply(10s);
    ASSERT_TRUE(r.ok()) << "no reply to " << line << ": " << r.message();
    EXPECT_FALSE(r->ok) << "accepted: " << line;
    EXPECT_NE(r->error.find(expected), std::string::npos)
        << "reply to " << line << " was " << r->raw << ", expected it to mention " << expected;
}

void expect_ok(ndjson_client& c, const std::string& what) {
    ASSERT_TRUE(c.send_line(e2e_line(0, "durable")).ok());
    auto r = c.read_reply(10s);
    ASSERT_TRUE(r.ok()) << what << ": " << r.message();
    EXPECT_TRUE(r->ok) << what << ": " << r->raw;
}

TEST_F(ingest_e2e, BadInputGetsSpecificErrorsAndTheConnectionLivesOn) {
    add_noop_subscriber("e2e_noop", "e2e_event");
    start_daemon();
    ASSERT_FALSE(HasFatalFailure());
    auto bad = ndjson_client::connect(socket_path());
    auto good = ndjson_client::connect(socket_path());
    ASSERT_TRUE(bad.ok() && good.ok());

    struct bad_case {
        std::string line, expected;
    };
    const std::vector<bad_case> cases = {
        {"{\"event_type\":\"e2e_event\",", "malformed JSON"},
        {"not json at all", "malformed JSON"},
        {"{\"event_source\":\"x\",\"priority\":5}", "missing field \"event_type\""},
        {"{\"event_type\":\"e2e_event\",\"priority\":0}",
         "priority must be an integer from 1 to 10 (got 0)"},
        {"{\"event_type\":\"e2e_event\",\"priority\":11}",
         "priority must be an integer from 1 to 10 (got 11)"},
        {"{\"event_type\":\"e2e_event\",\"event_data\":[1,2]}",
         "event_data must be a JSON object, got an array"},
        {"{\"event_type\":\"e2e_event\",\"event_data\":\"text\"}",
         "event_data must be a JSON object, got a string"},
        {"{\"event_type\":\"e2e_event\",\"colour\":\"red\"}", "unknown field \"colour\""},
        {"{\"event_type\":\"e2e_event\",\"ack\":\"maybe\"}", "ack must be"},
        {"[1,2,3]", "request must be a JSON object"},
    };
    for (const auto& c : cases) {
        expect_error(*bad, c.line, c.expected);
        expect_ok(*bad, "same connection after " + c.line);
        expect_ok(*good, "other connection after " + c.line);
    }
    // Pipelined: errors and valid lines interleaved, replies in order.
    std::string mixed;
    for (int i = 0; i < 10; ++i) mixed += (i % 2 ? e2e_line(i, "queued") : cases[0].line) + "\n";
    ASSERT_TRUE(bad->send(mixed).ok());
    for (int i = 0; i < 10; ++i) {
        auto r = bad->read_reply(10s);
        ASSERT_TRUE(r.ok()) << r.message();
        EXPECT_EQ(r->ok, i % 2 == 1) << "line " << i << ": " << r->raw;
    }

    // Oversized: an error reply, then the connection is closed.
    std::string huge = "{\"event_type\":\"e2e_event\",\"event_data\":{\"blob\":\"" +
                       std::string((1 << 20) + 1024, 'x') + "\"}}\n";
    (void)bad->send(huge);  // the daemon may close before it has read everything
    auto r = bad->read_reply(10s);
    ASSERT_TRUE(r.ok()) << "no reply to the oversized line: " << r.message();
    EXPECT_FALSE(r->ok);
    EXPECT_NE(r->error.find("line exceeds 1048576 bytes"), std::string::npos) << r->raw;
    EXPECT_TRUE(bad->at_eof(5s)) << "the connection should be closed after an oversized line";

    expect_ok(*good, "other connection after the oversized line");
    auto fresh = ndjson_client::connect(socket_path());
    ASSERT_TRUE(fresh.ok()) << fresh.message();
    expect_ok(*fresh, "new connection after the oversized line");
    EXPECT_TRUE(daemon_running());
}

}  // namespace
}  // namespace pubsub::e2e
