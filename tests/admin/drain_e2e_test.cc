// The probes through a drain, against the real pubsubd: a `custom` handler that sleeps holds the
// drain open after SIGTERM; meanwhile /readyz answers 503 naming the drain (a load balancer
// takes the node out), /livez 200 (a supervisor leaves it alone), /metrics parses with
// pubsub_ready 0, and a change through the API is refused. Witness: the handler script appends
// "start|finished <event id>" to a file, so the probes are known to have answered before the
// handler finished; then the process exits 0 and the event's row is completed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "tests/admin/admin_env.h"

namespace pubsub::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using drain_e2e = admin_test;

std::string read_all(const fs::path& file) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

bool wait_text(const fs::path& file, const std::string& want, std::chrono::seconds timeout) {
    for (auto until = std::chrono::steady_clock::now() + timeout;
         std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(20ms)) {
        if (read_all(file).find(want) != std::string::npos) return true;
    }
    return false;
}

TEST_F(drain_e2e, ProbesAndMetricsAnswerWhileTheDrainIsHeldOpen) {
    const fs::path scripts = tmp().path() / "scripts";
    const fs::path witness = tmp().path() / "witness.log";
    fs::create_directories(scripts);
    const fs::path script = scripts / "slow.sh";
    std::ofstream(script) << "#!/bin/sh\n"
                          << "echo \"start $PUBSUB_EVENT_ID\" >> '" << witness.string() << "'\n"
                          << "sleep 3\n"
                          << "echo \"finished $PUBSUB_EVENT_ID\" >> '" << witness.string() << "'\n";
    ASSERT_EQ(::chmod(script.c_str(), 0755), 0);
    auto ins = conn().query("INSERT INTO " + conn().quote_identifier(schema()) +
                                ".tpubsub_subscribers (subscriber_name, event_type, job_type, "
                                "script_path) VALUES ('slow', 'slow_event', 'custom', $1)",
                            {script.string()});
    ASSERT_TRUE(ins.ok()) << ins.message();
    start_admin({"--scripts-dir", scripts.string(), "--drain-timeout", "10"});
    ASSERT_FALSE(HasFatalFailure());
    EXPECT_EQ(get("/readyz").status, 200);

    auto ids = emit({e2e::event_line("slow_event", "t", "{}", 5, "durable")});
    ASSERT_EQ(ids.size(), 1u);
    const std::string id = std::to_string(ids[0]);
    ASSERT_TRUE(wait_text(witness, "start " + id, 10s)) << daemon().log_tail();

    ASSERT_TRUE(daemon().signal(SIGTERM).ok());
    http_reply ready;
    for (auto until = std::chrono::steady_clock::now() + 2s;
         std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(20ms)) {
        auto r = http_call(port(), "GET", "/readyz");
        ASSERT_TRUE(r.ok()) << "the HTTP admin stopped during the drain: " << r.message();
        ready = *r;
        if (ready.status == 503) break;
    }
    EXPECT_EQ(ready.status, 503) << ready.body;
    EXPECT_NE(ready.body.find("draining"), std::string::npos) << ready.body;
    auto live = get("/livez");
    EXPECT_EQ(live.status, 200) << live.body;
    auto m = scrape();
    auto r = prom_value(m, "pubsub_ready");
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(*r, 0);
    auto refused = call("POST", "/api/subscribers/slow/disable");
    EXPECT_EQ(refused.status, 503) << refused.body;
    EXPECT_NE(refused.body.find("draining"), std::string::npos) << refused.body;
    // All of that while the handler still ran: the drain was held open.
    EXPECT_EQ(read_all(witness).find("finished " + id), std::string::npos)
        << "the handler finished before the probes were read; the test proves nothing";

    EXPECT_EQ(daemon().wait(20s), std::optional<int>(0)) << daemon().log_tail();
    EXPECT_NE(read_all(witness).find("finished " + id), std::string::npos);
    auto row = conn().query("SELECT status FROM " + conn().quote_identifier(schema()) +
                                ".tpubsub_events WHERE event_id = $1::bigint",
                            {id});
    ASSERT_TRUE(row.ok()) << row.message();
    ASSERT_EQ(row->rows(), 1);
    EXPECT_EQ(row->get(0, 0), "completed");
    auto active = conn().query("SELECT is_active FROM " + conn().quote_identifier(schema()) +
                               ".tpubsub_subscribers WHERE subscriber_name = 'slow'");
    ASSERT_TRUE(active.ok()) << active.message();
    EXPECT_EQ(active->get(0, 0), "t") << "the refused change was not made";
}

}  // namespace
}  // namespace pubsub::test
