// Pause and resume end to end (SPEC 7.4): the real pubsubd against the fixture's PostgreSQL,
// paused and resumed with pubsubctl. A custom script appends "<event id>" to <name>.runs, so
// what ran, how often and in which order is read from that file; the delivery and event rows
// are read over the test's own connection.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/e2e/e2e_env.h"
#include "tests/pubsubctl/run_ctl.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class pause_test : public e2e_test {
  protected:
    void SetUp() override {
        e2e_test::SetUp();
        fs::create_directories(scripts());
    }

    fs::path scripts() const { return tmp().path() / "scripts"; }
    fs::path runs_file(const std::string& name) const { return scripts() / (name + ".runs"); }

    // A custom subscriber whose script appends the event id to <name>.runs.
    void add_recording_subscriber(const std::string& name, const std::string& event_type) {
        auto path = scripts() / (name + ".sh");
        std::ofstream(path) << "#!/bin/sh\ncat > /dev/null\necho \"$PUBSUB_EVENT_ID\" >> '"
                            << runs_file(name).string() << "'\n";
        ::chmod(path.c_str(), 0755);
        auto r = conn().query("INSERT INTO " + schema() +
                                  ".tpubsub_subscribers (subscriber_name, event_type, job_type, "
                                  "script_path) VALUES ($1, $2, 'custom', $3)",
                              {name, event_type, path.string()});
        ASSERT_TRUE(r.ok()) << r.message();
    }

    void start(const std::vector<std::string>& more = {}) {
        std::vector<std::string> args = {"--scripts-dir", scripts().string(), "--concurrency",
                                         "custom=1"};
        args.insert(args.end(), more.begin(), more.end());
        start_daemon(args);
    }

    test::ctl_run ctl(std::vector<std::string> args) {
        args.insert(args.begin(), {"--dsn", dsn(), "--schema", schema()});
        return test::run_ctl(args);
    }
    // Runs pubsubctl, then gives the daemon's listener time to reload (NOTIFY is asynchronous).
    void ctl_ok(const std::vector<std::string>& args) {
        auto r = ctl(args);
        ASSERT_EQ(r.code, 0) << r.out << r.err;
        std::this_thread::sleep_for(300ms);
    }

    std::int64_t emit(const std::string& type, int priority) {
        auto c = ndjson_client::connect(socket_path());
        EXPECT_TRUE(c.ok()) << c.message();
        if (!c.ok()) return 0;
        EXPECT_TRUE(c->send_line(event_line(type, "test", "{}", priority, "durable")).ok());
        auto r = c->read_reply(30s);
        EXPECT_TRUE(r.ok() && r->ok) << (r.ok() ? r->raw : r.message());
        return r.ok() ? r->event_id : 0;
    }

    std::vector<std::int64_t> runs(const std::string& name) {
        std::vector<std::int64_t> out;
        std::ifstream in(runs_file(name));
        for (std::int64_t id; in >> id;) out.push_back(id);
        return out;
    }

    std::int64_t held_rows() {
        return count("SELECT count(*) FROM " + schema() +
                     ".tpubsub_deliveries WHERE status = 'held'");
    }
    std::int64_t events_in(const std::string& status) {
        return count("SELECT count(*) FROM " + schema() + ".tpubsub_events WHERE status = '" +
                     status + "'");
    }

    // Polls until pred() holds (20 s); fails the test with `what` and the daemon's log.
    template <class Pred>
    void wait_for(const char* what, Pred pred) {
        for (auto until = std::chrono::steady_clock::now() + 20s;
             std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(10ms)) {
            if (pred()) return;
        }
        ADD_FAILURE() << "timed out waiting for " << what << "\n" << daemon().log_tail();
    }

    // Ids most urgent first: priority descending, then id ascending.
    static std::vector<std::int64_t> by_priority(std::vector<std::pair<int, std::int64_t>> v) {
        std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
            return a.first != b.first ? a.first > b.first : a.second < b.second;
        });
        std::vector<std::int64_t> out;
        for (auto& [p, id] : v) out.push_back(id);
        return out;
    }
};

TEST_F(pause_test, subscriber_pause_holds_survives_a_restart_and_resumes_in_priority_order) {
    add_recording_subscriber("warehouse", "order");
    start();
    ctl_ok({"subscribers", "pause", "warehouse"});
    std::vector<std::pair<int, std::int64_t>> sent;
    for (int p : {3, 9, 5, 9, 1, 7}) sent.emplace_back(p, emit("order", p));
    wait_for("6 held delivery rows", [&] { return held_rows() == 6; });
    EXPECT_EQ(events_in("pending"), 6);  // every delivery held: the events stay pending
    EXPECT_TRUE(runs("warehouse").empty());

    ASSERT_EQ(stop_daemon(), 0);
    start();
    std::this_thread::sleep_for(500ms);  // time enough to run, were anything started
    EXPECT_TRUE(runs("warehouse").empty());
    EXPECT_EQ(held_rows(), 6);
    auto status = ctl({"status"});
    EXPECT_NE(status.out.find("paused subscribers: warehouse"), std::string::npos) << status.out;
    EXPECT_NE(status.out.find("held deliveries: 6"), std::string::npos) << status.out;

    ctl_ok({"subscribers", "resume", "warehouse"});
    wait_for("6 completed events", [&] { return events_in("completed") == 6; });
    EXPECT_EQ(runs("warehouse"), by_priority(sent));  // each once, most urgent first
    EXPECT_EQ(held_rows(), 0);
    EXPECT_EQ(count("SELECT count(*) FROM " + schema() +
                    ".tpubsub_audit WHERE action IN ('subscribers.pause', 'subscribers.resume') "
                    "AND rows = 1 AND target = 'warehouse'"),
              2);
}

TEST_F(pause_test, pool_pause_holds_every_subscriber_of_the_job_type) {
    add_recording_subscriber("a", "job");
    add_recording_subscriber("b", "job");
    add_noop_subscriber("other", "ping");
    start();
    ctl_ok({"pools", "pause", "custom"});
    std::vector<std::pair<int, std::int64_t>> sent;
    for (int p : {2, 8, 5}) sent.emplace_back(p, emit("job", p));
    auto ping = emit("ping", 5);  // another job type runs on
    wait_for("6 held delivery rows", [&] { return held_rows() == 6; });
    ASSERT_TRUE(wait_completed(dsn(), schema(), {ping}, 20s).ok());
    EXPECT_EQ(events_in("pending"), 3);
    EXPECT_TRUE(runs("a").empty() && runs("b").empty());
    EXPECT_NE(ctl({"status"}).out.find("paused pools: custom"), std::string::npos);

    ctl_ok({"pools", "resume", "custom"});
    wait_for("4 completed events", [&] { return events_in("completed") == 4; });
    EXPECT_EQ(runs("a"), by_priority(sent));
    EXPECT_EQ(runs("b"), by_priority(sent));
    auto again = ctl({"pools", "resume", "custom"});
    EXPECT_NE(again.out.find("was not paused"), std::string::npos) << again.out;
    EXPECT_EQ(ctl({"pools", "pause", "nope"}).code, 1);
}

TEST_F(pause_test, held_deliveries_do_not_count_against_the_queue_limit) {
    add_recording_subscriber("w", "order");
    start({"--queue-limit", "2"});
    ctl_ok({"subscribers", "pause", "w"});
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 10; ++i) ids.push_back(emit("order", 5));  // each acked: none refused
    EXPECT_EQ(std::count(ids.begin(), ids.end(), 0), 0);
    wait_for("10 held delivery rows", [&] { return held_rows() == 10; });
    ctl_ok({"subscribers", "resume", "w"});
    ASSERT_TRUE(wait_completed(dsn(), schema(), ids, 20s).ok());
    EXPECT_EQ(runs("w"), ids);
}

// Held deliveries keep their events in memory, so they draw on --max-unpersisted-bytes: a pause
// under traffic ends in refusals naming the setting, never in unbounded memory, and nothing
// held is lost; after the resume the door takes events again.
TEST_F(pause_test, held_deliveries_draw_on_the_memory_budget) {
    add_recording_subscriber("w", "order");
    start({"--max-unpersisted-bytes", "20000"});
    ctl_ok({"subscribers", "pause", "w"});
    auto c = ndjson_client::connect(socket_path());
    ASSERT_TRUE(c.ok()) << c.message();
    std::vector<std::int64_t> acked;
    std::string refusal;
    for (int i = 0; i < 500 && refusal.empty(); ++i) {
        ASSERT_TRUE(c->send_line(event_line("order", "test", "{}", 5, "durable")).ok());
        auto r = c->read_reply(30s);
        ASSERT_TRUE(r.ok()) << r.message();
        if (r->ok) {
            acked.push_back(r->event_id);
        } else {
            refusal = r->error;
        }
    }
    ASSERT_FALSE(refusal.empty()) << acked.size() << " events held without a refusal";
    EXPECT_NE(refusal.find("--max-unpersisted-bytes"), std::string::npos) << refusal;
    EXPECT_LT(acked.size(), 100u);
    wait_for("every acked delivery held",
             [&] { return held_rows() == static_cast<std::int64_t>(acked.size()); });
    EXPECT_TRUE(runs("w").empty());
    ctl_ok({"subscribers", "resume", "w"});
    ASSERT_TRUE(wait_completed(dsn(), schema(), acked, 20s).ok());
    EXPECT_EQ(runs("w"), acked);
    auto after = emit("order", 5);  // the budget is free again
    ASSERT_TRUE(wait_completed(dsn(), schema(), {after}, 20s).ok());
}

TEST_F(pause_test, disable_still_means_no_delivery) {
    add_recording_subscriber("w", "order");
    start();
    ctl_ok({"subscribers", "disable", "w"});
    auto id = emit("order", 5);
    ASSERT_TRUE(wait_completed(dsn(), schema(), {id}, 20s).ok());
    EXPECT_TRUE(runs("w").empty());
    EXPECT_EQ(held_rows(), 0);
}

}  // namespace
}  // namespace pubsub::e2e
