// End-to-end fault injection: PostgreSQL restarted mid-stream, pubsubd killed with -9, SIGTERM
// under load. The invariant under test (SPEC 4): an acknowledged event is never lost.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "storage/embedded_pg.h"
#include "storage/migrations.h"
#include "tests/e2e/e2e_env.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

using fault_e2e = e2e_test;

std::string line_with_ack(std::size_t i, bool durable) {
    return event_line("e2e_event", "e2e:" + std::to_string(i), "{\"i\":" + std::to_string(i) + "}",
                      1 + static_cast<int>(i % 10), durable ? "durable" : "queued");
}

// A load running on its own thread until stopped; the test thread watches `answered`.
struct background_load {
    explicit background_load(load_options o) : opts(std::move(o)) {
        opts.stop = &stop;
        opts.answered = &answered;
        thread = std::thread([this] { out = run_load(opts); });
    }
    ~background_load() { finish(); }
    // Waits until at least n lines are answered; false on timeout.
    bool wait_answered(std::size_t n, std::chrono::seconds timeout) {
        auto until = std::chrono::steady_clock::now() + timeout;
        while (answered.load(std::memory_order_acquire) < n) {
            if (std::chrono::steady_clock::now() >= until) return false;
            std::this_thread::sleep_for(1ms);
        }
        return true;
    }
    void finish() {
        stop.store(true, std::memory_order_release);
        if (thread.joinable()) thread.join();
    }

    load_options opts;
    std::atomic<bool> stop{false};
    std::atomic<std::size_t> answered{0};
    result<load_result> out = status::error("load not finished");
    std::thread thread;
};

std::string find_pg_ctl() {
    std::error_code ec;
    for (const char* dir : {"/usr/local/bin", "/usr/bin"}) {
        if (fs::exists(fs::path(dir) / "pg_ctl", ec)) return std::string(dir) + "/pg_ctl";
    }
    std::string best;
    for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
        auto p = e.path() / "bin" / "pg_ctl";
        if (fs::exists(p, ec) && p.string() > best) best = p.string();
    }
    return best.empty() ? "pg_ctl" : best;
}

// pg_ctl restart -m fast on a cluster started by embedded_cluster (as postgres when root).
status restart_postgres(const embedded_cluster& cluster, const fs::path& log) {
    std::vector<std::string> argv;
    if (geteuid() == 0) argv = {"runuser", "-u", "postgres", "--"};
    for (const std::string& a :
         {find_pg_ctl(), std::string("restart"), std::string("-m"), std::string("fast"),
          std::string("-w"), std::string("-t"), std::string("60"), std::string("-D"),
          (cluster.cluster_dir() / "data").string(), std::string("-l"),
          cluster.log_file().string()}) {
        argv.push_back(a);
    }
    auto code = run_command(argv, log, 90s);
    if (!code.ok()) return code.error();
    if (*code != 0) {
        return status::error("pg_ctl restart exited " + std::to_string(*code) + ": " +
                             file_tail(log, 2000));
    }
    return status();
}

// The shared test cluster serves every integration test, possibly in parallel (ctest -j), so
// this test restarts a private cluster instead.
TEST_F(fault_e2e, PostgresRestartMidStreamLosesNoAckedEvent) {
    temp_dir pg_tmp("pubsub-e2e-pg-");
    embedded_options eo;
    eo.data_dir = pg_tmp.path() / "data";
    embedded_cluster cluster(eo);
    status started = cluster.start();
    struct stopper {
        embedded_cluster& c;
        ~stopper() { (void)c.stop(); }
    } stop_cluster{cluster};
    ASSERT_TRUE(started.ok()) << started.message();
    const std::string pdsn = cluster.dsn();
    {
        auto c = pg::connection::open(pdsn);
        ASSERT_TRUE(c.ok()) << c.message();
        auto applied = apply_migrations(*c, schema());
        ASSERT_TRUE(applied.ok()) << applied.message();
        auto ins = c->query("INSERT INTO " + c->quote_identifier(schema()) +
                            ".tpubsub_subscribers (subscriber_name, event_type, job_type) "
                            "VALUES ('e2e_noop', 'e2e_event', 'noop')");
        ASSERT_TRUE(ins.ok()) << ins.message();
    }
    start_daemon_on(pdsn, {"--db-wait", "60"});
    ASSERT_FALSE(HasFatalFailure());

    load_options lo;
    lo.socket_path = socket_path();
    lo.count = 200'000;
    lo.window = 64;
    lo.reply_timeout = 60s;
    lo.line = [](std::size_t i) { return line_with_ack(i, true); };
    background_load load(lo);
    ASSERT_TRUE(load.wait_answered(2000, 60s)) << "no traffic before the restart";
    auto t0 = std::chrono::steady_clock::now();
    status restarted = restart_postgres(cluster, tmp().path() / "pg_ctl.log");
    ASSERT_TRUE(restarted.ok()) << restarted.message();
    double restart_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::size_t at_restart = load.answered.load();
    bool resumed = load.wait_answered(at_restart + 2000, 60s);
    load.finish();
    ASSERT_TRUE(load.out.ok()) << load.out.message();
    const auto& out = *load.out;
    std::printf(
        "[ e2e ] PostgreSQL restart (%.2f s) mid-stream: %zu lines sent, %zu ok, %zu "
        "errors, end: %s\n",
        restart_s, out.sent, out.ok_count(), out.error_count(),
        out.end_reason.empty() ? "clean" : out.end_reason.c_str());
    for (const auto& r : out.replies) {
        if (!r.ok) {
            std::printf("[ e2e ] first error reply: %s\n", r.raw.c_str());
            break;
        }
    }
    EXPECT_TRUE(resumed) << "the stream did not recover after the restart";
    EXPECT_EQ(out.end_reason, "");
    EXPECT_TRUE(daemon_running());

    auto ids = acked_ids(out);
    ASSERT_GT(ids.size(), 2000u);
    status done = wait_completed(pdsn, schema(), ids, 30s);
    EXPECT_TRUE(done.ok()) << done.message();
    EXPECT_EQ(stop_daemon(), std::optional<int>(0));
}

TEST_F(fault_e2e, KillNineUnderLoadLosesNoDurablyAckedEvent) {
    add_noop_subscriber("e2e_noop", "e2e_event");
    start_daemon();
    ASSERT_FALSE(HasFatalFailure());

    load_options lo;
    lo.socket_path = socket_path();
    lo.count = 200'000;
    lo.window = 512;
    lo.line = [](std::size_t i) { return line_with_ack(i, i % 2 == 0); };
    background_load load(lo);
    ASSERT_TRUE(load.wait_answered(5000, 60s));
    ASSERT_TRUE(daemon().signal(SIGKILL).ok());
    EXPECT_EQ(daemon().wait(10s), std::optional<int>(128 + SIGKILL));
    load.finish();
    ASSERT_TRUE(load.out.ok()) << load.out.message();
    const auto& out = *load.out;
    auto durable = acked_ids(out, [](std::size_t i) { return i % 2 == 0; });
    auto queued = acked_ids(out, [](std::size_t i) { return i % 2 == 1; });
    std::printf("[ e2e ] kill -9 after %zu replies: %zu durable acks, %zu queued acks, end: %s\n",
                out.replies.size(), durable.size(), queued.size(), out.end_reason.c_str());
    ASSERT_GT(durable.size(), 1000u);

    // Before the restart: every durably acked row is already there.
    auto rows = read_events(dsn(), schema(), durable);
    ASSERT_TRUE(rows.ok()) << rows.message();
    EXPECT_EQ(rows->size(), durable.size()) << "durably acked events missing after kill -9";

    start_daemon();
    ASSERT_FALSE(HasFatalFailure());
    status done = wait_completed(dsn(), schema(), durable, 30s);
    EXPECT_TRUE(done.ok()) << done.message();
    auto queued_rows = read_events(dsn(), schema(), queued);
    ASSERT_TRUE(queued_rows.ok());
    std::printf("[ e2e ] queued acks lost by kill -9 (allowed): %zu of %zu\n",
                queued.size() - queued_rows->size(), queued.size());
    // Whatever was persisted, pending or processing at the kill, is resumed to completion.
    auto all_done = [&] {
        auto c = status_counts(dsn(), schema());
        return c.ok() && c->size() == 1 && c->count("completed");
    };
    for (int i = 0; i < 200 && !all_done(); ++i) std::this_thread::sleep_for(100ms);
    EXPECT_TRUE(all_done()) << "some rows never left pending/processing after the restart";
    EXPECT_EQ(stop_daemon(), std::optional<int>(0));
}

TEST_F(fault_e2e, SigtermUnderLoadExitsZeroAndPersistsEveryAck) {
    add_noop_subscriber("e2e_noop", "e2e_event");
    start_daemon();
    ASSERT_FALSE(HasFatalFailure());

    load_options lo;
    lo.socket_path = socket_path();
    lo.count = 200'000;
    lo.window = 512;
    lo.line = [](std::size_t i) { return line_with_ack(i, i % 2 == 0); };
    background_load load(lo);
    ASSERT_TRUE(load.wait_answered(5000, 60s));
    ASSERT_TRUE(daemon().signal(SIGTERM).ok());
    auto code = daemon().wait(60s);
    load.finish();
    EXPECT_EQ(code, std::optional<int>(0)) << "pubsubd did not exit 0 after SIGTERM";
    ASSERT_TRUE(load.out.ok()) << load.out.message();
    const auto& out = *load.out;
    auto durable = acked_ids(out, [](std::size_t i) { return i % 2 == 0; });
    auto queued = acked_ids(out, [](std::size_t i) { return i % 2 == 1; });
    std::printf(
        "[ e2e ] SIGTERM after >= 5000 replies: %zu replies (%zu errors), %zu durable "
        "and %zu queued acks, end: %s\n",
        out.replies.size(), out.error_count(), durable.size(), queued.size(),
        out.end_reason.c_str());
    ASSERT_GT(durable.size(), 1000u);
    ASSERT_GT(queued.size(), 1000u);
    auto d_rows = read_events(dsn(), schema(), durable);
    auto q_rows = read_events(dsn(), schema(), queued);
    ASSERT_TRUE(d_rows.ok() && q_rows.ok());
    EXPECT_EQ(d_rows->size(), durable.size()) << "durably acked events lost by SIGTERM";
    EXPECT_EQ(q_rows->size(), queued.size()) << "queued-acked events lost by SIGTERM";
    auto counts = status_counts(dsn(), schema());
    ASSERT_TRUE(counts.ok());
    std::string summary;
    for (const auto& [s, n] : *counts) summary += " " + s + "=" + std::to_string(n);
    std::printf("[ e2e ] statuses after SIGTERM:%s\n", summary.c_str());

    // Anything the drain left open is resumed by the next start.
    start_daemon();
    ASSERT_FALSE(HasFatalFailure());
    auto all = durable;
    all.insert(all.end(), queued.begin(), queued.end());
    status done = wait_completed(dsn(), schema(), all, 30s);
    EXPECT_TRUE(done.ok()) << done.message();
    EXPECT_EQ(stop_daemon(), std::optional<int>(0));
}

std::size_t last_ok_line(const load_result& r) {
    std::size_t last = 0;
    for (std::size_t i = 0; i < r.replies.size(); ++i) {
        if (r.replies[i].ok) last = i;
    }
    return last;
}

// Stress test, disabled (about 60 s): SPEC 6 says SIGTERM drains in-flight work up to
// --drain-timeout (10 s), so an event acknowledged before the SIGTERM must be `completed` when
// pubsubd exits 0 well within that deadline. Before 97732e4 (pool_set drain counting in-flight
// deliveries) about 1 round in 35 left one acked event `pending` under CPU contention; none in
// 210 rounds since. Run it after touching the stop order (daemon.cc, intake, router, pool_set):
//   e2e_test --gtest_also_run_disabled_tests --gtest_filter='*RepeatedSigterm*'
TEST_F(fault_e2e, DISABLED_RepeatedSigtermLeavesNoAckedEventOpen) {
    add_noop_subscriber("e2e_noop", "e2e_event");
    for (int round = 0; round < 30; ++round) {
        start_daemon();
        ASSERT_FALSE(HasFatalFailure());
        load_options lo;
        lo.socket_path = socket_path();
        lo.count = 200'000;
        lo.window = 1024;
        lo.line = [](std::size_t i) { return line_with_ack(i, i % 4 == 0); };
        background_load load(lo);
        ASSERT_TRUE(load.wait_answered(3000, 60s));
        auto t0 = std::chrono::steady_clock::now();
        ASSERT_TRUE(daemon().signal(SIGTERM).ok());
        auto code = daemon().wait(60s);
        double stop_s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        load.finish();
        ASSERT_EQ(code, std::optional<int>(0));
        ASSERT_TRUE(load.out.ok()) << load.out.message();
        auto ids = acked_ids(*load.out);
        auto rows = read_events(dsn(), schema(), ids);
        ASSERT_TRUE(rows.ok()) << rows.message();
        ASSERT_EQ(rows->size(), ids.size());
        for (const auto& [id, row] : *rows) {
            std::size_t line = 0;
            while (line < load.out->replies.size() && load.out->replies[line].event_id != id) {
                ++line;
            }
            ASSERT_EQ(row.status, "completed")
                << "round " << round << ": line " << line << " of " << load.out->replies.size()
                << " answered, last ok line " << last_ok_line(*load.out) << " ("
                << (line % 4 == 0 ? "durable" : "queued") << " ack): event " << id
                << " was acked before SIGTERM, pubsubd "
                << "exited 0 after " << stop_s << " s (drain deadline 10 s), yet it is left "
                << row.status;
        }
    }
}

}  // namespace
}  // namespace pubsub::e2e
