// PostgreSQL crashes and outages under durable load (SPEC 4, STYLE 7), each on a private cluster
// (fault_support.h) so that the shared test cluster is never disturbed. The audit is always the
// same: every event that got {"ok":true} has its row, read over a fresh connection; and the
// daemon acks again once the database is back.
#include <gtest/gtest.h>

#include <cstdio>
#include <thread>

#include "tests/e2e/e2e_env.h"
#include "tests/e2e/fault_support.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;

using pg_fault_e2e = e2e_test;

// Every ok reply's row is in the table (read over a new connection), and all get completed.
void audit_acks(const std::string& dsn, const std::string& schema, const load_result& out,
                std::size_t at_least) {
    auto ids = acked_ids(out);
    ASSERT_GE(ids.size(), at_least);
    auto rows = read_events(dsn, schema, ids);
    ASSERT_TRUE(rows.ok()) << rows.message();
    EXPECT_EQ(rows->size(), ids.size()) << "acknowledged events missing from the table";
    status done = wait_completed(dsn, schema, ids, 30s);
    EXPECT_TRUE(done.ok()) << done.message();
}

// Two crashes in one run: `pg_ctl stop -m immediate` (no checkpoint, no goodbye to the
// clients), then kill -9 of the postmaster; each followed by a start, and each time the stream
// must be acked again.
TEST_F(pg_fault_e2e, PostgresCrashesUnderDurableLoadLoseNoAck) {
    private_cluster& cluster = private_cluster::shared();
    status prepared = cluster.prepare(schema());
    ASSERT_TRUE(prepared.ok()) << prepared.message();
    start_daemon_on(cluster.dsn(), {"--db-wait", "60"});
    ASSERT_FALSE(HasFatalFailure());

    background_load load(durable_load(socket_path(), 1'000'000));
    ASSERT_TRUE(load.wait_acked(2000, 60s)) << "no traffic before the crash";

    struct crash {
        const char* name;
        std::function<status()> inflict;
    };
    const crash crashes[] = {
        {"pg_ctl stop -m immediate",
         [&] { return cluster.stop_immediate(tmp().path() / "pg_ctl.log"); }},
        {"kill -9 of the postmaster", [&] { return cluster.kill_postmaster(); }},
    };
    for (const auto& c : crashes) {
        ASSERT_TRUE(load.wait_acked(load.acked.load() + 500, 60s)) << c.name;
        status s = c.inflict();
        ASSERT_TRUE(s.ok()) << c.name << ": " << s.message();
        std::this_thread::sleep_for(300ms);  // the daemon meets the dead server
        const auto t0 = std::chrono::steady_clock::now();
        s = cluster.start();
        ASSERT_TRUE(s.ok()) << "restart after " << c.name << ": " << s.message();
        const std::size_t acked = load.acked.load();
        EXPECT_TRUE(load.wait_acked(acked + 500, 60s)) << "not acked again after " << c.name << "\n"
                                                       << daemon().log_tail();
        std::printf("[ e2e ] %s: acked again %.2f s after the start\n", c.name,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    load.finish();
    ASSERT_TRUE(load.out.ok()) << load.out.message();
    std::printf("[ e2e ] two PostgreSQL crashes: %zu lines sent, %zu ok, %zu errors, end: %s\n",
                load.out->sent, load.out->ok_count(), load.out->error_count(),
                load.out->end_reason.empty() ? "clean" : load.out->end_reason.c_str());
    EXPECT_EQ(load.out->end_reason, "");
    audit_acks(cluster.dsn(), schema(), *load.out, 3000);
    EXPECT_TRUE(daemon_running());
    EXPECT_EQ(stop_daemon(), std::optional<int>(0));
}

// A short outage (PostgreSQL stopped for ~3 s) with --max-unpersisted 100: durable events that
// fit the buffer wait for the database (no reply during the outage, ok after it, rows
// present); events beyond the bound are refused at once with an error that says why.
TEST_F(pg_fault_e2e, OutageHoldsDurableAcksWithinTheBoundAndRefusesBeyondIt) {
    constexpr std::size_t bound = 100, beyond = 20;
    private_cluster& cluster = private_cluster::shared();
    status prepared = cluster.prepare(schema());
    ASSERT_TRUE(prepared.ok()) << prepared.message();
    start_daemon_on(cluster.dsn(), {"--db-wait", "60", "--max-unpersisted", std::to_string(bound)});
    ASSERT_FALSE(HasFatalFailure());
    auto within = ndjson_client::connect(socket_path());
    auto over = ndjson_client::connect(socket_path());
    ASSERT_TRUE(within.ok() && over.ok());
    ASSERT_TRUE(within->send_line(line_with_ack(0, true)).ok());
    auto warm = within->read_reply(10s);
    ASSERT_TRUE(warm.ok() && warm->ok) << "no ack before the outage";

    ASSERT_TRUE(cluster.stop_fast(tmp().path() / "pg_ctl.log").ok());
    const auto down_at = std::chrono::steady_clock::now();
    std::string lines;
    for (std::size_t i = 1; i <= bound; ++i) lines += line_with_ack(i, true) + "\n";
    ASSERT_TRUE(within->send(lines).ok());
    std::this_thread::sleep_for(300ms);  // all of them admitted: the buffer is now full
    lines.clear();
    for (std::size_t i = 0; i < beyond; ++i) lines += line_with_ack(bound + 1 + i, true) + "\n";
    ASSERT_TRUE(over->send(lines).ok());
    std::size_t refused = 0;
    for (std::size_t i = 0; i < beyond; ++i) {
        auto r = over->read_reply(2s);
        ASSERT_TRUE(r.ok()) << "no answer beyond the bound during the outage: " << r.message();
        EXPECT_FALSE(r->ok) << "accepted beyond --max-unpersisted during the outage: " << r->raw;
        EXPECT_NE(r->error.find("limit " + std::to_string(bound)), std::string::npos) << r->raw;
        refused += !r->ok;
    }
    auto early = within->read_reply(std::chrono::milliseconds(200));
    EXPECT_FALSE(early.ok()) << "a durable ack answered while PostgreSQL was down: "
                             << (early.ok() ? early->raw : "");
    std::this_thread::sleep_until(down_at + 3s);
    ASSERT_TRUE(cluster.start().ok());
    const double outage_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - down_at).count();

    load_result held;
    held.replies.push_back(*warm);
    for (std::size_t i = 1; i <= bound; ++i) {
        auto r = within->read_reply(30s);
        ASSERT_TRUE(r.ok()) << "line " << i << " never answered after the outage: " << r.message()
                            << "\n"
                            << daemon().log_tail();
        EXPECT_TRUE(r->ok) << "a held durable event failed: " << r->raw;
        held.replies.push_back(*r);
    }
    std::printf(
        "[ e2e ] PostgreSQL down %.2f s: %zu held acks all answered after it, %zu "
        "refused beyond the bound\n",
        outage_s, bound, refused);
    audit_acks(cluster.dsn(), schema(), held, bound + 1);
    EXPECT_EQ(stop_daemon(), std::optional<int>(0));
}

}  // namespace
}  // namespace pubsub::e2e
