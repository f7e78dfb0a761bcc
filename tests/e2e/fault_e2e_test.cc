// End-to-end fault injection: PostgreSQL restarted mid-stream, pubsubd killed with -9, SIGTERM
// under load (once, and repeatedly). The invariant under test (SPEC 4): an acknowledged event
// is never lost. PostgreSQL crashes and outages: pg_fault_e2e_test.cc.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "tests/e2e/e2e_env.h"
#include "tests/e2e/fault_support.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;

using fault_e2e = e2e_test;

// The shared test cluster serves every integration test, possibly in parallel (ctest -j), so
// this test restarts a private cluster instead. After the restart the stream must be acked
// again (an error reply is an answer, not a recovery), and every ack must have its row.
TEST_F(fault_e2e, PostgresRestartMidStreamLosesNoAckedEvent) {
    private_cluster& cluster = private_cluster::shared();
    status prepared = cluster.prepare(schema());
    ASSERT_TRUE(prepared.ok()) << prepared.message();
    start_daemon_on(cluster.dsn(), {"--db-wait", "60"});
    ASSERT_FALSE(HasFatalFailure());

    background_load load(durable_load(socket_path(), 200'000));
    ASSERT_TRUE(load.wait_acked(2000, 60s)) << "no traffic before the restart";
    auto t0 = std::chrono::steady_clock::now();
    status restarted = cluster.restart_fast(tmp().path() / "pg_ctl.log");
    ASSERT_TRUE(restarted.ok()) << restarted.message();
    double restart_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::size_t at_restart = load.answered.load();
    const std::size_t acked_at_restart = load.acked.load();
    bool resumed = load.wait_acked(acked_at_restart + 2000, 60s);
    load.finish();
    ASSERT_TRUE(load.out.ok()) << load.out.message();
    const auto& out = *load.out;
    std::size_t ok_after = 0;
    for (std::size_t i = at_restart; i < out.replies.size(); ++i) ok_after += out.replies[i].ok;
    std::printf(
        "[ e2e ] PostgreSQL restart (%.2f s) mid-stream: %zu lines sent, %zu ok (%zu after the "
        "restart), %zu errors, end: %s\n",
        restart_s, out.sent, out.ok_count(), ok_after, out.error_count(),
        out.end_reason.empty() ? "clean" : out.end_reason.c_str());
    for (const auto& r : out.replies) {
        if (!r.ok) {
            std::printf("[ e2e ] first error reply: %s\n", r.raw.c_str());
            break;
        }
    }
    EXPECT_TRUE(resumed) << "events were not acked again after the restart\n"
                         << daemon().log_tail();
    EXPECT_GE(ok_after, 2000u);
    EXPECT_EQ(out.end_reason, "");
    EXPECT_TRUE(daemon_running());

    auto ids = acked_ids(out);
    ASSERT_GT(ids.size(), 4000u);
    auto rows = read_events(cluster.dsn(), schema(), ids);
    ASSERT_TRUE(rows.ok()) << rows.message();
    EXPECT_EQ(rows->size(), ids.size()) << "acked events missing after the restart";
    status done = wait_completed(cluster.dsn(), schema(), ids, 30s);
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

// SPEC 6 says SIGTERM drains in-flight work up to --drain-timeout (10 s), so an event
// acknowledged before the SIGTERM must be `completed` when pubsubd exits 0 well within that
// deadline. Before the pool_set drain counted in-flight deliveries about 1 round in 35 left one
// acked event `pending` under CPU contention: a few short rounds here, more by hand after
// touching the stop order (daemon.cc, intake, router, pool_set):
//   PUBSUB_SIGTERM_ROUNDS=30 e2e_test --gtest_filter='*RepeatedSigterm*'
TEST_F(fault_e2e, RepeatedSigtermLeavesNoAckedEventOpen) {
    add_noop_subscriber("e2e_noop", "e2e_event");
    const char* env = std::getenv("PUBSUB_SIGTERM_ROUNDS");
    const int rounds = env ? std::max(1, std::atoi(env)) : 10;
    for (int round = 0; round < rounds; ++round) {
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
