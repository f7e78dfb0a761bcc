// End-to-end: SIGHUP reloads settings (SPEC 7.4). pubsubd runs from a config file; the test
// rewrites it (log level warn -> info, the import job's command a.sh -> b.sh, its concurrency
// 1 -> 2, and two settings that need a restart), sends SIGHUP and checks: the next two import
// events run b.sh at the same time (the scripts write who ran into a file; b.sh holds until a
// file appears), info lines appear again, the restart-only setting is named in the log, and a
// setting also given as a flag is not reported (flags still win).
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/e2e/e2e_env.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string read_file(const fs::path& p) { return file_tail(p, std::string::npos); }

class reload_e2e : public e2e_test {
  protected:
    // Appends "<tag> <event id>" to `ran`, then (wait) holds until the file `go` exists.
    void write_script(const fs::path& p, const std::string& tag, bool wait) {
        std::ofstream(p) << "#!/bin/sh\necho \"" << tag << " $1\" >> '" << ran().string() << "'\n"
                         << (wait ? "while [ ! -e '" + go().string() + "' ]; do sleep 0.02; done\n"
                                  : "");
        fs::permissions(p, fs::perms::owner_all);
    }
    void write_config(const std::string& level, const fs::path& script, int threads, int batch_rows,
                      int drain) {
        std::ofstream(config()) << "log-level = \"" << level
                                << "\"\njob-command = [\"import=" << script.string()
                                << " {event_id}\"]\nconcurrency = [\"import=" << threads
                                << "\"]\nmax-batch-rows = " << batch_rows
                                << "\ndrain-timeout = " << drain << "\n";
    }
    fs::path go() const { return tmp().path() / "go"; }
    fs::path config() const { return tmp().path() / "pubsubd.toml"; }
    fs::path ran() const { return tmp().path() / "ran"; }

    std::int64_t send_import(ndjson_client& c) {
        EXPECT_TRUE(
            c.send_line(event_line("reload_import", "e2e:reload", "{}", 5, "durable")).ok());
        auto r = c.read_reply(30s);
        EXPECT_TRUE(r.ok() && r->ok) << (r.ok() ? r->raw : r.message());
        return r.ok() && r->ok ? r->event_id : 0;
    }

    // Waits until `text` is in the daemon's log.
    bool wait_log(const std::string& text, std::chrono::seconds timeout) {
        for (auto until = std::chrono::steady_clock::now() + timeout;
             std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(20ms)) {
            if (read_file(log_).find(text) != std::string::npos) return true;
        }
        return false;
    }
    fs::path log_;
};

TEST_F(reload_e2e, SighupReloadsLogLevelAndJobCommandsAndNamesRestartOnlySettings) {
    const fs::path a = tmp().path() / "a.sh", b = tmp().path() / "b.sh";
    write_script(a, "a", false);
    write_script(b, "b", true);
    write_config("warn", a, 1, 1000, 7);
    auto r = conn().query("INSERT INTO " + conn().quote_identifier(schema()) +
                          ".tpubsub_subscribers (subscriber_name, event_type, job_type, config_id, "
                          "max_retries) VALUES ('reload_import', 'reload_import', 'import', 1, 0)");
    ASSERT_TRUE(r.ok()) << r.message();

    log_ = tmp().path() / "reload.log";
    auto d = child_process::spawn(
        {bin_dir() + "/pubsubd", "--dsn", dsn(), "--schema", schema(), "--socket", socket_path(),
         "--config", config().string(), "--drain-timeout", "5"},
        log_);
    ASSERT_TRUE(d.ok()) << d.message();
    ASSERT_TRUE(wait_for_socket(socket_path(), 60s, [&] { return d->running(); }).ok())
        << d->log_tail();
    auto client = ndjson_client::connect(socket_path());
    ASSERT_TRUE(client.ok()) << client.message();
    auto first = send_import(*client);
    ASSERT_TRUE(wait_completed(dsn(), schema(), {first}, 10s).ok()) << d->log_tail();
    EXPECT_EQ(read_file(log_).find("level=info"), std::string::npos)
        << "log-level = warn in the config file should hide info lines\n"
        << read_file(log_);

    write_config("info", b, 2, 2000, 8);
    ASSERT_TRUE(d->signal(SIGHUP).ok());
    EXPECT_TRUE(wait_log("setting max-batch-rows changed; takes effect after a restart", 10s))
        << read_file(log_);
    EXPECT_TRUE(wait_log("msg=\"handlers reloaded\"", 10s)) << read_file(log_);
    EXPECT_TRUE(wait_log("level=info msg=\"log level changed\"", 10s)) << read_file(log_);
    EXPECT_EQ(read_file(log_).find("setting drain-timeout"), std::string::npos)
        << "--drain-timeout is given as a flag, which wins over the file";

    // b.sh holds until `go`: both events start only if the import pool has two threads now.
    auto second = send_import(*client), third = send_import(*client);
    const std::string b2 = "b " + std::to_string(second) + "\n",
                      b3 = "b " + std::to_string(third) + "\n";
    auto until = std::chrono::steady_clock::now() + 10s;
    while (read_file(ran()).size() < ("a " + std::to_string(first) + "\n" + b2 + b3).size() &&
           std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(20ms);
    }
    std::string ran_text = read_file(ran());
    EXPECT_TRUE(ran_text == "a " + std::to_string(first) + "\n" + b2 + b3 ||
                ran_text == "a " + std::to_string(first) + "\n" + b3 + b2)
        << "expected a.sh once, then b.sh twice at once (concurrency import=2); got:\n"
        << ran_text;
    std::ofstream(go()) << "go\n";
    ASSERT_TRUE(wait_completed(dsn(), schema(), {second, third}, 10s).ok()) << d->log_tail();
    ASSERT_TRUE(d->signal(SIGTERM).ok());
    EXPECT_EQ(d->wait(30s), std::optional<int>(0)) << d->log_tail();
}

}  // namespace
}  // namespace pubsub::e2e
