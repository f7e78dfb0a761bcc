// End-to-end: the real pubsubd's write-behind when PostgreSQL refuses rows (SPEC 7.1: no single
// event may delay or prevent the persistence of any other) and when the database is gone
// (durable acks wait while the memory budget has room, and are refused beyond it).
//
// The test seam is PostgreSQL itself: a trigger on this test's tpubsub_events raises for rows
// whose event_data holds the key "poison", an event the socket door accepts as valid.
#include <gtest/gtest.h>

#include <cstdio>
#include <optional>
#include <thread>

#include "tests/e2e/e2e_env.h"
#include "tests/e2e/fault_support.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;

using write_behind_e2e = e2e_test;

std::string line(std::size_t i, bool poison) {
    return event_line("e2e_event", "e2e:" + std::to_string(i),
                      poison ? "{\"poison\":true}" : "{\"i\":" + std::to_string(i) + "}", 5,
                      "durable");
}

void plant_trigger(pg::connection& c, const std::string& schema, const std::string& when) {
    status s =
        c.exec("CREATE FUNCTION " + schema +
               ".poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF " + when +
               " THEN RAISE EXCEPTION 'poisoned event %', NEW.event_id USING ERRCODE = "
               "'23514'; END IF; RETURN NEW; END $$; CREATE TRIGGER poison BEFORE INSERT ON " +
               schema + ".tpubsub_events FOR EACH ROW EXECUTE FUNCTION " + schema + ".poison()");
    ASSERT_TRUE(s.ok()) << s.message();
}

std::int64_t count_rows(const std::string& dsn, const std::string& schema,
                        const std::string& where) {
    auto c = pg::connection::open(dsn);
    if (!c.ok()) return -1;
    auto r = c->query("SELECT count(*) FROM " + schema + ".tpubsub_events WHERE " + where);
    return r.ok() ? r->get_int(0, 0) : -1;
}

// One durable event on its own connection; the reply, or nullopt when none came in `wait`.
struct one_event {
    std::optional<ndjson_client> client;
    status send(const std::string& sock, std::size_t i) {
        auto c = ndjson_client::connect(sock);
        if (!c.ok()) return c.error();
        client.emplace(std::move(*c));
        return client->send_line(line(i, false));
    }
    std::optional<reply> answer(std::chrono::milliseconds wait) {
        auto r = client->read_reply(wait);
        if (!r.ok()) return std::nullopt;
        return *r;
    }
};

// A bad row among 10,000 pipelined durable events: exactly its ack fails, with PostgreSQL's
// message; the 9,999 others are committed (counted over another connection) and complete, and
// the next event is acked at once.
TEST_F(write_behind_e2e, PlantedBadRowAmongTenThousandFailsAlone) {
    plant_trigger(conn(), schema(), "NEW.event_data ? 'poison'");
    ASSERT_FALSE(HasFatalFailure());
    add_noop_subscriber("e2e_noop", "e2e_event");
    start_daemon();
    ASSERT_FALSE(HasFatalFailure());
    constexpr std::size_t n = 10'000, bad = 5'000;
    load_options lo;
    lo.socket_path = socket_path();
    lo.count = n;
    lo.window = 2048;
    lo.line = [](std::size_t i) { return line(i, i == bad); };
    auto load = run_load(lo);
    ASSERT_TRUE(load.ok()) << load.message();
    ASSERT_EQ(load->end_reason, "");
    ASSERT_EQ(load->replies.size(), n);
    EXPECT_EQ(load->ok_count(), n - 1);
    const reply& refused = load->replies[bad];
    EXPECT_FALSE(refused.ok);
    EXPECT_NE(refused.error.find("rejected by PostgreSQL: poisoned event"), std::string::npos)
        << refused.raw;
    EXPECT_EQ(count_rows(dsn(), schema(), "true"), static_cast<std::int64_t>(n - 1));

    one_event next;
    ASSERT_TRUE(next.send(socket_path(), n).ok());
    auto r = next.answer(1s);
    ASSERT_TRUE(r.has_value()) << "the next event was not acked within a second";
    EXPECT_TRUE(r->ok) << r->raw;
    auto ids = acked_ids(*load);
    ids.push_back(r->event_id);
    status done = wait_completed(dsn(), schema(), ids, 30s);
    EXPECT_TRUE(done.ok()) << done.message();
    EXPECT_TRUE(daemon_running());
    EXPECT_EQ(stop_daemon(), std::optional<int>(0));
    EXPECT_NE(daemon().log_tail().find("rejected by PostgreSQL"), std::string::npos);
}

// The database is gone and --max-unpersisted-bytes is tiny: durable events wait while the
// budget has room and are refused beyond it with an error naming the setting; the waiting ones
// are acked once PostgreSQL is back, and their rows are there. A private cluster, since the
// shared one serves other tests.
TEST_F(write_behind_e2e, DatabaseOutageWaitsWithinTheByteBudgetAndRefusesBeyond) {
    private_cluster& pg = private_cluster::shared();
    status started = pg.prepare(schema());
    ASSERT_TRUE(started.ok()) << started.message();
    const std::string pdsn = pg.dsn();
    // About four events' worth (router/memory_budget.h approx_bytes: ~700 bytes each here).
    start_daemon_on(pdsn, {"--max-unpersisted-bytes", "3000", "--db-wait", "60"});
    ASSERT_FALSE(HasFatalFailure());
    one_event first;
    ASSERT_TRUE(first.send(socket_path(), 0).ok());
    auto a = first.answer(10s);
    ASSERT_TRUE(a && a->ok) << (a ? a->raw : "no reply");

    ASSERT_TRUE(pg.stop_fast(tmp().path() / "pg_ctl.log").ok());
    std::vector<one_event> sends(10);
    for (std::size_t i = 0; i < sends.size(); ++i) {
        ASSERT_TRUE(sends[i].send(socket_path(), i + 1).ok());
        std::this_thread::sleep_for(20ms);  // admission in order, so the refusals come last
    }
    std::vector<std::size_t> waiting;
    std::size_t refused = 0;
    for (std::size_t i = 0; i < sends.size(); ++i) {
        auto r = sends[i].answer(i == 0 ? 1500ms : 200ms);
        if (!r) {
            waiting.push_back(i);
            continue;
        }
        EXPECT_FALSE(r->ok) << "acked while the database is down: " << r->raw;
        EXPECT_NE(r->error.find("--max-unpersisted-bytes 3000"), std::string::npos) << r->raw;
        ++refused;
    }
    EXPECT_GE(waiting.size(), 2u);
    EXPECT_GE(refused, 2u);
    std::printf("[ e2e ] outage: %zu durable events wait, %zu refused\n", waiting.size(), refused);

    ASSERT_TRUE(pg.start().ok());
    std::vector<std::int64_t> ids;
    for (std::size_t i : waiting) {
        auto r = sends[i].answer(30s);
        ASSERT_TRUE(r) << "no ack after the database came back for event " << i + 1;
        EXPECT_TRUE(r->ok) << r->raw;
        ids.push_back(r->event_id);
    }
    auto rows = read_events(pdsn, schema(), ids);
    ASSERT_TRUE(rows.ok()) << rows.message();
    EXPECT_EQ(rows->size(), ids.size());
    one_event after;
    ASSERT_TRUE(after.send(socket_path(), 99).ok());
    a = after.answer(10s);
    EXPECT_TRUE(a && a->ok) << (a ? a->raw : "no reply");
    EXPECT_EQ(stop_daemon(), std::optional<int>(0));
}

}  // namespace
}  // namespace pubsub::e2e
