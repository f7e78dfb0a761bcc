// embedded_cluster: first start, reuse, stop, restart, crash recovery and the short-path
// fallback, each in a private temp folder (the fixture cluster is not touched). Runs as root
// (the server then runs as `postgres`) or as a normal user.
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "storage/embedded_pg.h"
#include "storage/pg.h"

namespace pubsub {
namespace {

namespace fs = std::filesystem;

class embedded_pg_test : public ::testing::Test {
  protected:
    void SetUp() override {
        base_ = fs::temp_directory_path() /
                ("pubsub-emb-" + std::to_string(getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(base_);
        fs::create_directories(base_);
        chmod(base_.c_str(), 0755);
    }
    void TearDown() override {
        for (auto& c : clusters_) (void)c->stop();
        std::error_code ec;
        for (const auto& d : fallbacks_) fs::remove_all(d, ec);
        fs::remove_all(base_, ec);
    }
    embedded_cluster& make(const fs::path& data_dir, std::vector<std::string> settings = {},
                           bool durable = true) {
        embedded_options opt;
        opt.durable = durable;
        opt.data_dir = data_dir;
        opt.database = "pubsub_emb";
        opt.settings = std::move(settings);
        opt.log = [this](log_level level, const std::string& line) {
            (level == log_level::warn ? warnings_ : infos_) += line + "\n";
        };
        clusters_.push_back(std::make_unique<embedded_cluster>(opt));
        return *clusters_.back();
    }
    static std::string one_value(const std::string& dsn, const std::string& sql) {
        auto conn = pg::connection::open(dsn);
        if (!conn) return "connect failed: " + conn.message();
        auto q = conn->query(sql);
        if (!q) return "query failed: " + q.message();
        if (q->rows() == 0) return "";
        return std::string(q->get(0, 0));
    }
    static long postmaster_pid(const embedded_cluster& c) {
        std::ifstream in(c.cluster_dir() / "data" / "postmaster.pid");
        long pid = 0;
        in >> pid;
        return pid;
    }
    static void kill_postmaster(const embedded_cluster& c) {
        long pid = postmaster_pid(c);
        ASSERT_GT(pid, 0);
        ASSERT_EQ(kill(static_cast<pid_t>(pid), SIGKILL), 0);
        for (int i = 0; i < 100 && kill(static_cast<pid_t>(pid), 0) == 0; ++i) {
            std::ifstream st("/proc/" + std::to_string(pid) + "/stat");
            std::string line;
            std::getline(st, line);
            if (line.find(") Z ") != std::string::npos) break;  // zombie: nobody reaps it
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    // As root: a data dir the `postgres` user cannot traverse. Otherwise: a path too long for a
    // Unix socket. Either way the cluster goes to a short fallback folder.
    fs::path fallback_data_dir() const {
        if (geteuid() != 0) return base_ / std::string(100, 'x') / "data";
        fs::create_directories(base_ / "locked");
        chmod((base_ / "locked").c_str(), 0700);
        return base_ / "locked" / "data";
    }
    static std::string expected_role() {
        if (geteuid() == 0) return "postgres";
        return getpwuid(geteuid())->pw_name;
    }

    fs::path base_;
    std::vector<std::unique_ptr<embedded_cluster>> clusters_;
    std::vector<fs::path> fallbacks_;
    std::string infos_, warnings_;
};

TEST_F(embedded_pg_test, starts_reuses_stops_restarts_and_recovers_from_kill_9) {
    const fs::path data = base_ / "data";
    auto& c = make(data, {"work_mem=16MB"});
    auto st = c.start();
    ASSERT_TRUE(st.ok()) << st.message() << "\n" << infos_ << warnings_;
    ASSERT_FALSE(c.dsn().empty());
    EXPECT_FALSE(fs::is_symlink(data / "pg")) << warnings_;
    struct stat sb {};
    ASSERT_EQ(stat(data.c_str(), &sb), 0);
    EXPECT_EQ(sb.st_mode & 0777, geteuid() == 0 ? 0711u : 0700u);
    ASSERT_EQ(stat((c.cluster_dir() / "data").c_str(), &sb), 0);
    EXPECT_EQ(sb.st_uid, geteuid() == 0 ? getpwnam("postgres")->pw_uid : geteuid());

    EXPECT_EQ(one_value(c.dsn(), "SELECT current_database()"), "pubsub_emb");
    EXPECT_EQ(one_value(c.dsn(), "SELECT current_user"), expected_role());
    EXPECT_EQ(one_value(c.dsn(), "SHOW listen_addresses"), "");
    EXPECT_EQ(one_value(c.dsn(), "SHOW fsync"), "on");
    EXPECT_EQ(one_value(c.dsn(), "SHOW synchronous_commit"), "on");
    EXPECT_EQ(one_value(c.dsn(), "SHOW server_encoding"), "UTF8");
    EXPECT_EQ(one_value(c.dsn(), "SHOW work_mem"), "16MB");
    EXPECT_EQ(one_value(c.dsn(), "SHOW shared_buffers"), "128MB");  // from pubsub.conf
    EXPECT_EQ(embedded_cluster::find_running(data), c.dsn());

    auto& again = make(data);  // a second process finds the server running
    ASSERT_TRUE(again.start().ok());
    EXPECT_EQ(again.dsn(), c.dsn());
    EXPECT_NE(infos_.find("reusing"), std::string::npos) << infos_;

    ASSERT_TRUE(c.stop().ok());
    EXPECT_EQ(embedded_cluster::find_running(data), std::nullopt);
    EXPECT_TRUE(c.stop().ok());  // idempotent

    st = c.start();
    ASSERT_TRUE(st.ok()) << st.message();
    ASSERT_EQ(one_value(c.dsn(), "CREATE TABLE kept AS SELECT 42 AS v"), "");

    // A crash: the postmaster dies, postmaster.pid stays; start() recovers and keeps the data.
    kill_postmaster(c);
    st = c.start();
    ASSERT_TRUE(st.ok()) << st.message() << "\n" << warnings_;
    EXPECT_EQ(one_value(c.dsn(), "SELECT v FROM kept"), "42");

    // After a reboot the old pid may belong to an unrelated live process.
    kill_postmaster(c);
    const fs::path pidfile = c.cluster_dir() / "data" / "postmaster.pid";
    std::ifstream in(pidfile);
    std::string first, rest((std::istreambuf_iterator<char>(in)), {});
    in.close();
    rest = rest.substr(rest.find('\n'));
    std::ofstream(pidfile) << getpid() << rest;
    st = c.start();
    ASSERT_TRUE(st.ok()) << st.message() << "\n" << warnings_;
    EXPECT_NE(warnings_.find("stale postmaster.pid"), std::string::npos) << warnings_;
    EXPECT_EQ(one_value(c.dsn(), "SELECT v FROM kept"), "42");
    EXPECT_TRUE(c.stop().ok());
}

// As root: a data dir the `postgres` user cannot traverse. Otherwise: a path too long for a
// Unix socket. Either way the cluster moves to a short folder that data_dir/pg links to.
TEST_F(embedded_pg_test, falls_back_to_a_short_path_and_links_it) {
    const fs::path data = fallback_data_dir();
    auto& c = make(data, {}, /*durable=*/false);  // a throwaway cluster: faster initdb
    auto st = c.start();
    ASSERT_TRUE(st.ok()) << st.message() << "\n" << infos_ << warnings_;
    ASSERT_TRUE(fs::is_symlink(data / "pg"));
    EXPECT_EQ(one_value(c.dsn(), "SHOW fsync"), "off");
    fallbacks_.push_back(fs::read_symlink(data / "pg"));
    EXPECT_NE(warnings_.find("instead"), std::string::npos) << warnings_;
    EXPECT_LT((c.cluster_dir() / "sock/.s.PGSQL.5432").string().size(), 108u);
    EXPECT_EQ(one_value(c.dsn(), "SELECT current_database()"), "pubsub_emb");
    EXPECT_EQ(embedded_cluster::find_running(data), c.dsn());

    ASSERT_TRUE(c.stop().ok());
    auto& again = make(data, {}, false);  // follows the link
    st = again.start();
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(again.dsn(), c.dsn());
}

// The server log is bounded: the log collector's hourly files (truncated when reused), and
// pg_ctl's own log moved aside at a start once past 10 MB.
TEST_F(embedded_pg_test, bounds_the_server_log) {
    const fs::path data = base_ / "data";
    auto& c = make(data, {}, /*durable=*/false);
    auto st = c.start();
    ASSERT_TRUE(st.ok()) << st.message() << "\n" << infos_ << warnings_;
    EXPECT_EQ(one_value(c.dsn(), "SHOW logging_collector"), "on");
    EXPECT_EQ(one_value(c.dsn(), "SHOW log_truncate_on_rotation"), "on");
    EXPECT_EQ(one_value(c.dsn(), "SHOW log_filename"), "postgresql-%H.log");
    ASSERT_TRUE(c.stop().ok());

    {  // pg_ctl's log past 10 MB is moved aside at the next start
        std::ofstream big(c.log_file(), std::ios::app);
        big << std::string(11u << 20, 'x');
    }
    auto& again = make(data, {}, false);
    st = again.start();
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_LT(fs::file_size(again.log_file()), 1u << 20);
    std::error_code ec;
    EXPECT_GT(fs::file_size(again.log_file().string() + ".1", ec), 10u << 20) << ec.message();
    ASSERT_TRUE(again.stop().ok());
}

// The fallback folder's name is predictable: one that is not private to the server user (mode
// 0700, owned by it, a real directory) is refused with its reason, whether reached through the
// data dir's link or found when choosing a fallback.
TEST_F(embedded_pg_test, uses_only_a_private_fallback_folder) {
    const fs::path data = fallback_data_dir();
    auto& c = make(data, {}, /*durable=*/false);
    auto st = c.start();
    ASSERT_TRUE(st.ok()) << st.message() << "\n" << infos_ << warnings_;
    const fs::path folder = fs::read_symlink(data / "pg");
    fallbacks_.push_back(folder);
    ASSERT_TRUE(c.stop().ok());

    chmod(folder.c_str(), 0755);  // through the link
    st = make(data, {}, false).start();
    ASSERT_FALSE(st.ok()) << "a 0755 cluster folder was used";
    EXPECT_NE(st.message().find("has mode 0755, not 0700"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(folder.string()), std::string::npos) << st.message();

    fs::remove(data / "pg");  // found again when choosing the fallback
    st = make(data, {}, false).start();
    ASSERT_FALSE(st.ok()) << "an existing 0755 fallback folder was used";
    EXPECT_NE(st.message().find("has mode 0755, not 0700"), std::string::npos) << st.message();
    EXPECT_FALSE(fs::exists(fs::symlink_status(data / "pg")));

    chmod(folder.c_str(), 0700);
    if (geteuid() == 0) {  // someone else's folder
        struct stat before {};
        ASSERT_EQ(stat(folder.c_str(), &before), 0);
        ASSERT_EQ(chown(folder.c_str(), 65534, 65534), 0);
        st = make(data, {}, false).start();
        ASSERT_FALSE(st.ok()) << "a folder owned by uid 65534 was used";
        EXPECT_NE(st.message().find("is owned by uid 65534"), std::string::npos) << st.message();
        ASSERT_EQ(chown(folder.c_str(), before.st_uid, before.st_gid), 0);
    }
    auto& ours = make(data, {}, false);  // private again: used
    st = ours.start();
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(ours.cluster_dir(), folder);
}

TEST_F(embedded_pg_test, refuses_a_setting_with_a_quote) {
    auto& c = make(base_ / "data", {"application_name='x"});
    auto st = c.start();
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("bad server setting"), std::string::npos) << st.message();
}

TEST_F(embedded_pg_test, find_running_is_empty_for_an_unknown_dir) {
    EXPECT_EQ(embedded_cluster::find_running(base_ / "nothing-here"), std::nullopt);
    auto& c = make(base_ / "never-started");
    EXPECT_TRUE(c.stop().ok());
}

}  // namespace
}  // namespace pubsub
