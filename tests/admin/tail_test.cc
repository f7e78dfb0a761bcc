// pubsubctl tail against the real pubsubd: new events and their transitions stream out, in
// order per event, as JSON lines.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "tests/admin/admin_env.h"

namespace pubsub::test {
namespace {

using namespace std::chrono_literals;

using tail_test = admin_test;

std::string read_file(const std::filesystem::path& p) {
    std::ifstream f(p);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

TEST_F(tail_test, StreamsNewEventsAndTheirTransitions) {
    auto r = conn().query("INSERT INTO " + conn().quote_identifier(schema()) +
                          ".tpubsub_subscribers (subscriber_name, event_type, job_type, "
                          "max_retries) VALUES ('slow', 'tailed', 'import', 0)");
    ASSERT_TRUE(r.ok()) << r.message();
    start_daemon({"--job-command", "import=/bin/sleep 1"});
    ASSERT_FALSE(HasFatalFailure());
    auto out = tmp().path() / "tail.out";
    auto tail = e2e::child_process::spawn(
        {e2e::bin_dir() + "/pubsubctl", "--dsn", dsn(), "--schema", schema(), "tail", "--json",
         "--from-id", "0", "--interval-ms", "50", "--type", "tail*"},
        out);
    ASSERT_TRUE(tail.ok()) << tail.message();
    auto ids = emit({e2e::event_line("tailed", "t:1", "{}", 5, "durable"),
                     e2e::event_line("other", "t:2", "{}", 5, "durable"),
                     e2e::event_line("tailed", "t:3", "{}", 5, "durable")});
    ASSERT_EQ(ids.size(), 3u);
    std::string text;
    auto done = [&](std::int64_t id) {
        return text.find(
                   "\"event_id\":" + std::to_string(id) +
                   ",\"event_type\":\"tailed\",\"event_source\":\"t:" + (id == ids[0] ? "1" : "3") +
                   "\",\"status\":\"completed\"") != std::string::npos;
    };
    for (auto until = std::chrono::steady_clock::now() + 30s;
         std::chrono::steady_clock::now() < until && !(done(ids[0]) && done(ids[2]));) {
        std::this_thread::sleep_for(50ms);
        text = read_file(out);
    }
    ASSERT_TRUE(tail->signal(SIGTERM).ok());
    (void)tail->wait(10s);
    ASSERT_TRUE(done(ids[0]) && done(ids[2])) << text;
    EXPECT_EQ(text.find("\"event_type\":\"other\""), std::string::npos) << "--type filter";
    // Per event: first line new (previous null), a processing step (the handler sleeps 1 s),
    // and the statuses only move forward.
    for (std::int64_t id : {ids[0], ids[2]}) {
        std::vector<std::string> statuses;
        std::istringstream lines(text);
        std::string line;
        bool first = true;
        while (std::getline(lines, line)) {
            if (line.find("\"event_id\":" + std::to_string(id) + ",") == std::string::npos)
                continue;
            if (first) {
                EXPECT_NE(line.find("\"previous\":null"), std::string::npos) << line;
            }
            first = false;
            auto s = line.find("\"status\":\"") + 10;
            statuses.push_back(line.substr(s, line.find('"', s) - s));
        }
        ASSERT_FALSE(statuses.empty());
        EXPECT_EQ(statuses.back(), "completed") << text;
        EXPECT_NE(std::find(statuses.begin(), statuses.end(), "processing"), statuses.end())
            << text;
        const std::vector<std::string> order = {"pending", "processing", "completed"};
        std::size_t at = 0;
        for (const auto& s : statuses) {
            auto it = std::find(order.begin() + static_cast<long>(at), order.end(), s);
            ASSERT_NE(it, order.end()) << "went backwards: " << text;
            at = static_cast<std::size_t>(it - order.begin()) + 1;
        }
    }
}

}  // namespace
}  // namespace pubsub::test
