// End-to-end (SPEC 7.2): far-off scheduled events are held without their body once stored, so
// they do not draw on --max-unpersisted-bytes, and are read back from the table when due, also
// after a restart and with a cancel in between; create_event takes over an idempotency key
// older than --idempotency-window like the socket door. Witnesses independent of the daemon:
// rows read over the test's own connection and a handler script appending the event id.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <thread>

#include "storage/event_actions.h"
#include "tests/e2e/delayed_send.h"
#include "tests/e2e/e2e_env.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class scheduled_e2e : public e2e_test {
  protected:
    std::int64_t count_of(const std::string& type, const std::string& condition) {
        return count("SELECT count(*) FROM " + qs() + ".tpubsub_events WHERE event_type = '" +
                     type + "' AND " + condition);
    }
    // Waits until `want` events of `type` are completed; returns how many are.
    std::int64_t wait_completed_of(const std::string& type, std::int64_t want,
                                   std::chrono::seconds limit) {
        const auto until = std::chrono::steady_clock::now() + limit;
        std::int64_t done = 0;
        while (std::chrono::steady_clock::now() < until) {
            done = count_of(type, "status = 'completed'");
            if (done >= want) break;
            std::this_thread::sleep_for(100ms);
        }
        return done;
    }
    // A custom subscriber on `type` whose handler appends the event id to a file.
    std::string add_recorder(const std::string& type) {
        const fs::path dir = tmp().path() / "scripts", script = dir / "record.sh";
        out_ = tmp().path() / "handled.log";
        fs::create_directories(dir);
        std::ofstream(script) << "#!/bin/sh\necho \"$PUBSUB_EVENT_ID\" >> '" << out_.string()
                              << "'\n";
        EXPECT_EQ(::chmod(script.c_str(), 0755), 0);
        auto r = conn().query("INSERT INTO " + qs() +
                                  ".tpubsub_subscribers (subscriber_name, event_type, job_type, "
                                  "script_path) VALUES ('rec', $1, 'custom', $2)",
                              {type, script.string()});
        EXPECT_TRUE(r.ok()) << r.message();
        return dir.string();
    }
    std::map<std::int64_t, int> runs() {
        std::map<std::int64_t, int> out;
        std::ifstream in(out_);
        for (std::int64_t id; in >> id;) ++out[id];
        return out;
    }
    fs::path out_;
};

// 20,000 events due in 4 to 5 s with a 3 MB budget: held whole (about 800 bytes each) they
// would need five times that, and the old scheduler refused most of them.
TEST_F(scheduled_e2e, FarOffEventsDoNotDrawOnTheMemoryBudget) {
    add_noop_subscriber("noop", "far");
    start_daemon({"--max-unpersisted-bytes", "3000000"});
    ASSERT_FALSE(HasFatalFailure());
    constexpr std::size_t n = 20'000;
    load_options lo;
    lo.socket_path = socket_path();
    lo.count = n;
    lo.window = 256;
    lo.line = [](std::size_t i) {
        return R"({"event_type":"far","event_data":{"i":)" + std::to_string(i) + R"(,"pad":")" +
               std::string(100, 'p') + R"("},"delay_ms":)" + std::to_string(4000 + i * 1000 / n) +
               "}";
    };
    auto load = run_load(lo);
    ASSERT_TRUE(load.ok()) << load.message();
    std::string first_error;
    for (const auto& r : load->replies) {
        if (!r.ok) {
            first_error = r.raw;
            break;
        }
    }
    ASSERT_EQ(load->ok_count(), n) << load->end_reason << " " << first_error;
    EXPECT_EQ(wait_completed_of("far", n, 30s), static_cast<std::int64_t>(n))
        << daemon().log_tail();
    EXPECT_EQ(count_of("far", "processed_at < run_at"), 0) << "ran before its time";
}

// Far-off events acknowledged, one cancelled, the daemon restarted before they are due: the
// next start holds them as (id, due time) again; each runs once, the cancelled one never.
TEST_F(scheduled_e2e, FarOffEventsAcrossRestartAndCancel) {
    const std::string scripts = add_recorder("later");
    start_daemon({"--scripts-dir", scripts});
    ASSERT_FALSE(HasFatalFailure());
    auto sent = send_delayed(socket_path(), "later", 40, 6000, 10);
    ASSERT_TRUE(sent.ok()) << sent.message();
    std::vector<std::int64_t> ids = *sent;
    const std::int64_t dropped = ids.back();
    ids.pop_back();
    std::this_thread::sleep_for(300ms);  // held without their bodies by now
    auto cancelled = cancel_event(conn(), schema(), dropped);
    ASSERT_TRUE(cancelled.ok()) << cancelled.message();
    ASSERT_EQ(stop_daemon(), std::optional<int>(0));
    start_daemon({"--scripts-dir", scripts});
    ASSERT_FALSE(HasFatalFailure());
    auto done = wait_completed(dsn(), schema(), ids, 20s);
    ASSERT_TRUE(done.ok()) << done.message() << "\n" << daemon().log_tail();
    std::this_thread::sleep_for(500ms);
    auto seen = runs();
    EXPECT_EQ(seen.size(), ids.size());
    for (auto id : ids) EXPECT_EQ(seen[id], 1) << "event " << id;
    EXPECT_EQ(seen.count(dropped), 0u) << "a cancelled scheduled event ran";
    EXPECT_EQ(count_of("later", "processed_at < run_at"), 0) << "ran before its time";
}

// --max-scheduled-events: beyond it a new scheduled event is refused, naming the setting; an
// event due now is still taken.
TEST_F(scheduled_e2e, ScheduledEventsBeyondTheBoundAreRefusedNamingIt) {
    start_daemon({"--max-scheduled-events", "5"});
    ASSERT_FALSE(HasFatalFailure());
    auto held = send_delayed(socket_path(), "bound", 5, 60'000, 0);
    ASSERT_TRUE(held.ok()) << held.message();
    auto refused = send_delayed(socket_path(), "bound", 1, 60'000, 0);
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.message().find("--max-scheduled-events"), std::string::npos)
        << refused.message();
    auto now = send_delayed(socket_path(), "bound", 1, 0, 0);
    EXPECT_TRUE(now.ok()) << now.message();
    EXPECT_EQ(count_of("bound", "true"), 6);
}

// A key past the window but not yet removed by the background sweep: create_event takes it
// over (a new event), as the socket door does; within the window it stays a duplicate.
TEST_F(scheduled_e2e, CreateEventTakesOverAnExpiredKey) {
    start_daemon({"--idempotency-window", "1s"});
    ASSERT_FALSE(HasFatalFailure());
    const std::string fn = qs() + ".create_event";
    const std::int64_t first = count("SELECT " + fn + "('idem', 'sql', '{}', 5, 'old-key')");
    ASSERT_GT(first, 0);
    EXPECT_EQ(count("SELECT " + fn + "('idem', 'sql', '{}', 5, 'old-key')"), first);
    std::this_thread::sleep_for(1500ms);
    const std::string key_row = "SELECT event_id FROM " + qs() +
                                ".tpubsub_idempotency_keys WHERE idempotency_key = 'old-key'";
    ASSERT_EQ(count(key_row), first) << "the key is still there (not swept yet)";
    const std::int64_t again = count("SELECT " + fn + "('idem', 'sql', '{}', 5, 'old-key')");
    EXPECT_GT(again, first) << "an expired key is taken over, not answered as a duplicate";
    EXPECT_EQ(count(key_row), again);
    EXPECT_EQ(count("SELECT " + fn + "('idem', 'sql', '{}', 5, 'old-key')"), again);
    auto c = ndjson_client::connect(socket_path());
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c->send_line(R"({"event_type":"idem","idempotency_key":"old-key"})").ok());
    auto r = c->read_reply(10s);
    ASSERT_TRUE(r.ok() && r->ok);
    EXPECT_EQ(r->event_id, again);
    EXPECT_EQ(count("SELECT count(*) FROM " + qs() + ".tpubsub_events WHERE event_type = 'idem'"),
              2);
}

}  // namespace
}  // namespace pubsub::e2e
