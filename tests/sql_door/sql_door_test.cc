// The PostgreSQL door end to end (SPEC 3.3, sql/005_sql_door.sql): create_event() in bulk and
// one per transaction, events created while no router runs, a killed LISTEN connection, two
// routers sharing one schema, argument errors, and pg_notify('tpubsub_ingest').
//
// Every test runs the real pubsubd on a fresh schema (the e2e harness) and judges by the final
// state of the tables, never by timing.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <set>
#include <thread>

#include "storage/channels.h"
#include "tests/e2e/e2e_env.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

// Aggregates over the rows of one event type.
struct type_summary {
    std::int64_t total = 0, completed = 0, missing_ts = 0, bad_order = 0, with_error = 0,
                 retried = 0, unclaimed = 0;
};

// Counts the NOTIFYs on tpubsub_events sent by one backend (be_pid), so that other tests'
// traffic on the shared cluster does not count.
class notify_counter {
  public:
    static result<notify_counter> open(const std::string& dsn, const std::string& schema) {
        auto c = pg::connection::open(dsn);
        if (!c.ok()) return c.error();
        if (auto s =
                c->exec("LISTEN " + c->quote_identifier(schema_channel("tpubsub_events", schema)));
            !s.ok()) {
            return s;
        }
        return notify_counter(std::move(*c));
    }
    // Reads notifications until none arrived for `quiet`; returns the payloads from `pid`.
    std::vector<std::string> drain_from(int pid, std::chrono::milliseconds quiet) {
        for (;;) {
            pollfd p{conn_.socket(), POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(quiet.count())) <= 0) break;
            if (PQconsumeInput(conn_.raw()) == 0) break;
            while (PGnotify* n = PQnotifies(conn_.raw())) {
                if (n->be_pid == pid) payloads_.emplace_back(n->extra ? n->extra : "");
                PQfreemem(n);
            }
        }
        return payloads_;
    }

  private:
    explicit notify_counter(pg::connection c) : conn_(std::move(c)) {}
    pg::connection conn_;
    std::vector<std::string> payloads_;
};

// SQLSTATE and message of a statement that is expected to fail ("" / "" when it succeeded).
struct sql_error {
    std::string sqlstate, message;
};

sql_error run_expecting_error(pg::connection& c, const std::string& sql) {
    PGresult* r = PQexec(c.raw(), sql.c_str());
    sql_error e;
    if (PQresultStatus(r) == PGRES_FATAL_ERROR) {
        const char* st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        const char* msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        e.sqlstate = st ? st : "?";
        e.message = msg ? msg : "?";
    }
    PQclear(r);
    return e;
}

class sql_door : public e2e_test {
  protected:
    std::string qs() { return conn().quote_identifier(schema()); }

    // create_event with text parameters on `c` (autocommit unless a transaction is open).
    result<std::int64_t> create_one(pg::connection& c, const std::string& type,
                                    const std::string& source, const std::string& data,
                                    int priority) {
        auto r = c.query("SELECT " + qs() + ".create_event($1, $2, $3::jsonb, $4::int)",
                         {type, source, data, std::to_string(priority)});
        if (!r.ok()) return r.error();
        return r->get_int(0, 0);
    }

    // n events of `type` with one statement (so in one transaction unless one is open).
    result<std::vector<std::int64_t>> create_series(pg::connection& c, const std::string& type,
                                                    int first, int last) {
        auto r = c.query("SELECT " + qs() +
                             ".create_event($1, 'sql:series', jsonb_build_object('i', g), "
                             "1 + g % 10) FROM generate_series($2::int, $3::int) g",
                         {type, std::to_string(first), std::to_string(last)});
        if (!r.ok()) return r.error();
        std::vector<std::int64_t> ids;
        for (int i = 0; i < r->rows(); ++i) ids.push_back(r->get_int(i, 0));
        return ids;
    }

    type_summary summarize(const std::string& type) {
        type_summary t;
        auto r = conn().query(
            "SELECT count(*), count(*) FILTER (WHERE status = 'completed'), "
            "count(*) FILTER (WHERE processed_at IS NULL OR completed_at IS NULL), "
            "count(*) FILTER (WHERE NOT (created_at <= processed_at AND "
            "processed_at <= completed_at)), "
            "count(*) FILTER (WHERE error_message IS NOT NULL), "
            "count(*) FILTER (WHERE retry_count <> 0), "
            "count(*) FILTER (WHERE claimed_by IS NULL) FROM " +
                qs() + ".tpubsub_events WHERE event_type = $1",
            {type});
        EXPECT_TRUE(r.ok()) << r.message();
        if (!r.ok()) return t;
        t.total = r->get_int(0, 0);
        t.completed = r->get_int(0, 1);
        t.missing_ts = r->get_int(0, 2);
        t.bad_order = r->get_int(0, 3);
        t.with_error = r->get_int(0, 4);
        t.retried = r->get_int(0, 5);
        t.unclaimed = r->get_int(0, 6);
        return t;
    }

    // Every event of `type` (exactly `expected` rows) completed once, cleanly, in order.
    void expect_all_completed_cleanly(const std::string& type, std::int64_t expected) {
        auto t = summarize(type);
        EXPECT_EQ(t.total, expected);
        EXPECT_EQ(t.completed, expected);
        EXPECT_EQ(t.missing_ts, 0) << "rows without processed_at or completed_at";
        EXPECT_EQ(t.bad_order, 0) << "rows violating created_at <= processed_at <= completed_at";
        EXPECT_EQ(t.with_error, 0) << "rows with an error_message (no subscriber matched?)";
        EXPECT_EQ(t.retried, 0) << "rows with retry_count <> 0";
        EXPECT_EQ(t.unclaimed, 0) << "completed rows with claimed_by NULL";
    }

    // Starts pubsubd (the fixture's) with application_name `app` and waits until its listener
    // has LISTENed: pg_notify is fire-and-forget, a payload sent earlier is lost by design.
    void start_listening_daemon(const std::string& app, const std::vector<std::string>& extra) {
        start_daemon_on(dsn() + " application_name=" + app, extra);
        if (HasFatalFailure()) return;
        ASSERT_TRUE(wait_listening(app)) << "pubsubd's listener did not connect\n"
                                         << daemon().log_tail();
    }

    // The backend of application `app` that is its listener: pubsubd appends
    // " pubsubd-listener" to the application_name of that session once it has LISTENed.
    std::set<std::int64_t> listener_pids(const std::string& app) {
        std::set<std::int64_t> pids;
        auto r = conn().query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1 || ' pubsubd-listener' "
            "AND pid <> pg_backend_pid()",
            {app});
        EXPECT_TRUE(r.ok()) << r.message();
        if (r.ok()) {
            for (int i = 0; i < r->rows(); ++i) pids.insert(r->get_int(i, 0));
        }
        return pids;
    }

    bool wait_listening(const std::string& app) {
        auto until = steady::now() + 30s;
        while (steady::now() < until) {
            if (!listener_pids(app).empty()) return true;
            std::this_thread::sleep_for(20ms);
        }
        return false;
    }

    std::int64_t scalar(const std::string& sql,
                        const std::vector<std::optional<std::string>>& params = {}) {
        auto r = conn().query(sql, params);
        EXPECT_TRUE(r.ok()) << r.message() << "\n" << sql;
        return r.ok() && r->rows() > 0 ? r->get_int(0, 0) : -1;
    }
};

// ---- bulk ---------------------------------------------------------------------------------

TEST_F(sql_door, TenThousandEventsInOneTransactionAllComplete) {
    add_noop_subscriber("bulk_noop", "sql_bulk");
    start_daemon();
    ASSERT_FALSE(HasFatalFailure());

    auto listen = notify_counter::open(dsn(), schema());
    ASSERT_TRUE(listen.ok()) << listen.message();
    auto c = pg::connection::open(dsn());
    ASSERT_TRUE(c.ok()) << c.message();
    const int pid = PQbackendPID(c->raw());

    // One transaction, two statements: create_event must notify once for the whole
    // transaction, not once per statement.
    ASSERT_TRUE(c->exec("BEGIN").ok());
    auto a = create_series(*c, "sql_bulk", 1, 5000);
    ASSERT_TRUE(a.ok()) << a.message();
    auto b = create_series(*c, "sql_bulk", 5001, 10'000);
    ASSERT_TRUE(b.ok()) << b.message();
    // Nothing is visible (so nothing is routed) before COMMIT.
    EXPECT_EQ(scalar("SELECT count(*) FROM " + qs() + ".tpubsub_events"), 0);
    ASSERT_TRUE(c->exec("COMMIT").ok()) << c->last_error();

    std::vector<std::int64_t> ids = *a;
    ids.insert(ids.end(), b->begin(), b->end());
    ASSERT_EQ(std::set<std::int64_t>(ids.begin(), ids.end()).size(), 10'000u);

    auto t0 = steady::now();
    status done = wait_completed(dsn(), schema(), ids, 90s);
    ASSERT_TRUE(done.ok()) << done.message();
    std::printf("[ sql_door ] 10000 events in one transaction: completed %.3f s after COMMIT\n",
                std::chrono::duration<double>(steady::now() - t0).count());
    expect_all_completed_cleanly("sql_bulk", 10'000);

    auto notes = listen->drain_from(pid, 300ms);
    ASSERT_EQ(notes.size(), 1u) << "create_event must NOTIFY once per transaction";
    EXPECT_EQ(notes[0], std::to_string(ids.front())) << "the payload is the first event's id";
}

TEST_F(sql_door, TwoThousandAutocommitEventsAllComplete) {
    add_noop_subscriber("auto_noop", "sql_auto");
    start_daemon();
    ASSERT_FALSE(HasFatalFailure());

    auto listen = notify_counter::open(dsn(), schema());
    ASSERT_TRUE(listen.ok()) << listen.message();
    auto c = pg::connection::open(dsn());
    ASSERT_TRUE(c.ok()) << c.message();
    const int pid = PQbackendPID(c->raw());

    std::vector<std::int64_t> ids;
    auto t0 = steady::now();
    for (int i = 0; i < 2000; ++i) {
        auto id =
            create_one(*c, "sql_auto", "sql:auto", "{\"i\":" + std::to_string(i) + "}", 1 + i % 10);
        ASSERT_TRUE(id.ok()) << id.message();
        ids.push_back(*id);
    }
    double create_s = std::chrono::duration<double>(steady::now() - t0).count();
    status done = wait_completed(dsn(), schema(), ids, 90s);
    ASSERT_TRUE(done.ok()) << done.message();
    std::printf(
        "[ sql_door ] 2000 autocommit create_event: %.3f s to create (%.0f/s), all "
        "completed %.3f s after the first\n",
        create_s, 2000 / create_s, std::chrono::duration<double>(steady::now() - t0).count());
    expect_all_completed_cleanly("sql_auto", 2000);

    auto notes = listen->drain_from(pid, 300ms);
    ASSERT_EQ(notes.size(), 2000u) << "one NOTIFY per autocommit create_event";
    for (std::size_t i = 0; i < notes.size(); ++i) {
        ASSERT_EQ(notes[i], std::to_string(ids[i])) << "notification " << i;
    }
}

// ---- no router running ----------------------------------------------------------------------

TEST_F(sql_door, EventsCreatedWhileStoppedAreDispatchedAtStart) {
    add_noop_subscriber("stopped_noop", "sql_stopped");
    auto c = pg::connection::open(dsn());
    ASSERT_TRUE(c.ok()) << c.message();

    // Before the first start, then while a started daemon is stopped again.
    auto before = create_series(*c, "sql_stopped", 1, 300);
    ASSERT_TRUE(before.ok()) << before.message();
    start_daemon();
    ASSERT_FALSE(HasFatalFailure());
    ASSERT_TRUE(wait_completed(dsn(), schema(), *before, 60s).ok());
    ASSERT_EQ(stop_daemon(), std::optional<int>(0)) << daemon().log_tail();

    std::vector<std::int64_t> ids = *before;
    auto series = create_series(*c, "sql_stopped", 301, 800);
    ASSERT_TRUE(series.ok()) << series.message();
    ids.insert(ids.end(), series->begin(), series->end());
    for (int i = 0; i < 200; ++i) {
        auto id = create_one(*c, "sql_stopped", "sql:stopped", "{}", 5);
        ASSERT_TRUE(id.ok()) << id.message();
        ids.push_back(*id);
    }
    // Nobody routes them meanwhile.
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(scalar("SELECT count(*) FROM " + qs() +
                     ".tpubsub_events WHERE status = 'pending' AND claimed_by IS NULL"),
              700);

    // A long sweep interval: only the sweep at connect can find them.
    start_daemon({"--sweep-interval-ms", "600000"});
    ASSERT_FALSE(HasFatalFailure());
    status done = wait_completed(dsn(), schema(), ids, 60s);
    ASSERT_TRUE(done.ok()) << done.message();
    expect_all_completed_cleanly("sql_stopped", 1000);
}

// ---- the LISTEN connection killed ------------------------------------------------------------

// Creates events on its own connection until stopped: mostly autocommit, every tenth round a
// transaction of 20.
struct sql_writer {
    sql_writer(std::string dsn_text, std::string schema_q) {
        thread = std::thread([this, d = std::move(dsn_text), s = std::move(schema_q)] {
            auto c = pg::connection::open(d + " application_name=sqldoor_writer");
            if (!c.ok()) {
                error = c.message();
                return;
            }
            const std::string one = "SELECT " + s +
                                    ".create_event('sql_kill', 'sql:kill', "
                                    "jsonb_build_object('n', $1::int), 5)";
            const std::string many = "SELECT " + s +
                                     ".create_event('sql_kill', 'sql:kill', jsonb_build_object("
                                     "'n', $1::int, 'g', g), 3) FROM generate_series(1, 20) g";
            for (int round = 0; !stop.load(std::memory_order_acquire); ++round) {
                auto r = c->query(round % 10 == 9 ? many : one, {std::to_string(round)});
                if (!r.ok()) {
                    error = r.message();
                    return;
                }
                for (int i = 0; i < r->rows(); ++i) ids.push_back(r->get_int(i, 0));
                std::this_thread::sleep_for(500us);
            }
        });
    }
    ~sql_writer() { finish(); }
    void finish() {
        stop.store(true, std::memory_order_release);
        if (thread.joinable()) thread.join();
    }

    std::atomic<bool> stop{false};
    std::vector<std::int64_t> ids;  // read after finish()
    std::string error;              // read after finish()
    std::thread thread;
};

TEST_F(sql_door, ListenConnectionTerminatedReconnectsAndCatchesUp) {
    add_noop_subscriber("kill_noop", "sql_kill");
    const std::string app = "sqldoor_kill_" + schema();
    // The periodic sweep is pushed out of the way: what was created while the listener was
    // gone must be found by the sweep at reconnect (or a later NOTIFY's sweep).
    start_listening_daemon(app, {"--sweep-interval-ms", "600000"});
    ASSERT_FALSE(HasFatalFailure());
    auto listener_pids = [&] { return this->listener_pids(app); };

    sql_writer writer(dsn(), qs());
    std::this_thread::sleep_for(1s);

    // 1: the LISTEN connection alone.
    auto first = listener_pids();
    ASSERT_EQ(first.size(), 1u) << "cannot tell pubsubd's listener backend apart";
    const std::int64_t old_pid = *first.begin();
    EXPECT_EQ(scalar("SELECT pg_terminate_backend($1::int)::int", {std::to_string(old_pid)}), 1);
    auto until = steady::now() + 30s;
    std::set<std::int64_t> now_pids;
    while (steady::now() < until) {
        now_pids = listener_pids();
        if (!now_pids.empty() && !now_pids.count(old_pid)) break;
        std::this_thread::sleep_for(50ms);
    }
    ASSERT_FALSE(now_pids.empty() || now_pids.count(old_pid))
        << "no new listener backend after the old one was terminated";
    std::this_thread::sleep_for(700ms);

    // 2: every backend of this pubsubd (listener, write-behind, id allocator, start-up).
    auto all = scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
        "(application_name = $1 OR application_name = $1 || ' pubsubd-listener') AND "
        "pid <> pg_backend_pid()",
        {app});
    EXPECT_GE(all, 2);
    std::this_thread::sleep_for(700ms);
    writer.finish();
    ASSERT_EQ(writer.error, "");
    ASSERT_GT(writer.ids.size(), 100u);
    ASSERT_TRUE(daemon_running()) << daemon().log_tail();

    status done = wait_completed(dsn(), schema(), writer.ids, 90s);
    ASSERT_TRUE(done.ok()) << done.message();
    expect_all_completed_cleanly("sql_kill", static_cast<std::int64_t>(writer.ids.size()));
    std::printf(
        "[ sql_door ] %zu events created around two rounds of pg_terminate_backend "
        "(%lld backends in the second): all completed\n",
        writer.ids.size(), static_cast<long long>(all));

    // And it still routes new events.
    auto c = pg::connection::open(dsn());
    ASSERT_TRUE(c.ok());
    auto late = create_one(*c, "sql_kill", "sql:late", "{}", 5);
    ASSERT_TRUE(late.ok()) << late.message();
    ASSERT_TRUE(wait_completed(dsn(), schema(), {*late}, 30s).ok());
}

// A claim whose UPDATE committed but whose reply was lost with the connection leaves rows
// claimed by a live node, which no sweep takes again: the router must reload them by claim
// token after it reconnects (sql/007_claim_token.sql). The loss is injected by pubsubd itself.
TEST_F(sql_door, ClaimWhoseReplyWasLostIsRoutedAfterReconnect) {
    add_noop_subscriber("lost_noop", "sql_lost");
    const std::string app = "sqldoor_lost_" + schema();
    ::setenv("PUBSUB_TEST_LOSE_CLAIM_REPLIES", "1", 1);
    start_listening_daemon(app, {"--sweep-interval-ms", "600000"});
    ::unsetenv("PUBSUB_TEST_LOSE_CLAIM_REPLIES");
    ASSERT_FALSE(HasFatalFailure());

    auto c = pg::connection::open(dsn());
    ASSERT_TRUE(c.ok()) << c.message();
    auto ids = create_series(*c, "sql_lost", 1, 500);
    ASSERT_TRUE(ids.ok()) << ids.message();

    status done = wait_completed(dsn(), schema(), *ids, 60s);
    ASSERT_TRUE(done.ok()) << done.message() << "\n" << daemon().log_tail();
    expect_all_completed_cleanly("sql_lost", 500);
    EXPECT_NE(daemon().log_tail(100000).find("claim reply dropped"), std::string::npos)
        << "the fault was never injected, so this test proved nothing";
    EXPECT_NE(daemon().log_tail(100000).find("claim reply was lost are routed"),
              std::string::npos);
}

// ---- two routers on one schema ---------------------------------------------------------------

struct node_counters {
    std::int64_t routed = -1, deliveries = -1;
};

class two_routers : public sql_door {
  protected:
    // The second pubsubd: its own socket and node name, same database and schema.
    void start_second(const std::string& app, const std::vector<std::string>& extra) {
        second_socket_ = (tmp().path() / "b.sock").string();
        const std::string d = dsn() + " application_name=" + app;
        std::vector<std::string> argv = {
            bin_dir() + "/pubsubd", "--dsn",       d,     "--schema", schema(), "--socket",
            second_socket_,         "--log-level", "info"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        auto child = child_process::spawn(argv, tmp().path() / "pubsubd-b.log");
        ASSERT_TRUE(child.ok()) << child.message();
        second_.emplace(std::move(*child));
        status up = wait_for_socket(second_socket_, 60s, [this] { return second_->running(); });
        ASSERT_TRUE(up.ok()) << up.message() << "\n" << second_->log_tail();
        ASSERT_TRUE(wait_listening(app)) << "the second pubsubd's listener did not connect\n"
                                         << second_->log_tail();
    }
    void TearDown() override {
        if (second_ && second_->running()) {
            (void)second_->signal(SIGKILL);
            (void)second_->wait(10s);
        }
        if (HasFailure() && second_) {
            std::fprintf(stderr, "---- second pubsubd log tail ----\n%s\n----\n",
                         second_->log_tail().c_str());
        }
        second_.reset();
        sql_door::TearDown();
    }

    // The counters of node `name` from a heartbeat later than server time `after_us`.
    node_counters counters_after(const std::string& name, std::int64_t after_us) {
        node_counters n;
        auto until = steady::now() + 20s;
        while (steady::now() < until) {
            auto r = conn().query(
                "SELECT (info->>'routed')::bigint, (info->>'deliveries')::bigint FROM " + qs() +
                    ".tpubsub_nodes WHERE node_id = $1 AND "
                    "(extract(epoch FROM last_heartbeat) * 1000000)::bigint > $2::bigint",
                {name, std::to_string(after_us)});
            EXPECT_TRUE(r.ok()) << r.message();
            if (r.ok() && r->rows() == 1) {
                n.routed = r->get_int(0, 0);
                n.deliveries = r->get_int(0, 1);
                return n;
            }
            std::this_thread::sleep_for(200ms);
        }
        ADD_FAILURE() << "no heartbeat of node " << name << " after the work was done";
        return n;
    }

    std::optional<child_process> second_;
    std::string second_socket_;
};

TEST_F(two_routers, TenThousandSqlEventsEachDispatchedExactlyOnce) {
    add_noop_subscriber("two_noop", "sql_two");
    start_listening_daemon("sqldoor_a_" + schema(), {"--node-name", "sqldoor_a"});
    ASSERT_FALSE(HasFatalFailure());
    start_second("sqldoor_b_" + schema(), {"--node-name", "sqldoor_b"});
    ASSERT_FALSE(HasFatalFailure());

    // Four sessions, transactions of 1 to 50 events: many NOTIFYs, so both routers sweep
    // concurrently all the time.
    std::vector<std::thread> writers;
    std::vector<std::string> errors(4);
    for (int w = 0; w < 4; ++w) {
        writers.emplace_back([&, w] {
            auto c = pg::connection::open(dsn());
            if (!c.ok()) {
                errors[w] = c.message();
                return;
            }
            int next = w * 2500 + 1;
            const int last = (w + 1) * 2500;
            for (int round = 0; next <= last; ++round) {
                int n = std::min(last - next + 1, round % 3 == 0 ? 1 : 1 + (round * 7) % 50);
                auto r = c->query("SELECT " + qs() +
                                      ".create_event('sql_two', 'sql:two', "
                                      "jsonb_build_object('i', g), 1 + g % 10) "
                                      "FROM generate_series($1::int, $2::int) g",
                                  {std::to_string(next), std::to_string(next + n - 1)});
                if (!r.ok()) {
                    errors[w] = r.message();
                    return;
                }
                next += n;
            }
        });
    }
    for (auto& t : writers) t.join();
    for (const auto& e : errors) ASSERT_EQ(e, "");

    auto until = steady::now() + 120s;
    while (steady::now() < until &&
           scalar("SELECT count(*) FROM " + qs() +
                  ".tpubsub_events WHERE event_type = 'sql_two' AND status = 'completed'") <
               10'000) {
        std::this_thread::sleep_for(200ms);
    }
    expect_all_completed_cleanly("sql_two", 10'000);
    EXPECT_EQ(scalar("SELECT count(DISTINCT (event_data->>'i')::int) FROM " + qs() +
                     ".tpubsub_events WHERE event_type = 'sql_two'"),
              10'000);
    EXPECT_EQ(scalar("SELECT count(*) FROM " + qs() +
                     ".tpubsub_events WHERE claimed_by IS DISTINCT FROM 'sqldoor_a' AND "
                     "claimed_by IS DISTINCT FROM 'sqldoor_b'"),
              0);
    const std::int64_t by_a =
        scalar("SELECT count(*) FROM " + qs() + ".tpubsub_events WHERE claimed_by = 'sqldoor_a'");
    const std::int64_t by_b = 10'000 - by_a;

    const std::int64_t done_us = scalar("SELECT (extract(epoch FROM now()) * 1000000)::bigint");
    auto a = counters_after("sqldoor_a", done_us);
    auto b = counters_after("sqldoor_b", done_us);
    std::printf(
        "[ sql_door ] two routers: a claimed %lld routed %lld delivered %lld; b claimed "
        "%lld routed %lld delivered %lld\n",
        static_cast<long long>(by_a), static_cast<long long>(a.routed),
        static_cast<long long>(a.deliveries), static_cast<long long>(by_b),
        static_cast<long long>(b.routed), static_cast<long long>(b.deliveries));
    EXPECT_EQ(a.routed + b.routed, 10'000) << "every event routed exactly once";
    EXPECT_EQ(a.deliveries + b.deliveries, 10'000) << "one noop delivery per event";
    EXPECT_EQ(a.routed, by_a) << "node a routed what it claimed";
    EXPECT_EQ(b.routed, by_b) << "node b routed what it claimed";
}

// pg_notify('tpubsub_ingest') is delivered to every listening session, so with two routers
// on one schema each of them ingests the payload: the event is persisted (and handled) twice.
TEST_F(two_routers, PgNotifyIngestIsPersistedOnceWithTwoRouters) {
    add_noop_subscriber("two_notify_noop", "sql_two_notify");
    start_listening_daemon("sqldoor_a_" + schema(), {"--node-name", "sqldoor_a"});
    ASSERT_FALSE(HasFatalFailure());
    start_second("sqldoor_b_" + schema(), {"--node-name", "sqldoor_b"});
    ASSERT_FALSE(HasFatalFailure());

    ASSERT_TRUE(conn()
                    .exec("SELECT pg_notify(" + conn().quote_identifier(schema()) +
                          ".tpubsub_channel('tpubsub_ingest'), '{\"event_type\":"
                          "\"sql_two_notify\",\"event_source\":\"sql:two\",\"event_data\":"
                          "{\"k\":1}}')")
                    .ok());
    // Wait until it is persisted, then long enough for a second copy to show up too.
    auto until = steady::now() + 30s;
    while (steady::now() < until &&
           scalar("SELECT count(*) FROM " + qs() +
                  ".tpubsub_events WHERE event_type = 'sql_two_notify' AND status = "
                  "'completed'") < 1) {
        std::this_thread::sleep_for(100ms);
    }
    std::this_thread::sleep_for(2s);
    EXPECT_EQ(scalar("SELECT count(*) FROM " + qs() +
                     ".tpubsub_events WHERE event_type = 'sql_two_notify'"),
              1)
        << "one pg_notify must give one event, whatever the number of routers";
}

// ---- arguments and pg_notify payloads ------------------------------------------------------

TEST_F(sql_door, BadCreateEventArgumentsRaiseDocumentedErrors) {
    const std::string f = qs() + ".create_event";
    struct bad_call {
        std::string args, message;
    };
    const std::vector<bad_call> calls = {
        {"NULL, 's', '{}'", "create_event: event_type must be a non-empty text"},
        {"'', 's', '{}'", "create_event: event_type must be a non-empty text"},
        {"'t', 's', '{}', 0",
         "create_event: priority must be between 1 and 10 (10 is the most urgent), got 0"},
        {"'t', 's', '{}', 11",
         "create_event: priority must be between 1 and 10 (10 is the most urgent), got 11"},
        {"'t', 's', '{}', NULL",
         "create_event: priority must be between 1 and 10 (10 is the most urgent), got NULL"},
        {"'t', 's', '[1, 2]'", "create_event: event_data must be a JSON object, got array"},
        {"'t', 's', '\"text\"'", "create_event: event_data must be a JSON object, got string"},
        {"'t', 's', '42'", "create_event: event_data must be a JSON object, got number"},
        {"'t', 's', 'null'", "create_event: event_data must be a JSON object, got null"},
    };
    for (const auto& call : calls) {
        auto e = run_expecting_error(conn(), "SELECT " + f + "(" + call.args + ")");
        EXPECT_EQ(e.sqlstate, "22023") << call.args;  // invalid_parameter_value
        EXPECT_EQ(e.message, call.message) << call.args;
    }
    // A failed call inside a transaction leaves nothing behind, even an earlier good call.
    ASSERT_TRUE(conn().exec("BEGIN").ok());
    ASSERT_TRUE(conn().query("SELECT " + f + "('t', 's', '{}')").ok());
    EXPECT_EQ(run_expecting_error(conn(), "SELECT " + f + "('t', 's', '{}', 99)").sqlstate,
              "22023");
    ASSERT_TRUE(conn().exec("ROLLBACK").ok());
    EXPECT_EQ(scalar("SELECT count(*) FROM " + qs() + ".tpubsub_events"), 0);

    // The documented defaults: source NULL -> '', data NULL -> {}, priority 5.
    auto id = scalar("SELECT " + f + "('t', NULL, NULL)");
    auto r = conn().query("SELECT event_source, event_data::text, priority, status FROM " + qs() +
                              ".tpubsub_events WHERE event_id = $1::bigint",
                          {std::to_string(id)});
    ASSERT_TRUE(r.ok()) << r.message();
    ASSERT_EQ(r->rows(), 1);
    EXPECT_EQ(r->get(0, 0), "");
    EXPECT_EQ(r->get(0, 1), "{}");
    EXPECT_EQ(r->get(0, 2), "5");
    EXPECT_EQ(r->get(0, 3), "pending");
}

TEST_F(sql_door, MalformedPgNotifyLeavesDaemonHealthyAndValidOneIsRouted) {
    add_noop_subscriber("notify_noop", "sql_notify");
    start_listening_daemon("sqldoor_notify_" + schema(), {});
    ASSERT_FALSE(HasFatalFailure());

    const std::vector<std::string> bad = {
        "",
        "not json",
        "{",
        "[1,2,3]",
        "{}",
        "{\"event_type\":\"\"}",
        "{\"event_type\":42}",
        "{\"event_type\":\"sql_notify\",\"priority\":11}",
        "{\"event_type\":\"sql_notify\",\"priority\":0}",
        "{\"event_type\":\"sql_notify\",\"event_data\":[1]}",
        "{\"event_type\":\"sql_notify\",\"event_data\":{\"a\":1}} trailing",
        "\x01\x02\x03",
    };
    for (const auto& p : bad) {
        auto r = conn().query("SELECT pg_notify(" + conn().quote_identifier(schema()) +
                                  ".tpubsub_channel('tpubsub_ingest'), $1)",
                              {p});
        ASSERT_TRUE(r.ok()) << r.message();
    }
    auto r =
        conn().query("SELECT pg_notify(" + conn().quote_identifier(schema()) +
                         ".tpubsub_channel('tpubsub_ingest'), $1)",
                     {std::string("{\"event_type\":\"sql_notify\",\"event_source\":\"sql:notify\","
                                  "\"event_data\":{\"k\":\"v\",\"n\":[1,2]},\"priority\":7}")});
    ASSERT_TRUE(r.ok()) << r.message();

    auto until = steady::now() + 30s;
    while (steady::now() < until &&
           scalar("SELECT count(*) FROM " + qs() +
                  ".tpubsub_events WHERE event_type = 'sql_notify' AND status = 'completed'") < 1) {
        std::this_thread::sleep_for(100ms);
    }
    std::this_thread::sleep_for(300ms);
    expect_all_completed_cleanly("sql_notify", 1);
    auto row = conn().query(
        "SELECT event_source, event_data = '{\"k\":\"v\",\"n\":[1,2]}'::jsonb, "
        "priority FROM " +
        qs() + ".tpubsub_events WHERE event_type = 'sql_notify'");
    ASSERT_TRUE(row.ok()) << row.message();
    ASSERT_EQ(row->rows(), 1);
    EXPECT_EQ(row->get(0, 0), "sql:notify");
    EXPECT_EQ(row->get(0, 1), "t");
    EXPECT_EQ(row->get(0, 2), "7");
    EXPECT_EQ(scalar("SELECT count(*) FROM " + qs() + ".tpubsub_events"), 1)
        << "a malformed payload was persisted";
    ASSERT_TRUE(daemon_running()) << daemon().log_tail();

    // Still healthy afterwards: the socket door and create_event both route.
    auto client = ndjson_client::connect(socket_path());
    ASSERT_TRUE(client.ok()) << client.message();
    ASSERT_TRUE(client->send_line(event_line("sql_notify", "socket", "{}", 5, "durable")).ok());
    auto reply = client->read_reply(10s);
    ASSERT_TRUE(reply.ok()) << reply.message();
    ASSERT_TRUE(reply->ok) << reply->raw;
    auto id = create_one(conn(), "sql_notify", "sql:after", "{}", 5);
    ASSERT_TRUE(id.ok()) << id.message();
    ASSERT_TRUE(wait_completed(dsn(), schema(), {reply->event_id, *id}, 30s).ok());
    expect_all_completed_cleanly("sql_notify", 3);
}

}  // namespace
}  // namespace pubsub::e2e
