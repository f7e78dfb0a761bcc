// sql_door_bench: the PostgreSQL door's latency and create_event rate against a real pubsubd.
//
//   sql_door_bench [--dsn DSN | --pg-dir DIR] [--rate 1000] [--seconds 10]
//                  [--latency-sessions 8] [--sessions 8] [--rate-seconds 10] [--batch 1]
//                  [--client-async-commit]
//
// 1. Latency: `--latency-sessions` SQL sessions share an offered load of `--rate` create_event
//    calls per second (autocommit, open loop: call k is due at t0 + k / rate) for `--seconds`.
//    For each event: `commit` = the client's wall clock just after the autocommit statement
//    returned (COMMIT done), `pre-commit` = clock_timestamp() read inside the same statement,
//    just before its commit. processed_at (handler start, set by pubsubd's clock) minus each
//    gives two views: "after COMMIT returned" is a lower bound of the true latency (pubsubd
//    may start the handler before the client has read the reply, so it can be negative),
//    "before COMMIT" an upper bound. pubsubd runs at debug level; its "sql door claim" lines
//    split each event's latency into stages: the client's send, its COMMIT, the NOTIFY read, the
//    claim reply (with the delivery rows), the rows handed over, handler start (stages.h).
// 2. Rate: `--sessions` concurrent sessions call create_event (autocommit; or transactions of
//    `--batch` events) as fast as they can for `--rate-seconds`, with pubsubd routing them.
//
// The cluster: --dsn, or the one running for --pg-dir (default: <bin>/../test-pg, the ctest
// fixture's), started with `pubsub-pg start` when it is not running. pubsubd comes from the
// folder of this binary. Each run uses a fresh schema, dropped at the end (--keep-schema).
#include <libpq-fe.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>
#include <vector>

#include "bench/sql_door/stages.h"
#include "storage/embedded_pg.h"
#include "storage/migrations.h"
#include "storage/pg.h"
#include "tests/e2e/ndjson_client.h"
#include "tests/e2e/process.h"

namespace pubsub::sqldoor_bench {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

struct options {
    std::string dsn, pg_dir, bin_dir;
    double rate = 1000;
    double seconds = 10;
    int latency_sessions = 8;
    int sessions = 8;
    double rate_seconds = 10;
    int batch = 1;
    int noop_threads = 1;
    bool keep_schema = false;
    bool client_async_commit = false;  // SET synchronous_commit = off in the bench's sessions
};

std::int64_t wall_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string loadavg() {
    std::ifstream f("/proc/loadavg");
    std::string a, b, c;
    f >> a >> b >> c;
    return a + " " + b + " " + c;
}

fs::path self_dir() {
    std::error_code ec;
    auto p = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path(".") : p.parent_path();
}

result<std::string> find_dsn(const options& o) {
    if (!o.dsn.empty()) return o.dsn;
    if (auto d = embedded_cluster::find_running(o.pg_dir)) return *d;
    std::fprintf(stderr, "starting the cluster in %s\n", o.pg_dir.c_str());
    auto rc =
        e2e::run_command({o.bin_dir + "/pubsub-pg", "start", "--quiet", "--data-dir", o.pg_dir},
                         fs::temp_directory_path() / "sql_door_bench-pg.log", 180s);
    if (!rc.ok()) return rc.error();
    if (auto d = embedded_cluster::find_running(o.pg_dir)) return *d;
    return status::error("no cluster is running for " + o.pg_dir + " (pubsub-pg start exited " +
                         std::to_string(*rc) + ")");
}

// A client session of the bench (optionally without waiting for the WAL flush at COMMIT).
result<pg::connection> open_client(const options& o, const std::string& dsn) {
    auto c = pg::connection::open(dsn);
    if (c.ok() && o.client_async_commit) {
        if (auto s = c->exec("SET synchronous_commit = off"); !s.ok()) return s;
    }
    return c;
}

// Waits until `n` events of `type` are completed; false on timeout.
bool wait_completed(pg::connection& c, const std::string& qs, const std::string& type,
                    std::int64_t n, std::chrono::seconds timeout) {
    auto until = steady::now() + timeout;
    while (steady::now() < until) {
        auto r = c.query("SELECT count(*) FROM " + qs +
                             ".tpubsub_events WHERE event_type = $1 AND status = 'completed'",
                         {type});
        if (r.ok() && r->get_int(0, 0) >= n) return true;
        std::this_thread::sleep_for(100ms);
    }
    return false;
}

int run_latency(const options& o, const std::string& dsn, const std::string& qs,
                pg::connection& admin, const fs::path& daemon_log) {
    const auto total = static_cast<std::int64_t>(o.rate * o.seconds);
    const int sessions = std::max(1, o.latency_sessions);
    std::vector<std::vector<sample>> per(static_cast<std::size_t>(sessions));
    std::vector<std::string> errors(static_cast<std::size_t>(sessions));
    const auto t0 = steady::now() + 200ms;
    const auto period = std::chrono::duration<double>(1.0 / o.rate);
    std::vector<std::thread> threads;
    for (int s = 0; s < sessions; ++s) {
        threads.emplace_back([&, s] {
            auto c = open_client(o, dsn);
            if (!c.ok()) {
                errors[s] = c.message();
                return;
            }
            const std::string sql = "SELECT " + qs +
                                    ".create_event('bench_lat', 'bench', "
                                    "jsonb_build_object('k', $1::bigint), 5), "
                                    "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint";
            for (std::int64_t k = s; k < total; k += sessions) {
                auto due = t0 + std::chrono::duration_cast<steady::duration>(
                                    period * static_cast<double>(k));
                std::this_thread::sleep_until(due);
                auto late =
                    std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - due)
                        .count();
                std::int64_t sent = wall_us();
                auto r = c->query(sql, {std::to_string(k)});
                std::int64_t after = wall_us();
                if (!r.ok()) {
                    errors[s] = r.message();
                    return;
                }
                per[s].push_back({r->get_int(0, 0), sent, r->get_int(0, 1), after, late});
            }
        });
    }
    for (auto& t : threads) t.join();
    const double offered_s = std::chrono::duration<double>(steady::now() - t0).count();
    for (const auto& e : errors) {
        if (!e.empty()) {
            std::fprintf(stderr, "create_event failed: %s\n", e.c_str());
            return 1;
        }
    }
    if (!wait_completed(admin, qs, "bench_lat", total, 120s)) {
        std::fprintf(stderr, "not every latency event completed within 120 s\n");
        return 1;
    }
    auto r = admin.query(
        "SELECT event_id, (extract(epoch FROM processed_at) * 1000000)::bigint "
        "FROM " +
        qs + ".tpubsub_events WHERE event_type = 'bench_lat'");
    if (!r.ok()) {
        std::fprintf(stderr, "%s\n", r.message().c_str());
        return 1;
    }
    std::map<std::int64_t, std::int64_t> processed;
    for (int i = 0; i < r->rows(); ++i) processed[r->get_int(i, 0)] = r->get_int(i, 1);
    std::vector<double> from_commit, from_pre, lateness;
    for (const auto& v : per) {
        for (const auto& smp : v) {
            auto p = processed.at(smp.id);
            from_commit.push_back(static_cast<double>(p - smp.commit_us) / 1000.0);
            from_pre.push_back(static_cast<double>(p - smp.precommit_us) / 1000.0);
            lateness.push_back(static_cast<double>(smp.late_us) / 1000.0);
        }
    }
    std::printf(
        "latency: %lld events offered at %.0f/s over %d sessions, achieved %.0f/s "
        "(%.2f s)\n",
        static_cast<long long>(total), o.rate, sessions, static_cast<double>(total) / offered_s,
        offered_s);
    print_dist("handler start - COMMIT returned", from_commit);
    print_dist("handler start - before COMMIT", from_pre);
    print_dist("sender lateness vs schedule", lateness);
    print_breakdown(per, processed, read_claims(daemon_log));
    return 0;
}

int run_rate(const options& o, const std::string& dsn, const std::string& qs,
             pg::connection& admin) {
    const int sessions = std::max(1, o.sessions);
    const int batch = std::max(1, o.batch);
    std::atomic<bool> stop{false};
    std::vector<std::int64_t> counts(static_cast<std::size_t>(sessions), 0);
    std::vector<std::string> errors(static_cast<std::size_t>(sessions));
    std::vector<std::thread> threads;
    for (int s = 0; s < sessions; ++s) {
        threads.emplace_back([&, s] {
            auto c = open_client(o, dsn);
            if (!c.ok()) {
                errors[s] = c.message();
                return;
            }
            const std::string sql =
                batch == 1 ? "SELECT " + qs + ".create_event('bench_rate', 'bench', '{}', 5)"
                           : "SELECT " + qs +
                                 ".create_event('bench_rate', 'bench', "
                                 "jsonb_build_object('g', g), 5) FROM generate_series(1, " +
                                 std::to_string(batch) + ") g";
            while (!stop.load(std::memory_order_relaxed)) {
                auto r = c->query(sql);
                if (!r.ok()) {
                    errors[s] = r.message();
                    return;
                }
                counts[s] += r->rows();
            }
        });
    }
    const auto t0 = steady::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(o.rate_seconds));
    stop.store(true, std::memory_order_relaxed);
    for (auto& t : threads) t.join();
    const double secs = std::chrono::duration<double>(steady::now() - t0).count();
    for (const auto& e : errors) {
        if (!e.empty()) {
            std::fprintf(stderr, "create_event failed: %s\n", e.c_str());
            return 1;
        }
    }
    std::int64_t n = 0;
    for (auto c : counts) n += c;
    std::printf(
        "rate: %d sessions, %d event(s) per transaction: %lld create_event in %.2f s = "
        "%.0f events/s\n",
        sessions, batch, static_cast<long long>(n), secs, static_cast<double>(n) / secs);
    const auto d0 = steady::now();
    if (!wait_completed(admin, qs, "bench_rate", n, 300s)) {
        std::fprintf(stderr, "not every rate event completed within 300 s\n");
        return 1;
    }
    std::printf("  pubsubd completed them all %.2f s after the last create_event\n",
                std::chrono::duration<double>(steady::now() - d0).count());
    return 0;
}

int run(const options& o) {
    std::printf("load average at start: %s (%u hardware threads); client commits: %s\n",
                loadavg().c_str(), std::thread::hardware_concurrency(),
                o.client_async_commit ? "synchronous_commit=off" : "durable");
    auto dsn = find_dsn(o);
    if (!dsn.ok()) {
        std::fprintf(stderr, "%s\n", dsn.message().c_str());
        return 2;
    }
    auto admin = pg::connection::open(*dsn);
    if (!admin.ok()) {
        std::fprintf(stderr, "%s\n", admin.message().c_str());
        return 2;
    }
    const std::string schema = "bench_sqldoor_" + std::to_string(::getpid());
    const std::string qs = admin->quote_identifier(schema);
    (void)admin->exec("DROP SCHEMA IF EXISTS " + qs + " CASCADE");
    if (auto a = apply_migrations(*admin, schema); !a.ok()) {
        std::fprintf(stderr, "migrations: %s\n", a.message().c_str());
        return 2;
    }
    auto sub = admin->exec("INSERT INTO " + qs +
                           ".tpubsub_subscribers (subscriber_name, event_type, job_type) VALUES "
                           "('bench_lat_noop', 'bench_lat', 'noop'), "
                           "('bench_rate_noop', 'bench_rate', 'noop')");
    if (!sub.ok()) {
        std::fprintf(stderr, "%s\n", sub.message().c_str());
        return 2;
    }

    e2e::temp_dir tmp("sql_door_bench-");
    const std::string sock = (tmp.path() / "s.sock").string();
    std::vector<std::string> argv = {o.bin_dir + "/pubsubd",
                                     "--dsn",
                                     *dsn,
                                     "--schema",
                                     schema,
                                     "--socket",
                                     sock,
                                     "--log-level",
                                     "debug",  // the claim times (stages.h)
                                     "--concurrency",
                                     "noop=" + std::to_string(o.noop_threads)};
    auto daemon = e2e::child_process::spawn(argv, tmp.path() / "pubsubd.log");
    if (!daemon.ok()) {
        std::fprintf(stderr, "%s\n", daemon.message().c_str());
        return 2;
    }
    if (auto up = e2e::wait_for_socket(sock, 60s, [&] { return daemon->running(); }); !up.ok()) {
        std::fprintf(stderr, "pubsubd did not start: %s\n%s\n", up.message().c_str(),
                     daemon->log_tail().c_str());
        return 2;
    }
    std::this_thread::sleep_for(500ms);  // let the listener connect

    int rc = run_latency(o, *dsn, qs, *admin, tmp.path() / "pubsubd.log");
    if (rc == 0) rc = run_rate(o, *dsn, qs, *admin);

    (void)daemon->signal(SIGTERM);
    if (!daemon->wait(30s)) (void)daemon->signal(SIGKILL);
    if (rc != 0) std::fprintf(stderr, "pubsubd log tail:\n%s\n", daemon->log_tail().c_str());
    if (!o.keep_schema) (void)admin->exec("DROP SCHEMA IF EXISTS " + qs + " CASCADE");
    std::printf("load average at end: %s\n", loadavg().c_str());
    return rc;
}

}  // namespace
}  // namespace pubsub::sqldoor_bench

int main(int argc, char** argv) {
    pubsub::sqldoor_bench::options o;
    o.bin_dir = pubsub::sqldoor_bench::self_dir().string();
    CLI::App app("PostgreSQL door benchmark: create_event to handler start, create_event rate");
    app.add_option("--dsn", o.dsn, "Database (default: the cluster of --pg-dir)");
    app.add_option("--pg-dir", o.pg_dir, "pubsub-pg data dir (default: <bin>/../test-pg)");
    app.add_option("--bin-dir", o.bin_dir, "Folder of pubsubd and pubsub-pg");
    app.add_option("--rate", o.rate, "Offered create_event calls per second (latency phase)")
        ->check(CLI::PositiveNumber);
    app.add_option("--seconds", o.seconds, "Duration of the latency phase")
        ->check(CLI::PositiveNumber);
    app.add_option("--latency-sessions", o.latency_sessions, "Sessions sharing the offered load")
        ->check(CLI::PositiveNumber);
    app.add_option("--sessions", o.sessions, "Concurrent sessions of the rate phase")
        ->check(CLI::PositiveNumber);
    app.add_option("--rate-seconds", o.rate_seconds, "Duration of the rate phase")
        ->check(CLI::PositiveNumber);
    app.add_option("--batch", o.batch, "Events per transaction in the rate phase")
        ->check(CLI::PositiveNumber);
    app.add_option("--noop-threads", o.noop_threads, "pubsubd --concurrency noop=N")
        ->check(CLI::PositiveNumber);
    app.add_flag("--keep-schema", o.keep_schema, "Keep the schema");
    app.add_flag("--client-async-commit", o.client_async_commit,
                 "The bench's sessions commit with synchronous_commit = off (isolates pubsubd's "
                 "share of the latency from the clients' WAL flushes)");
    CLI11_PARSE(app, argc, argv);
    if (o.pg_dir.empty()) o.pg_dir = (std::filesystem::path(o.bin_dir) / ".." / "test-pg").string();
    return pubsub::sqldoor_bench::run(o);
}
