// End-to-end: notifications on tpubsub_event_actions are hints (any role that can connect may
// NOTIFY). pubsubd re-reads the rows and acts only on what they say, so forged `cancel <id>` /
// `retry <id>` payloads for pending, completed, cancelled and not yet allocated ids change
// nothing, and 100,000 of them neither stall the listener nor grow memory. Rows are read over
// a second connection; a `custom` handler appends the ids it runs to a file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "storage/channels.h"
#include "storage/event_actions.h"
#include "tests/e2e/e2e_env.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class notify_hints_e2e : public e2e_test {
  protected:
    std::string qs() { return conn().quote_identifier(schema()); }

    // A custom subscriber on `blocking` whose handler waits for the file `go`, then appends its
    // event id to `ran`; a noop subscriber on `quick`.
    void SetUp() override {
        e2e_test::SetUp();
        if (HasFatalFailure()) return;
        scripts_ = tmp().path() / "scripts";
        fs::create_directories(scripts_);
        const fs::path script = scripts_ / "block.sh";
        std::ofstream(script) << "#!/bin/sh\nwhile [ ! -e '" << go().string()
                              << "' ]; do sleep 0.02; done\necho \"$PUBSUB_EVENT_ID\" >> '"
                              << ran().string() << "'\n";
        fs::permissions(script, fs::perms::owner_all);
        auto r = conn().query("INSERT INTO " + qs() +
                                  ".tpubsub_subscribers (subscriber_name, event_type, job_type, "
                                  "script_path, max_retries) VALUES ('blocker', 'blocking', "
                                  "'custom', $1, 0)",
                              {script.string()});
        ASSERT_TRUE(r.ok()) << r.message();
        add_noop_subscriber("quick_noop", "quick");
    }

    fs::path go() const { return tmp().path() / "go"; }
    fs::path ran() const { return tmp().path() / "ran"; }

    void start() {
        start_daemon({"--scripts-dir", scripts_.string(), "--concurrency", "custom=1"});
    }

    std::vector<std::int64_t> send(const std::string& type, int n) {
        auto client = ndjson_client::connect(socket_path());
        EXPECT_TRUE(client.ok()) << client.message();
        std::vector<std::int64_t> ids;
        if (!client.ok()) return ids;
        for (int i = 0; i < n; ++i) {
            EXPECT_TRUE(client->send_line(event_line(type, "e2e:hints", "{}", 5, "durable")).ok());
        }
        for (int i = 0; i < n; ++i) {
            auto r = client->read_reply(30s);
            EXPECT_TRUE(r.ok() && r->ok) << (r.ok() ? r->raw : r.message());
            if (r.ok() && r->ok) ids.push_back(r->event_id);
        }
        return ids;
    }

    // pg_notify(channel, '<verb> <id>') for every id in [from, to], in one transaction.
    void forge(const std::string& verb, std::int64_t from, std::int64_t to) {
        auto r = conn().query(
            "SELECT count(pg_notify($1, $2 || ' ' || g)) FROM "
            "generate_series($3::bigint, $4::bigint) g",
            {schema_channel(event_actions_channel, schema()), verb, std::to_string(from),
             std::to_string(to)});
        ASSERT_TRUE(r.ok()) << r.message();
    }

    // An event created by SQL after the forged notifications: the listener gets its NOTIFY
    // after theirs, so once it completes, they have been delivered.
    void barrier(std::chrono::seconds timeout) {
        auto r = conn().query("SELECT " + qs() + ".create_event('quick', 'e2e:barrier', '{}')");
        ASSERT_TRUE(r.ok()) << r.message();
        auto done = wait_completed(dsn(), schema(), {r->get_int(0, 0)}, timeout);
        ASSERT_TRUE(done.ok()) << "the listener did not get past the forged notifications: "
                               << done.message();
    }

    std::string status_of(std::int64_t id) {
        auto rows = read_events(dsn(), schema(), {id});
        if (!rows.ok() || rows->count(id) == 0) return "(missing)";
        return rows->at(id).status;
    }

    std::multiset<std::int64_t> ran_ids() {
        std::ifstream in(ran());
        std::multiset<std::int64_t> out;
        for (std::int64_t id; in >> id;) out.insert(id);
        return out;
    }

    long rss_kib() {
        std::ifstream in("/proc/" + std::to_string(daemon().pid()) + "/status");
        std::string line;
        while (std::getline(in, line)) {
            if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
        }
        return -1;
    }

    fs::path scripts_;
};

TEST_F(notify_hints_e2e,
       ForgedCancelAndRetryForPendingCompletedCancelledAndFutureIdsChangeNothing) {
    start();
    auto pending = send("blocking", 1);  // runs and blocks the one custom thread
    auto queued = send("blocking", 1);   // queued behind it
    auto completed = send("quick", 1);
    ASSERT_EQ(pending.size() + queued.size() + completed.size(), 3u);
    ASSERT_TRUE(wait_completed(dsn(), schema(), completed, 10s).ok());

    // A real operator cancel of the queued event, then a forged retry of it.
    auto cancelled = cancel_event(conn(), schema(), queued[0]);
    ASSERT_TRUE(cancelled.ok() && cancelled->what == event_action_outcome::kind::done)
        << (cancelled.ok() ? cancelled->message : cancelled.message());
    forge("retry", queued[0], queued[0]);
    // Forged cancels and retries of the pending and completed events, and cancels of the next 60
    // ids, which the socket is about to allocate.
    const std::int64_t top = completed[0];
    forge("cancel", pending[0], pending[0]);
    forge("retry", pending[0], pending[0]);
    forge("cancel", top, top);
    forge("retry", top, top);
    forge("cancel", top + 1, top + 60);
    barrier(10s);

    auto future = send("quick", 50);
    ASSERT_EQ(future.size(), 50u);
    std::size_t forged = 0;
    for (auto id : future) forged += id > top && id <= top + 60 ? 1 : 0;
    ASSERT_GE(forged, 40u) << "the ids did not come from the forged range: the test proves nothing";
    EXPECT_TRUE(wait_completed(dsn(), schema(), future, 10s).ok())
        << "events whose ids were named by forged cancels are stranded";

    std::ofstream(go()) << "go\n";
    EXPECT_TRUE(wait_completed(dsn(), schema(), pending, 10s).ok());
    EXPECT_EQ(status_of(completed[0]), "completed");
    std::this_thread::sleep_for(300ms);  // the queued event's handler would have run by now
    EXPECT_EQ(status_of(queued[0]), "cancelled");
    auto ran = ran_ids();
    EXPECT_EQ(ran.count(pending[0]), 1u) << "the pending event's handler must run once";
    EXPECT_EQ(ran.count(queued[0]), 0u) << "a forged retry ran a cancelled event's handler";
    EXPECT_EQ(stop_daemon(), std::optional<int>(0)) << daemon().log_tail();
}

// The bound: 100,000 forged cancels for ids that do not exist may not grow pubsubd's resident
// memory by more than 4 MiB, and the listener handles them within 20 s.
TEST_F(notify_hints_e2e, AHundredThousandForgedCancelsDoNotGrowMemory) {
    std::ofstream(go()) << "go\n";
    start();
    ASSERT_EQ(send("quick", 100).size(), 100u);
    barrier(10s);
    long before = rss_kib();
    ASSERT_GT(before, 0);
    forge("cancel", 1'000'000'000'000, 1'000'000'099'999);
    barrier(20s);
    // pubsubd's allocator gives freed pages back about a second after a burst
    // (tools/pubsubd/jemalloc_conf.cc): what stays above the bound after 5 s is held.
    long after = rss_kib();
    for (int i = 0; i < 50 && after - before >= 4 * 1024; ++i) {
        std::this_thread::sleep_for(100ms);
        after = rss_kib();
    }
    RecordProperty("rss_growth_kib", std::to_string(after - before));
#ifndef __SANITIZE_ADDRESS__  // ASan's quarantine holds freed memory: RSS says nothing there
    // Measured: ~0.2 MiB; before the hints were re-read, 8.2 MiB (and 14 s to get through).
    EXPECT_LT(after - before, 4 * 1024)
        << "VmRSS grew from " << before << " to " << after << " KiB";
#endif
    // Real events still run.
    auto ids = send("quick", 10);
    EXPECT_TRUE(wait_completed(dsn(), schema(), ids, 10s).ok());
    EXPECT_EQ(stop_daemon(), std::optional<int>(0)) << daemon().log_tail();
}

// --notify-ingest off: a pg_notify('tpubsub_ingest') payload creates nothing; the socket and
// create_event still work.
TEST_F(notify_hints_e2e, NotifyIngestOffIgnoresThePgNotifyDoor) {
    start_daemon({"--notify-ingest", "off"});
    auto r = conn().query(
        "SELECT pg_notify(" + conn().quote_identifier(schema()) +
        ".tpubsub_channel('tpubsub_ingest'), '{\"event_type\":\"via_notify\",\"event_data\":{}}')");
    ASSERT_TRUE(r.ok()) << r.message();
    barrier(10s);
    EXPECT_EQ(send("quick", 1).size(), 1u);
    std::this_thread::sleep_for(200ms);
    auto n = conn().query("SELECT count(*) FROM " + qs() +
                          ".tpubsub_events WHERE event_type = 'via_notify'");
    ASSERT_TRUE(n.ok()) << n.message();
    EXPECT_EQ(n->get_int(0, 0), 0) << "the tpubsub_ingest door is open despite --notify-ingest off";
    EXPECT_EQ(stop_daemon(), std::optional<int>(0)) << daemon().log_tail();
}

// tpubsub_events and tpubsub_subscribers wake-ups are hints too: 100,000 forged ones of each
// cost one sweep and one subscriber reload per run of notifications, so the listener gets
// through them within a second.
TEST_F(notify_hints_e2e, AFloodOfForgedWakeUpsDoesNotStallTheListener) {
    std::ofstream(go()) << "go\n";
    start();
    auto r = conn().query(
        "SELECT count(pg_notify($1, g::text)), count(pg_notify($2, 'UPDATE ' || g)) "
        "FROM generate_series(1, 100000) g",
        {schema_channel("tpubsub_events", schema()),
         schema_channel("tpubsub_subscribers", schema())});
    ASSERT_TRUE(r.ok()) << r.message();
    // Coalesced wake-ups still work: a subscriber added after the flood is loaded (witness: its
    // handler's file), and SIGTERM ends the daemon within 30 s (before, the listener spent
    // minutes on the flood, and the stop waited for it).
    r = conn().query("INSERT INTO " + qs() +
                     ".tpubsub_subscribers (subscriber_name, event_type, job_type, script_path) "
                     "SELECT 'late', 'late', 'custom', script_path FROM " +
                     qs() + ".tpubsub_subscribers WHERE subscriber_name = 'blocker'");
    ASSERT_TRUE(r.ok()) << r.message();
    auto until = std::chrono::steady_clock::now() + 10s;
    while (ran_ids().empty() && std::chrono::steady_clock::now() < until) {
        send("late", 1);
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_FALSE(ran_ids().empty()) << "the new subscriber was not loaded within 10 s";
    barrier(10s);
    EXPECT_EQ(stop_daemon(), std::optional<int>(0)) << daemon().log_tail();
}

}  // namespace
}  // namespace pubsub::e2e
