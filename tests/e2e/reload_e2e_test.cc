// SIGHUP (SPEC 7.4): pubsubd reads its configuration again, applies the log level at once and
// names in the log each changed setting that needs a restart; it keeps serving. The witness of
// the new level is a debug line ("subscribers loaded", written by the subscriber reload that
// follows) that appears only after the level was changed in the config file.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <thread>

#include "tests/e2e/e2e_env.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;

using reload_e2e = e2e_test;

std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

TEST_F(reload_e2e, SighupAppliesTheLogLevelAndNamesSettingsNeedingARestart) {
    const auto file = tmp().path() / "pubsubd.toml";
    std::ofstream(file) << "log-level = \"info\"\nmax-batch-rows = 16384\n";
    add_noop_subscriber("e2e_noop", "e2e_event");
    start_daemon({"--config", file.string()});
    ASSERT_FALSE(HasFatalFailure());
    auto log = [&] { return file_tail(daemon().log_file(), 1 << 20); };
    auto wait_for = [&](const std::string& what, std::size_t n) {
        for (int i = 0; i < 500 && count_of(log(), what) < n; ++i) {
            std::this_thread::sleep_for(10ms);
        }
        return count_of(log(), what) >= n;
    };

    // Unchanged: nothing named, still at info (the reload's debug line stays hidden).
    ASSERT_TRUE(daemon().signal(SIGHUP).ok());
    ASSERT_TRUE(wait_for("SIGHUP: reloading subscribers", 1)) << log();
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(count_of(log(), "subscribers loaded"), 0u) << log();
    EXPECT_EQ(count_of(log(), "takes effect after a restart"), 0u) << log();

    std::ofstream(file) << "log-level = \"debug\"\nmax-batch-rows = 100\n";
    ASSERT_TRUE(daemon().signal(SIGHUP).ok());
    EXPECT_TRUE(wait_for("subscribers loaded", 1)) << "the new log level was not applied\n"
                                                   << log();
    const std::string text = log();
    EXPECT_EQ(count_of(text, "takes effect after a restart"), 1u) << text;
    EXPECT_NE(text.find("max-batch-rows"), std::string::npos) << text;

    auto client = ndjson_client::connect(socket_path());
    ASSERT_TRUE(client.ok()) << client.message();
    ASSERT_TRUE(client->send_line(event_line("e2e_event", "reload", "{}", 5, "durable")).ok());
    auto reply = client->read_reply(10s);
    ASSERT_TRUE(reply.ok() && reply->ok) << "not serving after SIGHUP";
    EXPECT_EQ(stop_daemon(), std::optional<int>(0));
}

}  // namespace
}  // namespace pubsub::e2e
