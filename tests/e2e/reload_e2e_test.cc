// End-to-end: SIGHUP reloads settings (SPEC 7.4). pubsubd runs from a config file; the test
// rewrites it (log level warn -> info, the import job's command a.sh -> b.sh, and two settings
// that need a restart), sends SIGHUP and checks: the next import event runs b.sh (the scripts
// write who ran into a file), info lines appear again, the restart-only setting is named in the
// log, and a setting also given as a flag is not reported (flags still win).
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
    void write_script(const fs::path& p, const std::string& tag) {
        std::ofstream(p) << "#!/bin/sh\necho \"" << tag << " $1\" >> '" << ran().string() << "'\n";
        fs::permissions(p, fs::perms::owner_all);
    }
    void write_config(const std::string& level, const fs::path& script, int batch_rows, int drain) {
        std::ofstream(config()) << "log-level = \"" << level
                                << "\"\njob-command = [\"import=" << script.string()
                                << " {event_id}\"]\nmax-batch-rows = " << batch_rows
                                << "\ndrain-timeout = " << drain << "\n";
    }
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
    write_script(a, "a");
    write_script(b, "b");
    write_config("warn", a, 1000, 7);
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

    write_config("info", b, 2000, 8);
    ASSERT_TRUE(d->signal(SIGHUP).ok());
    EXPECT_TRUE(wait_log("setting max-batch-rows changed; takes effect after a restart", 10s))
        << read_file(log_);
    EXPECT_TRUE(wait_log("msg=\"handlers reloaded\"", 10s)) << read_file(log_);
    EXPECT_TRUE(wait_log("level=info msg=\"log level changed\"", 10s)) << read_file(log_);
    EXPECT_EQ(read_file(log_).find("setting drain-timeout"), std::string::npos)
        << "--drain-timeout is given as a flag, which wins over the file";

    auto second = send_import(*client);
    ASSERT_TRUE(wait_completed(dsn(), schema(), {second}, 10s).ok()) << d->log_tail();
    EXPECT_EQ(read_file(ran()),
              "a " + std::to_string(first) + "\nb " + std::to_string(second) + "\n");
    ASSERT_TRUE(d->signal(SIGTERM).ok());
    EXPECT_EQ(d->wait(30s), std::optional<int>(0)) << d->log_tail();
}

}  // namespace
}  // namespace pubsub::e2e
