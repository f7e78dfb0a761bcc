// Deliveries end to end (issue 6): the real pubsubd with custom scripts that succeed, fail or
// block, against the fixture's PostgreSQL. Retries (attempt numbers, the persisted schedule),
// an event with three subscribers of which one fails and `pubsubctl events retry` re-running
// only that one, cancel of a pending event and of an event waiting for a retry, the config_id
// checks, and resuming after kill -9 without re-running completed deliveries.
// Scripts append "<event id> <attempt>" to <name>.runs, so the runs are counted from files.
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "storage/event_actions.h"
#include "tests/e2e/e2e_env.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct event_state {
    std::string status, error;
    int retry_count = 0;
};

class deliveries_test : public e2e_test {
  protected:
    void SetUp() override {
        e2e_test::SetUp();
        fs::create_directories(scripts());
    }

    fs::path scripts() const { return tmp().path() / "scripts"; }
    fs::path runs_file(const std::string& name) const { return scripts() / (name + ".runs"); }

    // A /bin/sh script that records its run, then runs `body`.
    std::string script(const std::string& name, const std::string& body) {
        auto path = scripts() / (name + ".sh");
        std::ofstream(path) << "#!/bin/sh\necho \"$PUBSUB_EVENT_ID $PUBSUB_ATTEMPT\" >> '"
                            << runs_file(name).string() << "'\ncat > /dev/null\n"
                            << body << "\n";
        ::chmod(path.c_str(), 0755);
        return path.string();
    }
    std::string ok_script(const std::string& name) { return script(name, "exit 0"); }
    // Fails (exit 3, a line on stderr) until the file <name>.ok exists.
    std::string flaky_script(const std::string& name) {
        auto ok = (scripts() / (name + ".ok")).string();
        return script(name, "[ -e '" + ok + "' ] && exit 0\necho \"" + name +
                                " failed attempt $PUBSUB_ATTEMPT\" >&2\nexit 3");
    }
    void make_succeed(const std::string& name) { std::ofstream(scripts() / (name + ".ok")) << ""; }

    void add_subscriber(const std::string& name, const std::string& event_type,
                        const std::string& job, const std::string& script_path, int max_retries,
                        std::optional<int> config_id = std::nullopt) {
        auto r = conn().query(
            "INSERT INTO " + schema() +
                ".tpubsub_subscribers (subscriber_name, event_type, job_type, script_path, "
                "max_retries, config_id) VALUES ($1, $2, $3, $4, $5::int, $6::int)",
            {name, event_type, job, script_path.empty() ? std::nullopt : std::optional(script_path),
             std::to_string(max_retries),
             config_id ? std::optional(std::to_string(*config_id)) : std::nullopt});
        ASSERT_TRUE(r.ok()) << r.message();
    }

    std::vector<std::string> daemon_args(int retry_base_ms) {
        return {"--scripts-dir",   scripts().string(),
                "--retry-base-ms", std::to_string(retry_base_ms),
                "--concurrency",   "custom=4"};
    }

    std::int64_t emit(const std::string& type) {
        auto c = ndjson_client::connect(socket_path());
        EXPECT_TRUE(c.ok()) << c.message();
        if (!c.ok()) return 0;
        EXPECT_TRUE(c->send_line(event_line(type, "test", R"({"x":1})", 5, "durable")).ok());
        auto r = c->read_reply(30s);
        EXPECT_TRUE(r.ok() && r->ok) << (r.ok() ? r->raw : r.message());
        return r.ok() ? r->event_id : 0;
    }

    event_state state(std::int64_t id) {
        auto r = conn().query("SELECT status, coalesce(error_message, ''), retry_count FROM " +
                                  schema() + ".tpubsub_events WHERE event_id = $1::bigint",
                              {std::to_string(id)});
        if (!r.ok() || r->rows() == 0) return {};
        return {std::string(r->get(0, 0)), std::string(r->get(0, 1)),
                static_cast<int>(r->get_int(0, 2))};
    }

    // Polls until the event has `want`; fails the test with what it saw after 30 s.
    event_state wait_status(std::int64_t id, const std::string& want) {
        event_state s;
        for (auto until = std::chrono::steady_clock::now() + 30s;
             std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(10ms)) {
            s = state(id);
            if (s.status == want) return s;
        }
        ADD_FAILURE() << "event " << id << " is " << s.status << " (" << s.error << "), expected "
                      << want << "\n"
                      << daemon().log_tail();
        return s;
    }

    std::map<std::string, delivery_row> deliveries(std::int64_t id) {
        std::map<std::string, delivery_row> out;
        auto rows = load_deliveries(conn(), schema(), id);
        EXPECT_TRUE(rows.ok()) << rows.message();
        if (rows.ok()) {
            for (auto& r : *rows) out[r.subscriber_name] = r;
        }
        return out;
    }

    // Polls until pred(deliveries) holds (30 s).
    template <class Pred>
    std::map<std::string, delivery_row> wait_deliveries(std::int64_t id, Pred pred) {
        std::map<std::string, delivery_row> d;
        for (auto until = std::chrono::steady_clock::now() + 30s;
             std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(10ms)) {
            d = deliveries(id);
            if (pred(d)) return d;
        }
        ADD_FAILURE() << "delivery rows of event " << id << " never reached the expected state";
        return d;
    }

    // "<event id> <attempt>" lines of a script's runs.
    std::vector<std::string> runs(const std::string& name) {
        std::vector<std::string> out;
        std::ifstream in(runs_file(name));
        for (std::string line; std::getline(in, line);) out.push_back(line);
        return out;
    }

    // pubsubctl with this test's database; exit code and output.
    std::pair<int, std::string> ctl(const std::vector<std::string>& args) {
        std::vector<std::string> argv = {bin_dir() + "/pubsubctl", "--dsn", dsn(), "--schema",
                                         schema()};
        argv.insert(argv.end(), args.begin(), args.end());
        auto log = tmp().path() / "pubsubctl.out";
        fs::remove(log);
        auto rc = run_command(argv, log, 30s);
        EXPECT_TRUE(rc.ok()) << rc.message();
        return {rc.ok() ? *rc : -1, file_tail(log, 4000)};
    }
};

std::string line_of(std::int64_t id, int attempt) {
    return std::to_string(id) + " " + std::to_string(attempt);
}

TEST_F(deliveries_test, three_subscribers_one_fails_and_retry_reruns_only_it) {
    add_subscriber("ok_a", "job_done", "custom", ok_script("ok_a"), 1);
    add_subscriber("flaky", "job_done", "custom", flaky_script("flaky"), 1);
    add_subscriber("ok_b", "job_done", "custom", ok_script("ok_b"), 1);
    start_daemon(daemon_args(20));
    auto id = emit("job_done");

    auto failed = wait_status(id, "failed");
    EXPECT_EQ(failed.retry_count, 1);
    EXPECT_NE(failed.error.find("exit 3: flaky failed attempt 2"), std::string::npos)
        << failed.error;
    auto d = deliveries(id);
    ASSERT_EQ(d.size(), 3u) << "every delivery of a failed event has a row";
    EXPECT_EQ(d["ok_a"].status, "completed");
    EXPECT_EQ(d["ok_b"].status, "completed");
    EXPECT_EQ(d["flaky"].status, "dead");
    EXPECT_EQ(d["flaky"].attempts, 2);
    EXPECT_EQ(runs("flaky"), (std::vector<std::string>{line_of(id, 1), line_of(id, 2)}));

    make_succeed("flaky");
    auto [rc, out] = ctl({"events", "retry", std::to_string(id)});
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("1 delivery will run again (2 completed deliveries are kept)"),
              std::string::npos)
        << out;
    wait_status(id, "completed");
    EXPECT_EQ(runs("ok_a"), std::vector<std::string>{line_of(id, 1)}) << "not run again";
    EXPECT_EQ(runs("ok_b"), std::vector<std::string>{line_of(id, 1)}) << "not run again";
    EXPECT_EQ(runs("flaky"),
              (std::vector<std::string>{line_of(id, 1), line_of(id, 2), line_of(id, 3)}));
    d = wait_deliveries(id, [](auto& m) { return m["flaky"].status == "completed"; });
    EXPECT_EQ(d["flaky"].attempts, 3);

    auto [rc2, out2] = ctl({"events", "retry", std::to_string(id)});
    EXPECT_EQ(rc2, 1);
    EXPECT_NE(out2.find("only failed or cancelled events can be retried"), std::string::npos)
        << out2;
    auto [rc3, out3] = ctl({"events", "show", std::to_string(id)});
    EXPECT_EQ(rc3, 0);
    EXPECT_NE(out3.find("flaky (id"), std::string::npos) << out3;
    auto [rc4, out4] = ctl({"--json", "events", "show", std::to_string(id)});
    EXPECT_EQ(rc4, 0);
    EXPECT_NE(out4.find(R"("deliveries":[{"status": "completed")"), std::string::npos) << out4;
    EXPECT_NE(out4.find(R"("subscriber_name": "flaky")"), std::string::npos) << out4;
}

TEST_F(deliveries_test, retry_schedule_counts_attempts_and_moves_forward) {
    add_subscriber("always", "job_done", "custom", flaky_script("always"), 3);
    start_daemon(daemon_args(100));
    auto id = emit("job_done");
    // Watch the row while it retries: next_attempt_at grows with the attempt count.
    std::map<int, std::int64_t> next_by_attempts;
    for (auto until = std::chrono::steady_clock::now() + 30s;
         std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(5ms)) {
        auto d = deliveries(id);
        if (d.count("always") == 0) continue;
        if (d["always"].status == "retrying") {
            next_by_attempts[d["always"].attempts] = d["always"].next_attempt_us;
        }
        if (d["always"].status == "dead") break;
    }
    auto s = wait_status(id, "failed");
    EXPECT_EQ(s.retry_count, 3);
    EXPECT_NE(s.error.find("always failed attempt 4"), std::string::npos) << s.error;
    EXPECT_EQ(runs("always"), (std::vector<std::string>{line_of(id, 1), line_of(id, 2),
                                                        line_of(id, 3), line_of(id, 4)}));
    auto d = deliveries(id);
    EXPECT_EQ(d["always"].status, "dead");
    EXPECT_EQ(d["always"].attempts, 4);
    EXPECT_EQ(d["always"].next_attempt_us, 0);
    ASSERT_FALSE(next_by_attempts.empty()) << "never saw the delivery waiting for a retry";
    std::int64_t previous = 0;
    for (auto [attempts, next] : next_by_attempts) {
        EXPECT_GE(attempts, 1);
        EXPECT_LE(attempts, 3);
        EXPECT_GT(next, previous) << "attempts " << attempts;
        previous = next;
    }
}

TEST_F(deliveries_test, cancel_of_a_pending_event) {
    auto release = (scripts() / "release").string();
    add_subscriber("blocker", "slow", "custom",
                   script("blocker", "while [ ! -e '" + release + "' ]; do sleep 0.02; done"), 0);
    start_daemon({"--scripts-dir", scripts().string(), "--concurrency", "custom=1"});
    auto a = emit("slow");
    for (auto until = std::chrono::steady_clock::now() + 30s;
         runs("blocker").empty() && std::chrono::steady_clock::now() < until;) {
        std::this_thread::sleep_for(10ms);
    }
    ASSERT_EQ(runs("blocker").size(), 1u) << "the first event never started";
    auto b = emit("slow");
    EXPECT_EQ(state(b).status, "pending");
    auto [rc, out] = ctl({"events", "cancel", std::to_string(b)});
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("cancelled (it was pending)"), std::string::npos) << out;
    EXPECT_EQ(state(b).status, "cancelled");
    // The row says cancelled at once; the daemon hears it through a notification. Release the
    // first handler only once it has, or b's turn could come first on a loaded machine.
    const std::string heard = "action=\"cancel " + std::to_string(b) + "\"";
    for (auto until = std::chrono::steady_clock::now() + 10s;
         daemon().log_tail(20000).find(heard) == std::string::npos &&
         std::chrono::steady_clock::now() < until;) {
        std::this_thread::sleep_for(10ms);
    }
    std::ofstream(release) << "";
    wait_status(a, "completed");
    auto c = emit("slow");  // queued behind b on the single thread: b's turn has passed after c
    wait_status(c, "completed");
    EXPECT_EQ(runs("blocker"), (std::vector<std::string>{line_of(a, 1), line_of(c, 1)}));
    auto sb = state(b);
    EXPECT_EQ(sb.status, "cancelled");
    EXPECT_EQ(sb.error, "cancelled by an operator");
    auto [rc2, out2] = ctl({"events", "cancel", std::to_string(b)});
    EXPECT_EQ(rc2, 1) << "a cancelled event cannot be cancelled again: " << out2;
    auto [rc3, out3] = ctl({"events", "cancel", "999999999"});
    EXPECT_EQ(rc3, 1);
    EXPECT_NE(out3.find("no event with id 999999999"), std::string::npos) << out3;
}

TEST_F(deliveries_test, cancel_of_an_event_waiting_for_a_retry) {
    add_subscriber("always", "job_done", "custom", flaky_script("always"), 5);
    start_daemon(daemon_args(1000));
    auto id = emit("job_done");
    auto d = wait_deliveries(id, [](auto& m) { return m["always"].status == "retrying"; });
    auto next = d["always"].next_attempt_us;
    auto [rc, out] = ctl({"events", "cancel", std::to_string(id)});
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("1 scheduled delivery cancelled"), std::string::npos) << out;
    EXPECT_EQ(state(id).status, "cancelled");
    // Past the time the retry was due (plus a margin): it did not run.
    while (now_us() < next + 500'000) std::this_thread::sleep_for(20ms);
    EXPECT_EQ(runs("always"), std::vector<std::string>{line_of(id, 1)});
    EXPECT_EQ(state(id).status, "cancelled");
    EXPECT_EQ(deliveries(id)["always"].status, "cancelled");
    EXPECT_NE(daemon().log_tail(20000).find("cancel " + std::to_string(id)), std::string::npos)
        << "the router heard the cancel";

    // And it can be retried: the cancelled delivery runs again, now successfully.
    make_succeed("always");
    auto [rc2, out2] = ctl({"events", "retry", std::to_string(id)});
    EXPECT_EQ(rc2, 0) << out2;
    wait_status(id, "completed");
    EXPECT_EQ(runs("always"), (std::vector<std::string>{line_of(id, 1), line_of(id, 2)}));
}

// Back-pressure per job type: a stuck custom pool (concurrency 1, --queue-limit 2) refuses new
// events of its subscriber's type at the socket with the reason, while events of another type
// (a noop subscriber) are accepted and completed; once it drained, its type is accepted again.
TEST_F(deliveries_test, full_pool_refuses_only_the_event_types_that_reach_it) {
    auto release = (scripts() / "release").string();
    add_subscriber("blocker", "slow", "custom",
                   script("blocker", "while [ ! -e '" + release + "' ]; do sleep 0.02; done"), 0);
    add_subscriber("quick", "fast", "noop", "", 0);
    start_daemon(
        {"--scripts-dir", scripts().string(), "--concurrency", "custom=1", "--queue-limit", "2"});
    auto c = ndjson_client::connect(socket_path());
    ASSERT_TRUE(c.ok()) << c.message();
    auto send = [&](const std::string& type) {
        EXPECT_TRUE(c->send_line(event_line(type, "test", "{}", 5, "durable")).ok());
        auto r = c->read_reply(30s);
        EXPECT_TRUE(r.ok()) << r.message();
        return r.ok() ? *r : reply{};
    };
    std::vector<std::int64_t> slow{emit("slow"), emit("slow")};
    // The pool is full once both deliveries reached it (one running, one queued): until then a
    // third one may still be accepted, so send until the socket refuses.
    std::optional<reply> refused;
    for (auto until = std::chrono::steady_clock::now() + 30s;
         !refused && std::chrono::steady_clock::now() < until;) {
        auto r = send("slow");
        if (r.ok) {
            slow.push_back(r.event_id);
            std::this_thread::sleep_for(10ms);
        } else {
            refused = r;
        }
    }
    ASSERT_TRUE(refused.has_value()) << "the stuck pool never refused\n" << daemon().log_tail();
    EXPECT_NE(refused->error.find("handler pool custom is full"), std::string::npos)
        << refused->raw;
    EXPECT_NE(refused->error.find("events of type 'slow' are refused until it drains"),
              std::string::npos)
        << refused->raw;
    // Another type is accepted and delivered while custom is stuck.
    auto fast = send("fast");
    ASSERT_TRUE(fast.ok) << fast.raw;
    wait_status(fast.event_id, "completed");
    EXPECT_EQ(deliveries(fast.event_id).count("blocker"), 0u);
    EXPECT_NE(state(slow[0]).status, "completed") << "still stuck";

    std::ofstream(release) << "";
    for (auto id : slow) wait_status(id, "completed");
    // Room again: the refused type is accepted (the bit clears as the last delivery leaves the
    // pool, just after its event completed) and delivered.
    reply again;
    for (auto until = std::chrono::steady_clock::now() + 30s;
         !again.ok && std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(10ms)) {
        again = send("slow");
    }
    ASSERT_TRUE(again.ok) << again.raw;
    wait_status(again.event_id, "completed");
}

TEST_F(deliveries_test, config_id_missing_from_its_config_table) {
    ASSERT_TRUE(conn()
                    .exec("CREATE TABLE " + schema() +
                          ".timportconfig (config_id int PRIMARY KEY); INSERT INTO " + schema() +
                          ".timportconfig VALUES (7)")
                    .ok());
    auto refused = conn().query("INSERT INTO " + schema() +
                                ".tpubsub_subscribers (subscriber_name, event_type, job_type, "
                                "config_id) VALUES ('bad', 'x', 'import', 8)");
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.message().find("config_id 8 not found in"), std::string::npos)
        << refused.message();
    auto [rc, out] = ctl({"subscribers", "add", "--name", "bad2", "--event-type", "x", "--job-type",
                          "import", "--config-id", "9"});
    EXPECT_NE(rc, 0);
    EXPECT_NE(out.find("config_id 9 not found"), std::string::npos) << out;

    add_subscriber("importer", "import_complete", "import", "", 0, 7);
    ASSERT_TRUE(conn().exec("DELETE FROM " + schema() + ".timportconfig WHERE config_id = 7").ok());
    start_daemon({"--job-command", "import=/bin/true {config_id}"});
    auto id = emit("import_complete");
    auto s = wait_status(id, "failed");
    EXPECT_NE(s.error.find("config_id 7 not found in"), std::string::npos) << s.error;
    EXPECT_EQ(deliveries(id)["importer"].status, "dead");
}

TEST_F(deliveries_test, resume_after_kill_skips_completed_deliveries) {
    add_subscriber("ok_a", "job_done", "custom", ok_script("ok_a"), 1);
    add_subscriber("flaky", "job_done", "custom", flaky_script("flaky"), 3);
    start_daemon(daemon_args(1500));
    auto id = emit("job_done");
    wait_deliveries(id, [](auto& m) {
        return m["flaky"].status == "retrying" && m["ok_a"].status == "completed";
    });
    ASSERT_TRUE(daemon().signal(SIGKILL).ok());
    ASSERT_TRUE(daemon().wait(30s).has_value());
    EXPECT_EQ(state(id).status, "processing");
    make_succeed("flaky");
    start_daemon(daemon_args(1500));
    wait_status(id, "completed");
    EXPECT_EQ(runs("ok_a"), std::vector<std::string>{line_of(id, 1)});
    EXPECT_EQ(runs("flaky"), (std::vector<std::string>{line_of(id, 1), line_of(id, 2)}));
}

}  // namespace
}  // namespace pubsub::e2e
