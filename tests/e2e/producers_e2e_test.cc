// End-to-end (SPEC 7.2): idempotency keys and delayed events against the real pubsubd and
// PostgreSQL. Witnesses independent of the daemon: a handler script that appends the event id
// (and the time it ran) to a file, and rows read over the test's own connection.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "storage/event_actions.h"
#include "tests/e2e/e2e_env.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::int64_t wall_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

class producers_e2e : public e2e_test {
  protected:
    // A custom subscriber on `type` whose handler appends "<event id> <wall clock us>\n".
    void add_recorder(const std::string& type) {
        scripts_ = tmp().path() / "scripts";
        out_ = tmp().path() / "handled.log";
        fs::create_directories(scripts_);
        const fs::path script = scripts_ / "record.sh";
        std::ofstream(script) << "#!/bin/sh\necho \"$PUBSUB_EVENT_ID $(date +%s%6N)\" >> '"
                              << out_.string() << "'\n";
        ASSERT_EQ(::chmod(script.c_str(), 0755), 0);
        auto r = conn().query("INSERT INTO " + qs() +
                                  ".tpubsub_subscribers (subscriber_name, event_type, job_type, "
                                  "script_path) VALUES ('rec', $1, 'custom', $2)",
                              {type, script.string()});
        ASSERT_TRUE(r.ok()) << r.message();
    }
    void start() { start_daemon({"--scripts-dir", scripts_.string()}); }

    // Handler runs: event id -> the times it ran (wall clock, us).
    std::map<std::int64_t, std::vector<std::int64_t>> runs() {
        std::map<std::int64_t, std::vector<std::int64_t>> out;
        std::ifstream in(out_);
        std::int64_t id, at;
        while (in >> id >> at) out[id].push_back(at);
        return out;
    }
    std::int64_t rows_of(const std::string& type) {
        return count("SELECT count(*) FROM " + qs() + ".tpubsub_events WHERE event_type = '" +
                     type + "'");
    }
    reply send(ndjson_client& c, const std::string& line) {
        EXPECT_TRUE(c.send_line(line).ok());
        auto r = c.read_reply(10s);
        EXPECT_TRUE(r.ok()) << r.message();
        return r.ok() ? *r : reply{};
    }
    static std::string keyed(const std::string& key, const std::string& extra = "") {
        return R"({"event_type":"idem","idempotency_key":")" + key + "\"" + extra + "}";
    }
    // Waits until every id ran and a little more, so a second run would have shown.
    void settle(const std::vector<std::int64_t>& ids) {
        auto done = wait_completed(dsn(), schema(), ids, 20s);
        ASSERT_TRUE(done.ok()) << done.message() << "\n" << daemon().log_tail();
        std::this_thread::sleep_for(300ms);
    }

    fs::path scripts_, out_;
};

bool is_duplicate(const reply& r) { return r.raw.find("\"duplicate\":true") != std::string::npos; }

TEST_F(producers_e2e, SameKeyTwiceOnOneConnection) {
    add_recorder("idem");
    start();
    ASSERT_FALSE(HasFatalFailure());
    auto c = ndjson_client::connect(socket_path());
    ASSERT_TRUE(c.ok());
    // Pipelined: the second arrives while the first is in flight; then once more after it.
    ASSERT_TRUE(
        c->send(keyed("k1") + "\n" + keyed("k1", R"(,"event_data":{"other":1})") + "\n").ok());
    auto a = c->read_reply(10s), b = c->read_reply(10s);
    ASSERT_TRUE(a.ok() && b.ok() && a->ok && b->ok) << a->raw << b->raw;
    EXPECT_EQ(a->event_id, b->event_id);
    EXPECT_FALSE(is_duplicate(*a)) << a->raw;
    EXPECT_TRUE(is_duplicate(*b)) << b->raw;
    auto later = send(*c, keyed("k1", R"(,"ack":"queued")"));
    EXPECT_EQ(later.event_id, a->event_id);
    EXPECT_TRUE(is_duplicate(later)) << later.raw;
    settle({a->event_id});
    EXPECT_EQ(rows_of("idem"), 1);
    auto seen = runs();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[a->event_id].size(), 1u);
}

TEST_F(producers_e2e, SameKeyOnTwoConnectionsAtOnce) {
    add_recorder("idem");
    start();
    ASSERT_FALSE(HasFatalFailure());
    constexpr int keys = 50;
    std::vector<std::int64_t> got[2];
    auto sender = [&](int which) {
        auto c = ndjson_client::connect(socket_path());
        ASSERT_TRUE(c.ok());
        std::string burst;
        for (int k = 0; k < keys; ++k) burst += keyed("race-" + std::to_string(k)) + "\n";
        ASSERT_TRUE(c->send(burst).ok());
        for (int k = 0; k < keys; ++k) {
            auto r = c->read_reply(10s);
            ASSERT_TRUE(r.ok() && r->ok) << (r.ok() ? r->raw : r.message());
            got[which].push_back(r->event_id);
        }
    };
    std::thread t1(sender, 0), t2(sender, 1);
    t1.join();
    t2.join();
    ASSERT_EQ(got[0].size(), static_cast<std::size_t>(keys));
    ASSERT_EQ(got[1].size(), static_cast<std::size_t>(keys));
    EXPECT_EQ(got[0], got[1]) << "both connections must get the same id for each key";
    settle(got[0]);
    EXPECT_EQ(rows_of("idem"), keys);
    auto seen = runs();
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(keys));
    for (auto& [id, at] : seen) EXPECT_EQ(at.size(), 1u) << "event " << id << " ran twice";
}

// Two pubsubd on one schema, the same keys sent to both at once: the keys table decides.
TEST_F(producers_e2e, SameKeyOnTwoDaemonsAtOnce) {
    add_recorder("idem");
    start();
    ASSERT_FALSE(HasFatalFailure());
    const fs::path sock2 = tmp().path() / "s2.sock";
    auto second = child_process::spawn(
        {bin_dir() + "/pubsubd", "--dsn", dsn(), "--schema", schema(), "--socket", sock2.string(),
         "--data-dir", (tmp().path() / "data2").string(), "--scripts-dir", scripts_.string()},
        tmp().path() / "pubsubd2.log");
    ASSERT_TRUE(second.ok()) << second.message();
    ASSERT_TRUE(wait_for_socket(sock2.string(), 60s, [&] { return second->running(); }).ok())
        << second->log_tail();
    constexpr int keys = 50;
    std::vector<std::int64_t> got[2];
    auto sender = [&](int which) {
        auto c = ndjson_client::connect(which == 0 ? socket_path() : sock2.string());
        ASSERT_TRUE(c.ok());
        std::string burst;
        for (int k = 0; k < keys; ++k) burst += keyed("nodes-" + std::to_string(k)) + "\n";
        ASSERT_TRUE(c->send(burst).ok());
        for (int k = 0; k < keys; ++k) {
            auto r = c->read_reply(10s);
            ASSERT_TRUE(r.ok() && r->ok) << (r.ok() ? r->raw : r.message());
            got[which].push_back(r->event_id);
        }
    };
    std::thread t1(sender, 0), t2(sender, 1);
    t1.join();
    t2.join();
    EXPECT_EQ(got[0], got[1]) << "both daemons must answer the first id of each key";
    settle(got[0]);
    EXPECT_EQ(rows_of("idem"), keys);
    auto seen = runs();
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(keys));
    for (auto& [id, at] : seen) EXPECT_EQ(at.size(), 1u) << "event " << id << " ran twice";
    (void)second->signal(SIGTERM);
    EXPECT_EQ(second->wait(30s), std::optional<int>(0)) << second->log_tail();
}

TEST_F(producers_e2e, SocketAndCreateEventShareKeys) {
    add_recorder("idem");
    start();
    ASSERT_FALSE(HasFatalFailure());
    auto c = ndjson_client::connect(socket_path());
    ASSERT_TRUE(c.ok());
    const std::string fn = qs() + ".create_event";
    // SQL first, then the socket.
    const std::int64_t sql_first = count("SELECT " + fn + "('idem', 'sql', '{}', 5, 'mixed-sql')");
    auto dup = send(*c, keyed("mixed-sql"));
    EXPECT_EQ(dup.event_id, sql_first);
    EXPECT_TRUE(is_duplicate(dup)) << dup.raw;
    // The socket first, then SQL (twice, the second in its 5-argument form).
    auto first = send(*c, keyed("mixed-sock"));
    ASSERT_TRUE(first.ok) << first.raw;
    EXPECT_FALSE(is_duplicate(first));
    EXPECT_EQ(count("SELECT " + fn + "('idem', 'sql', '{}', 5, 'mixed-sock')"), first.event_id);
    EXPECT_EQ(count("SELECT " + fn + "('idem', 'sql', '{}', 7, 'mixed-sock', NULL)"),
              first.event_id);
    // The 3- and 4-argument forms still work.
    const std::int64_t plain3 = count("SELECT " + fn + "('idem', 'sql', '{}')");
    const std::int64_t plain4 = count("SELECT " + fn + "('idem', 'sql', '{}', 6)");
    EXPECT_GT(plain3, 0);
    EXPECT_GT(plain4, plain3);
    settle({sql_first, first.event_id, plain3, plain4});
    EXPECT_EQ(rows_of("idem"), 4);
    auto seen = runs();
    EXPECT_EQ(seen.size(), 4u);
    for (auto& [id, at] : seen) EXPECT_EQ(at.size(), 1u) << "event " << id << " ran twice";
}

// The pg_notify door: fire-and-forget, so the witness is the table and the handler's file.
TEST_F(producers_e2e, NotifyDoorSharesKeys) {
    add_recorder("idem");
    start();
    ASSERT_FALSE(HasFatalFailure());
    auto c = ndjson_client::connect(socket_path());
    ASSERT_TRUE(c.ok());
    auto first = send(*c, keyed("via-notify"));
    ASSERT_TRUE(first.ok) << first.raw;
    for (int i = 0; i < 3; ++i) {
        auto r =
            conn().query("SELECT pg_notify(" + qs() + ".tpubsub_channel('tpubsub_ingest'), $1)",
                         {keyed("via-notify") + ""});
        ASSERT_TRUE(r.ok()) << r.message();
        auto fresh =
            conn().query("SELECT pg_notify(" + qs() + ".tpubsub_channel('tpubsub_ingest'), $1)",
                         {keyed("notify-only")});
        ASSERT_TRUE(fresh.ok()) << fresh.message();
    }
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (rows_of("idem") < 2 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(20ms);
    }
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(rows_of("idem"), 2);
    const std::int64_t notify_id = count("SELECT event_id FROM " + qs() +
                                         ".tpubsub_idempotency_keys WHERE idempotency_key = "
                                         "'notify-only'");
    settle({first.event_id, notify_id});
    auto seen = runs();
    EXPECT_EQ(seen.size(), 2u);
    for (auto& [id, at] : seen) EXPECT_EQ(at.size(), 1u) << "event " << id << " ran twice";
}

TEST_F(producers_e2e, SameKeyAfterRestart) {
    add_recorder("idem");
    start();
    ASSERT_FALSE(HasFatalFailure());
    std::int64_t first = 0;
    {
        auto c = ndjson_client::connect(socket_path());
        ASSERT_TRUE(c.ok());
        first = send(*c, keyed("restart-key")).event_id;
        ASSERT_GT(first, 0);
    }
    settle({first});
    ASSERT_EQ(stop_daemon(), std::optional<int>(0));
    // The event row is pruned: the key must hold on its own.
    ASSERT_EQ(count("WITH d AS (DELETE FROM " + qs() + ".tpubsub_events WHERE event_id = " +
                    std::to_string(first) + " RETURNING 1) SELECT count(*) FROM d"),
              1);
    start();
    ASSERT_FALSE(HasFatalFailure());
    auto c = ndjson_client::connect(socket_path());
    ASSERT_TRUE(c.ok());
    auto again = send(*c, keyed("restart-key", R"(,"event_data":{"changed":true})"));
    EXPECT_EQ(again.event_id, first);
    EXPECT_TRUE(is_duplicate(again)) << again.raw;
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(rows_of("idem"), 0);
    auto seen = runs();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[first].size(), 1u);
}

TEST_F(producers_e2e, RefusesBadKeysAndTimes) {
    add_recorder("idem");
    start();
    ASSERT_FALSE(HasFatalFailure());
    auto c = ndjson_client::connect(socket_path());
    ASSERT_TRUE(c.ok());
    const std::pair<std::string, std::string> cases[] = {
        {keyed(""), "idempotency_key must be a string of 1 to 256 bytes (got 0 bytes)"},
        {keyed(std::string(257, 'k')),
         "idempotency_key must be a string of 1 to 256 bytes (got 257 bytes)"},
        {R"({"event_type":"idem","idempotency_key":7})", "idempotency_key must be a string"},
        {R"({"event_type":"idem","run_at":"2026-12-05 06:00:00"})",
         "run_at must be an RFC 3339 date-time with an offset"},
        {R"({"event_type":"idem","run_at":"2026-12-05T06:00:00"})",
         "run_at must be an RFC 3339 date-time with an offset"},
        {R"({"event_type":"idem","run_at":"2999-01-01T00:00:00Z"})",
         "run_at must be at most 30 days ahead"},
        {R"({"event_type":"idem","delay_ms":2592000001})", "delay_ms must be an integer from 0"},
        {R"({"event_type":"idem","delay_ms":-1})", "delay_ms must be an integer from 0"},
        {R"({"event_type":"idem","delay_ms":1,"run_at":"2020-01-01T00:00:00Z"})",
         "give run_at or delay_ms, not both"},
    };
    for (const auto& [line, error] : cases) {
        auto r = send(*c, line);
        EXPECT_FALSE(r.ok) << line;
        EXPECT_NE(r.error.find(error), std::string::npos) << line << " -> " << r.raw;
    }
    // A run_at in the past runs at once.
    auto past = send(*c, R"({"event_type":"idem","run_at":"2020-01-01T00:00:00+02:00"})");
    ASSERT_TRUE(past.ok) << past.raw;
    settle({past.event_id});
}

// A delayed event acknowledged, then the daemon stopped before it is due: the next start holds
// it again and runs it once, near its time.
TEST_F(producers_e2e, DelayedEventAcrossRestartFiresOnce) {
    add_recorder("later");
    start();
    ASSERT_FALSE(HasFatalFailure());
    auto c = ndjson_client::connect(socket_path());
    ASSERT_TRUE(c.ok());
    const std::int64_t sent = wall_us();
    auto r = send(*c, R"({"event_type":"later","delay_ms":3000})");
    ASSERT_TRUE(r.ok) << r.raw;
    const std::int64_t due = sent + 3'000'000;
    // Stored pending with its run_at, and not run yet.
    EXPECT_EQ(count("SELECT count(*) FROM " + qs() + ".tpubsub_events WHERE event_id = " +
                    std::to_string(r.event_id) + " AND status = 'pending' AND run_at > now()"),
              1);
    ASSERT_EQ(stop_daemon(), std::optional<int>(0));
    EXPECT_TRUE(runs().empty()) << "ran before its time";
    start();
    ASSERT_FALSE(HasFatalFailure());
    auto done = wait_completed(dsn(), schema(), {r.event_id}, 15s);
    ASSERT_TRUE(done.ok()) << done.message() << "\n" << daemon().log_tail();
    std::this_thread::sleep_for(300ms);
    auto seen = runs();
    ASSERT_EQ(seen[r.event_id].size(), 1u);
    const std::int64_t late_us = seen[r.event_id][0] - due;
    std::printf("[ producers ] delayed event across a restart ran %.1f ms after its run_at\n",
                late_us / 1000.0);
    EXPECT_GE(late_us, -5'000);  // the handler's clock read may trail by a few ms at most
    EXPECT_LT(late_us, 2'000'000) << "generous bound: the bench measures the 100 ms target";
}

// What `pubsubctl events list --scheduled` prints for this test's schema.
std::string ctl_scheduled(const std::string& dsn, const std::string& schema) {
    const std::string cmd = bin_dir() + "/pubsubctl --dsn '" + dsn + "' --schema " + schema +
                            " events list --scheduled 2>&1";
    std::string out;
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
        char buf[4096];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
        ::pclose(p);
    }
    return out;
}

// A scheduled event is listed apart, and a cancelled one never runs.
TEST_F(producers_e2e, ScheduledEventsAreListedAndCancelled) {
    add_recorder("later");
    start();
    ASSERT_FALSE(HasFatalFailure());
    auto c = ndjson_client::connect(socket_path());
    ASSERT_TRUE(c.ok());
    auto keep = send(*c, R"({"event_type":"later","delay_ms":1500})");
    auto drop = send(*c, R"({"event_type":"later","delay_ms":1000})");
    auto now = send(*c, R"({"event_type":"later"})");
    ASSERT_TRUE(keep.ok && drop.ok && now.ok);
    const std::string listed = ctl_scheduled(dsn(), schema());
    std::vector<std::int64_t> ids;  // the first column of each row, in order
    std::istringstream lines(listed);
    for (std::string line; std::getline(lines, line);) {
        if (!line.empty() && line[0] >= '0' && line[0] <= '9') ids.push_back(std::stoll(line));
    }
    EXPECT_EQ(ids, (std::vector<std::int64_t>{drop.event_id, keep.event_id}))
        << "only the scheduled ones, soonest first\n"
        << listed;
    auto cancelled = cancel_event(conn(), schema(), drop.event_id);
    ASSERT_TRUE(cancelled.ok()) << cancelled.message();
    settle({now.event_id, keep.event_id});
    std::this_thread::sleep_for(300ms);
    auto seen = runs();
    EXPECT_EQ(seen.count(drop.event_id), 0u) << "a cancelled scheduled event ran";
    EXPECT_EQ(seen[keep.event_id].size(), 1u);
    EXPECT_EQ(count("SELECT count(*) FROM " + qs() + ".tpubsub_events WHERE event_id = " +
                    std::to_string(drop.event_id) + " AND status = 'cancelled'"),
              1);
}

long rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    }
    return -1;
}

// 100,000 delayed events spread over ~6 s: every one fires, and the daemon's RSS growth per
// scheduled event is reported.
TEST_F(producers_e2e, HundredThousandDelayedEventsAllFire) {
    add_noop_subscriber("noop", "spread");
    start_daemon();
    ASSERT_FALSE(HasFatalFailure());
    constexpr std::size_t n = 100'000;
    const long before = rss_kib(daemon().pid());
    load_options lo;
    lo.socket_path = socket_path();
    lo.count = n;
    lo.line = [](std::size_t i) {
        return R"({"event_type":"spread","ack":"queued","event_data":{"i":)" + std::to_string(i) +
               R"(},"delay_ms":)" + std::to_string(1500 + i * 6000 / n) + "}";
    };
    auto load = run_load(lo);
    ASSERT_TRUE(load.ok()) << load.message();
    ASSERT_EQ(load->ok_count(), n) << load->end_reason;
    const long after = rss_kib(daemon().pid());
    std::printf(
        "[ producers ] %zu events scheduled in %.2f s; RSS %ld -> %ld KiB, %.0f bytes "
        "per scheduled event (includes the write-behind's buffers)\n",
        n, load->seconds, before, after, (after - before) * 1024.0 / n);
    const auto until = std::chrono::steady_clock::now() + 60s;
    std::int64_t completed = 0;
    while (std::chrono::steady_clock::now() < until) {
        completed = count("SELECT count(*) FROM " + qs() +
                          ".tpubsub_events WHERE event_type = 'spread' AND status = 'completed'");
        if (completed == static_cast<std::int64_t>(n)) break;
        std::this_thread::sleep_for(200ms);
    }
    EXPECT_EQ(completed, static_cast<std::int64_t>(n)) << daemon().log_tail();
    // None ran early: processed_at is never before run_at.
    EXPECT_EQ(count("SELECT count(*) FROM " + qs() +
                    ".tpubsub_events WHERE event_type = 'spread' AND processed_at < run_at"),
              0);
}

}  // namespace
}  // namespace pubsub::e2e
