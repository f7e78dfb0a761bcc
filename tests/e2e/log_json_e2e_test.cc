// End-to-end: --log-format json. Every line pubsubd writes parses as one JSON object (simdjson,
// which also checks UTF-8) with ts, level and msg, even where a field holds quotes, a newline
// and control bytes (a subscriber's name) and a message holds bytes that are not UTF-8 (a
// pg_notify payload cut in the middle of a character). The format is also chosen in the config
// file and switched by SIGHUP; every binary answers --version.
#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "tests/e2e/e2e_env.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;

const std::string forged = "x \"q\"\nts=2026 level=error msg=\"forged\" \x01\x1f\x7f";

class log_json : public e2e_test {
  protected:
    std::vector<std::string> log_lines() {
        std::ifstream in(daemon().log_file());
        std::vector<std::string> lines;
        for (std::string l; std::getline(in, l);) lines.push_back(l);
        return lines;
    }
    // The skipped subscriber (its filter does not parse) is logged with its name as a field.
    void add_forged_subscriber() {
        auto r = conn().query("INSERT INTO " + conn().quote_identifier(schema()) +
                                  ".tpubsub_subscribers (subscriber_name, event_type, "
                                  "event_filter, job_type) VALUES ($1, 'log_json', "
                                  "'{\"a\":{\"$nope\":1}}', 'noop')",
                              {forged});
        ASSERT_TRUE(r.ok()) << r.message();
    }
    // A malformed payload is logged with its first 80 bytes: here they end inside a 2-byte
    // character.
    void notify_cut_payload() {
        std::string payload = "{\"bad\":";
        for (int i = 0; i < 40; ++i) payload += "\xc3\xa9";
        auto r = conn().query("SELECT pg_notify(" + conn().quote_identifier(schema()) +
                                  ".tpubsub_channel('tpubsub_ingest'), $1)",
                              {payload});
        ASSERT_TRUE(r.ok()) << r.message();
    }
    bool wait_log(const std::string& text, std::chrono::seconds timeout) {
        for (auto until = std::chrono::steady_clock::now() + timeout;
             std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(20ms)) {
            for (const auto& l : log_lines()) {
                if (l.find(text) != std::string::npos) return true;
            }
        }
        return false;
    }
};

// Parses one line as a JSON object with string ts, level and msg; returns the object's members.
std::map<std::string, std::string> parse_line(simdjson::dom::parser& p, const std::string& line) {
    std::map<std::string, std::string> out;
    simdjson::dom::object o;
    auto err = p.parse(line).get(o);
    EXPECT_FALSE(err) << simdjson::error_message(err) << ": " << line;
    if (err) return out;
    for (auto [k, v] : o) {
        std::string_view s;
        EXPECT_FALSE(v.get(s)) << "member " << k << " is not a string: " << line;
        out[std::string(k)] = std::string(s);
    }
    for (const char* k : {"ts", "level", "msg"}) EXPECT_TRUE(out.count(k)) << k << ": " << line;
    return out;
}

TEST_F(log_json, EveryLineIsAJsonObjectWhateverItHolds) {
    add_forged_subscriber();
    start_daemon({"--log-format", "json"});
    ASSERT_FALSE(HasFatalFailure());
    notify_cut_payload();
    EXPECT_TRUE(wait_log("payload starts", 10s)) << daemon().log_tail();
    ASSERT_EQ(stop_daemon(), std::optional<int>(0));

    simdjson::dom::parser p;
    auto lines = log_lines();
    ASSERT_GT(lines.size(), 3u);
    int named = 0, cut = 0, started = 0;
    for (const auto& line : lines) {
        auto m = parse_line(p, line);
        if (m["subscriber"] == forged) ++named;
        if (m["msg"].find("payload starts") != std::string::npos) {
            ++cut;
            EXPECT_NE(m["msg"].find("\xef\xbf\xbd"), std::string::npos)
                << "the cut character should read U+FFFD: " << line;
        }
        if (m["msg"] == "pubsubd started") {
            ++started;
            EXPECT_EQ(m["schema"], schema());
            EXPECT_EQ(m["level"], "info");
        }
    }
    EXPECT_GE(named, 1) << "the subscriber's name should come back whole as a field";
    EXPECT_EQ(cut, 1);
    EXPECT_EQ(started, 1);
}

TEST_F(log_json, ConfigFileChoosesTheFormatAndSighupSwitchesIt) {
    const auto config = tmp().path() / "pubsubd.toml";
    std::ofstream(config) << "log-format = \"logfmt\"\n";
    start_daemon({"--config", config.string()});
    ASSERT_FALSE(HasFatalFailure());
    std::ofstream(config) << "log-format = \"json\"\n";
    ASSERT_TRUE(daemon().signal(SIGHUP).ok());
    EXPECT_TRUE(wait_log("\"msg\":\"log format changed\"", 10s)) << daemon().log_tail();
    notify_cut_payload();
    EXPECT_TRUE(wait_log("payload starts", 10s)) << daemon().log_tail();
    ASSERT_EQ(stop_daemon(), std::optional<int>(0));

    simdjson::dom::parser p;
    bool json = false;
    for (const auto& line : log_lines()) {
        if (line.find("log format changed") != std::string::npos) json = true;
        if (json) {
            parse_line(p, line);
        } else {
            EXPECT_EQ(line.rfind("ts=", 0), 0u) << "before the SIGHUP lines are logfmt: " << line;
        }
    }
    EXPECT_TRUE(json);
}

TEST(log_json_version, EveryBinaryPrintsItsVersion) {
    for (const char* b : {"pubsubd", "pubsubctl", "pubsub-pg", "pubsub-bench"}) {
        const std::string path = bin_dir() + "/" + b;
        if (std::string(b) == "pubsub-bench" && !std::ifstream(path)) continue;  // no bench build
        temp_dir t;
        auto c = child_process::spawn({path, "--version"}, t.path() / "out");
        ASSERT_TRUE(c.ok()) << c.message();
        EXPECT_EQ(c->wait(10s), std::optional<int>(0)) << b;
        std::ifstream in(t.path() / "out");
        std::string line;
        std::getline(in, line);
        EXPECT_EQ(line.rfind(std::string(b) + " ", 0), 0u) << line;
        EXPECT_NE(line.find("(revision "), std::string::npos) << line;
    }
}

}  // namespace
}  // namespace pubsub::e2e
