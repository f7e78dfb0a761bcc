// Events the SQL door claims come with their delivery rows, so deliveries that already
// completed do not run again:
// - an operator's retry of an event created by SQL whose deliveries partly completed: only the
//   failed delivery runs again, once through the NOTIFY's claim, once through the reload of a
//   claim whose reply was lost (PUBSUB_TEST_LOSE_CLAIM_REPLIES, test builds only);
// - failover: a node killed while one delivery of its event completed and another waits for a
//   retry; the survivor's orphan claim runs only the waiting one.
// A claim that routed the events without their rows would run the completed deliveries again.
// And the claim is a prepared statement: when a column it returns changes type, it is prepared
// anew.
//
// The witness is independent of pubsubd: each handler script appends "<event id> <attempt>" to
// its own file.
#include <signal.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "storage/event_actions.h"
#include "tests/e2e/e2e_env.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class sql_door_retry : public e2e_test {
  protected:
    fs::path dir() const { return tmp().path() / "scripts"; }

    // A subscriber of `type` running a script that records its run, then fails (exit 3) until
    // <name>.ok exists when `fails`.
    void add_script_subscriber(const std::string& name, const std::string& type, bool fails) {
        fs::create_directories(dir());
        auto path = dir() / (name + ".sh");
        std::ofstream(path) << "#!/bin/sh\necho \"$PUBSUB_EVENT_ID $PUBSUB_ATTEMPT\" >> '"
                            << (dir() / (name + ".runs")).string() << "'\ncat > /dev/null\n"
                            << (fails ? "[ -e '" + (dir() / (name + ".ok")).string() +
                                            "' ] || exit 3\n"
                                      : "")
                            << "exit 0\n";
        ::chmod(path.c_str(), 0755);
        auto r = conn().query("INSERT INTO " + schema() +
                                  ".tpubsub_subscribers (subscriber_name, event_type, job_type, "
                                  "script_path, max_retries) VALUES ($1, $2, 'custom', $3, 1)",
                              {name, type, path.string()});
        ASSERT_TRUE(r.ok()) << r.message();
    }

    std::vector<std::string> runs(const std::string& name) {
        std::vector<std::string> out;
        std::ifstream in(dir() / (name + ".runs"));
        for (std::string line; std::getline(in, line);) out.push_back(line);
        return out;
    }

    std::string delivery_status(std::int64_t id, const std::string& subscriber) {
        auto r = conn().query("SELECT status FROM " + schema() +
                                  ".tpubsub_deliveries WHERE event_id = $1::bigint AND "
                                  "subscriber_name = $2",
                              {std::to_string(id), subscriber});
        return r.ok() && r->rows() == 1 ? std::string(r->get(0, 0)) : "";
    }

    std::int64_t create_event(const std::string& type) {
        auto r =
            conn().query("SELECT " + schema() + ".create_event($1, 'sql', '{\"x\":1}', 5)", {type});
        EXPECT_TRUE(r.ok()) << r.message();
        return r.ok() ? r->get_int(0, 0) : 0;
    }

    std::string status_of(std::int64_t id) {
        auto r = conn().query(
            "SELECT status FROM " + schema() + ".tpubsub_events WHERE event_id = $1::bigint",
            {std::to_string(id)});
        return r.ok() && r->rows() == 1 ? std::string(r->get(0, 0)) : "";
    }

    bool wait_status(std::int64_t id, const std::string& want) {
        for (auto until = std::chrono::steady_clock::now() + 30s;
             std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(10ms)) {
            if (status_of(id) == want) return true;
        }
        return false;
    }

    // Three subscribers of which one fails; the event, created by SQL, fails; after the retry
    // only the failed subscriber runs again (attempt 3), the two completed ones do not.
    void retry_reruns_only_the_failed_delivery(const std::vector<std::string>& daemon_args) {
        add_script_subscriber("ok_a", "sql_retry", false);
        add_script_subscriber("flaky", "sql_retry", true);
        add_script_subscriber("ok_b", "sql_retry", false);
        std::vector<std::string> args = {"--scripts-dir", dir().string(), "--retry-base-ms", "20",
                                         "--concurrency", "custom=4"};
        args.insert(args.end(), daemon_args.begin(), daemon_args.end());
        start_daemon(args);
        ASSERT_FALSE(HasFatalFailure());

        const std::int64_t id = create_event("sql_retry");
        ASSERT_NE(id, 0);
        const std::string line = std::to_string(id) + " ";
        ASSERT_TRUE(wait_status(id, "failed")) << status_of(id) << "\n" << daemon().log_tail();
        ASSERT_EQ(runs("ok_a"), std::vector<std::string>{line + "1"});
        ASSERT_EQ(runs("flaky"), (std::vector<std::string>{line + "1", line + "2"}));

        std::ofstream(dir() / "flaky.ok") << "";
        auto retried = retry_event(conn(), schema(), id, "test");
        ASSERT_TRUE(retried.ok()) << retried.message();
        ASSERT_EQ(retried->what, event_action_outcome::kind::done) << retried->message;
        ASSERT_TRUE(wait_status(id, "completed")) << status_of(id) << "\n" << daemon().log_tail();
        EXPECT_EQ(runs("ok_a"), std::vector<std::string>{line + "1"}) << "ran again";
        EXPECT_EQ(runs("ok_b"), std::vector<std::string>{line + "1"}) << "ran again";
        EXPECT_EQ(runs("flaky"), (std::vector<std::string>{line + "1", line + "2", line + "3"}));
    }
};

// No timed sweep during the test: the retry's NOTIFY claims the event.
TEST_F(sql_door_retry, RetryRunsOnlyTheFailedDeliveryThroughTheNotifyClaim) {
    retry_reruns_only_the_failed_delivery({"--sweep-interval-ms", "600000"});
}

// Both claims (the first run's and the retry's) lose their reply: after each reconnect the
// event is reloaded by claim token, with its delivery rows.
TEST_F(sql_door_retry, RetryRunsOnlyTheFailedDeliveryAfterALostClaimReply) {
    ::setenv("PUBSUB_TEST_LOSE_CLAIM_REPLIES", "2", 1);
    retry_reruns_only_the_failed_delivery({"--sweep-interval-ms", "600000"});
    ::unsetenv("PUBSUB_TEST_LOSE_CLAIM_REPLIES");
    auto log = daemon().log_tail(100000);
    std::size_t dropped = 0;
    for (auto p = log.find("claim reply dropped"); p != std::string::npos;
         p = log.find("claim reply dropped", p + 1)) {
        ++dropped;
    }
    EXPECT_EQ(dropped, 2u) << "the fault was not injected twice, so this test proved less";
}

// Node a runs the event: ok_a completes, flaky fails and waits 1.5 s for its retry; a is killed.
// Node b takes the event once a's deadline (1 s) passed, with its delivery rows.
TEST_F(sql_door_retry, FailoverRunsOnlyTheDeliveriesTheDeadNodeLeftUnfinished) {
    add_script_subscriber("ok_a", "sql_failover", false);
    add_script_subscriber("flaky", "sql_failover", true);
    auto args = [&](const std::string& node) {
        return std::vector<std::string>{"--scripts-dir",     dir().string(),
                                        "--retry-base-ms",   "1500",
                                        "--concurrency",     "custom=4",
                                        "--node-dead-after", "1",
                                        "--node-name",       node};
    };
    start_daemon(args("sql_failover_a"));
    ASSERT_FALSE(HasFatalFailure());
    const std::int64_t id = create_event("sql_failover");
    ASSERT_NE(id, 0);
    const std::string line = std::to_string(id) + " ";
    for (auto until = std::chrono::steady_clock::now() + 30s;
         std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(10ms)) {
        if (delivery_status(id, "ok_a") == "completed" &&
            delivery_status(id, "flaky") == "retrying") {
            break;
        }
    }
    ASSERT_EQ(delivery_status(id, "ok_a"), "completed") << daemon().log_tail();
    ASSERT_EQ(delivery_status(id, "flaky"), "retrying") << daemon().log_tail();
    ASSERT_TRUE(daemon().signal(SIGKILL).ok());
    ASSERT_TRUE(daemon().wait(30s).has_value());
    std::ofstream(dir() / "flaky.ok") << "";

    start_daemon(args("sql_failover_b"));
    ASSERT_FALSE(HasFatalFailure());
    ASSERT_TRUE(wait_status(id, "completed")) << status_of(id) << "\n" << daemon().log_tail();
    auto owner = conn().query("SELECT claimed_by, taken_from FROM " + schema() +
                                  ".tpubsub_events WHERE event_id = $1::bigint",
                              {std::to_string(id)});
    ASSERT_TRUE(owner.ok()) << owner.message();
    EXPECT_EQ(owner->get(0, 0), "sql_failover_b");
    EXPECT_EQ(owner->get(0, 1), "sql_failover_a") << "not taken by the orphan claim";
    EXPECT_EQ(runs("ok_a"), std::vector<std::string>{line + "1"}) << "ran again";
    EXPECT_EQ(runs("flaky"), (std::vector<std::string>{line + "1", line + "2"}));
}

// A migration that changes the type of a column the claim returns makes the prepared claim fail
// ("cached plan must not change result type"); the next claim prepares it anew.
TEST_F(sql_door_retry, AClaimWhoseResultChangedTypeIsPreparedAnew) {
    add_noop_subscriber("stale_noop", "sql_stale");
    start_daemon({"--sweep-interval-ms", "200"});
    ASSERT_FALSE(HasFatalFailure());
    const std::int64_t first = create_event("sql_stale");
    ASSERT_TRUE(wait_status(first, "completed")) << status_of(first) << "\n" << daemon().log_tail();
    auto alter = conn().query("ALTER TABLE " + schema() +
                              ".tpubsub_events ALTER COLUMN event_source TYPE varchar");
    ASSERT_TRUE(alter.ok()) << alter.message();
    const std::int64_t second = create_event("sql_stale");
    ASSERT_TRUE(wait_status(second, "completed")) << status_of(second) << "\n"
                                                  << daemon().log_tail();
    EXPECT_NE(daemon().log_tail(100000).find("cached plan must not change result type"),
              std::string::npos)
        << "the claim never went stale, so this test proved nothing";
}

}  // namespace
}  // namespace pubsub::e2e
