// kill -9 of pubsubd while a `custom` handler runs (SPEC 5a, 6): the next start kills the
// process group the dead daemon left running and re-runs the delivery as attempt 2. Witness: the
// handler script itself appends "start|finished <event id> <attempt> <pid>" to a file; the old
// attempt, still sleeping when pubsubd died, would write its "finished" line later.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "handlers/process_registry.h"
#include "tests/e2e/e2e_env.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

using handler_orphan_e2e = e2e_test;

std::vector<std::vector<std::string>> witness_lines(const fs::path& file) {
    std::vector<std::vector<std::string>> out;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
        std::istringstream words(line);
        std::vector<std::string> w;
        for (std::string x; words >> x;) w.push_back(x);
        out.push_back(std::move(w));
    }
    return out;
}

// The first witness line matching (what, id, attempt); empty when none.
std::vector<std::string> find_line(const fs::path& file, const std::string& what,
                                   const std::string& id, const std::string& attempt) {
    for (auto& w : witness_lines(file)) {
        if (w.size() >= 3 && w[0] == what && w[1] == id && w[2] == attempt) return w;
    }
    return {};
}

std::vector<std::string> wait_line(const fs::path& file, const std::string& what,
                                   const std::string& id, const std::string& attempt,
                                   std::chrono::seconds timeout) {
    for (auto until = std::chrono::steady_clock::now() + timeout;
         std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(20ms)) {
        if (auto w = find_line(file, what, id, attempt); !w.empty()) return w;
    }
    return {};
}

TEST_F(handler_orphan_e2e, KillNineDuringCustomHandlerKillsTheOrphanAndRerunsAsAttempt2) {
    const fs::path scripts = tmp().path() / "scripts";
    const fs::path witness = tmp().path() / "witness.log";
    fs::create_directories(scripts);
    const fs::path script = scripts / "slow.sh";
    // Attempt 1 sleeps (in a child process of its group) long enough to be orphaned.
    std::ofstream(script) << "#!/bin/sh\n"
                          << "echo \"start $PUBSUB_EVENT_ID $PUBSUB_ATTEMPT $$\" >> '"
                          << witness.string() << "'\n"
                          << "[ \"$PUBSUB_ATTEMPT\" = 1 ] && sleep 3\n"
                          << "echo \"finished $PUBSUB_EVENT_ID $PUBSUB_ATTEMPT $$\" >> '"
                          << witness.string() << "'\n";
    ASSERT_EQ(::chmod(script.c_str(), 0755), 0);
    auto ins = conn().query("INSERT INTO " + conn().quote_identifier(schema()) +
                                ".tpubsub_subscribers (subscriber_name, event_type, job_type, "
                                "script_path) VALUES ('slow', 'slow_event', 'custom', $1)",
                            {script.string()});
    ASSERT_TRUE(ins.ok()) << ins.message();
    const std::vector<std::string> args = {"--scripts-dir", scripts.string()};
    start_daemon(args);
    ASSERT_FALSE(HasFatalFailure());

    auto client = ndjson_client::connect(socket_path());
    ASSERT_TRUE(client.ok()) << client.message();
    ASSERT_TRUE(client->send_line(event_line("slow_event", "t", "{}", 5, "durable")).ok());
    auto reply = client->read_reply(10s);
    ASSERT_TRUE(reply.ok() && reply->ok) << (reply.ok() ? reply->raw : reply.message());
    const std::string id = std::to_string(reply->event_id);

    auto started = wait_line(witness, "start", id, "1", 10s);
    if (started.size() != 4u) {
        auto row =
            conn().query("SELECT status, error_message FROM " + conn().quote_identifier(schema()) +
                             ".tpubsub_events WHERE event_id = $1::bigint",
                         {id});
        FAIL() << "attempt 1 never started; the event is "
               << (row.ok() && row->rows()
                       ? std::string(row->get(0, 0)) + " " + std::string(row->get(0, 1))
                       : "absent")
               << "\n"
               << daemon().log_tail();
    }
    const pid_t pgid = static_cast<pid_t>(std::stol(started[3]));
    // The record is written just after posix_spawn returns, so the script may print first;
    // a kill -9 in between is the one window the design leaves open (process_registry.h).
    const fs::path record = tmp().path() / "data" / "handlers" / std::to_string(pgid);
    for (int i = 0; i < 500 && !fs::exists(record); ++i) std::this_thread::sleep_for(10ms);
    ASSERT_TRUE(fs::exists(record)) << "the running handler was not recorded";
    // Attempt 1 counts after a restart only once its `processing` row is committed (the
    // write-behind's next batch); a kill before that rightly runs attempt 1 again.
    bool processing = false;
    for (int i = 0; i < 1000 && !processing; ++i) {
        auto st = conn().query("SELECT status FROM " + conn().quote_identifier(schema()) +
                                   ".tpubsub_events WHERE event_id = $1::bigint",
                               {id});
        processing = st.ok() && st->rows() == 1 && st->get(0, 0) == "processing";
        if (!processing) std::this_thread::sleep_for(10ms);
    }
    ASSERT_TRUE(processing) << "attempt 1's processing row was never committed";
    ASSERT_TRUE(daemon().signal(SIGKILL).ok());
    ASSERT_EQ(daemon().wait(10s), std::optional<int>(128 + SIGKILL));
    ASSERT_TRUE(process_group_alive(pgid)) << "the handler did not outlive pubsubd";
    const auto killed_at = std::chrono::steady_clock::now();

    start_daemon(args);
    ASSERT_FALSE(HasFatalFailure());
    EXPECT_FALSE(process_group_alive(pgid))
        << "the orphaned handler's process group " << pgid << " still runs after the restart";
    EXPECT_EQ(wait_line(witness, "finished", id, "2", 20s).size(), 4u)
        << "the delivery was not re-run as attempt 2\n"
        << daemon().log_tail();
    std::this_thread::sleep_until(killed_at + 3500ms);  // past the orphan's own sleep
    EXPECT_TRUE(find_line(witness, "finished", id, "1").empty())
        << "the orphaned attempt 1 ran to its end";
    EXPECT_NE(daemon().log_tail(20000).find("killed process group " + std::to_string(pgid)),
              std::string::npos)
        << "the kill of the orphan was not logged\n"
        << daemon().log_tail();
    status done = wait_completed(dsn(), schema(), {reply->event_id}, 10s);
    EXPECT_TRUE(done.ok()) << done.message();
    EXPECT_EQ(stop_daemon(), std::optional<int>(0));
}

}  // namespace
}  // namespace pubsub::e2e
