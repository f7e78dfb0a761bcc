// End-to-end: log values are escaped logfmt-style, so a subscriber name or a pg_notify payload
// cannot forge a log line or a field. Every line of the daemon's log must start with "ts=" and
// hold no raw control byte, and the forged subscriber name must appear escaped, inside the line
// that quotes it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/e2e/e2e_env.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;

const char* const forged = "x\nts=2026-01-01T00:00:00.000Z level=error msg=\"forged\" by=\"me\"";

class log_escape : public e2e_test {};

TEST_F(log_escape, SubscriberNamesAndNotifyPayloadsCannotForgeLines) {
    // A subscriber whose stored filter does not parse is logged with its name.
    auto r = conn().query("INSERT INTO " + conn().quote_identifier(schema()) +
                              ".tpubsub_subscribers (subscriber_name, event_type, event_filter, "
                              "job_type) VALUES ($1, 'log_escape', '{\"a\":{\"$nope\":1}}', "
                              "'noop')",
                          {std::string(forged)});
    ASSERT_TRUE(r.ok()) << r.message();
    start_daemon();
    // A malformed pg_notify payload is logged with its first bytes.
    r = conn().query("SELECT pg_notify(" + conn().quote_identifier(schema()) +
                         ".tpubsub_channel('tpubsub_ingest'), $1)",
                     {std::string("{\"bad\x01\":") + forged});
    ASSERT_TRUE(r.ok()) << r.message();
    std::this_thread::sleep_for(500ms);
    ASSERT_EQ(stop_daemon(), std::optional<int>(0));

    std::ifstream in(daemon().log_file());
    std::string line, all;
    int lines = 0, escaped = 0;
    while (std::getline(in, line)) {
        ++lines;
        all += line + "\n";
        EXPECT_EQ(line.rfind("ts=", 0), 0u) << "a line that pubsubd did not start: " << line;
        EXPECT_NE(line.rfind("ts=2026-01-01T00:00:00.000Z", 0), 0u) << "a forged line: " << line;
        if (line.find("x\\nts=2026-01-01T00:00:00.000Z level=error msg=\\\"forged\\\"") !=
            std::string::npos) {
            ++escaped;
        }
        EXPECT_EQ(line.find('\x01'), std::string::npos) << "a raw control byte: " << line;
    }
    EXPECT_GT(lines, 3);
    EXPECT_GE(escaped, 1) << "the subscriber name should appear escaped (once per load):\n" << all;
}

}  // namespace
}  // namespace pubsub::e2e
