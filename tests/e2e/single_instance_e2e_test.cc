// End-to-end: one pubsubd per data dir and per socket path (SPEC 7.4). A second daemon on a live
// socket (DSN mode) or a live data dir (embedded mode) exits 1 naming the first one's pid and
// changes nothing: the first keeps acknowledging events, which reach the table. An embedded
// PostgreSQL is stopped only by the pubsubd that started it; one found running is adopted and
// left running.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "storage/embedded_pg.h"
#include "tests/e2e/e2e_env.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string read_file(const fs::path& p) { return file_tail(p, std::string::npos); }

// Sends one durable event and returns its id (0 and a test failure when it is not acked).
std::int64_t send_acked(const std::string& sock, const std::string& type) {
    auto client = ndjson_client::connect(sock);
    EXPECT_TRUE(client.ok()) << client.message();
    if (!client.ok()) return 0;
    EXPECT_TRUE(client->send_line(event_line(type, "e2e:single", "{\"n\":1}", 5, "durable")).ok());
    auto r = client->read_reply(30s);
    EXPECT_TRUE(r.ok()) << r.message();
    if (!r.ok()) return 0;
    EXPECT_TRUE(r->ok) << r->raw;
    return r->ok ? r->event_id : 0;
}

// Runs a second pubsubd to its end; expects exit 1 and the first one's pid in its log.
void expect_refused(const std::vector<std::string>& argv, const fs::path& log, pid_t first,
                    const fs::path& cwd = {}) {
    auto second = child_process::spawn(argv, log, cwd);
    ASSERT_TRUE(second.ok()) << second.message();
    auto code = second->wait(30s);
    EXPECT_EQ(code, std::optional<int>(1)) << "the second pubsubd should exit 1\n"
                                           << second->log_tail();
    std::string text = read_file(log);
    EXPECT_NE(text.find("another pubsubd (pid " + std::to_string(first) + ")"), std::string::npos)
        << text;
}

class single_instance_e2e : public e2e_test {};

TEST_F(single_instance_e2e, SecondDaemonOnALiveSocketExitsOneAndTheFirstKeepsServing) {
    start_daemon();
    std::int64_t before = send_acked(socket_path(), "single_before");
    expect_refused(
        {bin_dir() + "/pubsubd", "--dsn", dsn(), "--schema", schema(), "--socket", socket_path()},
        tmp().path() / "second.log", daemon().pid());
    ASSERT_TRUE(daemon_running()) << "the first pubsubd died";
    std::int64_t after = send_acked(socket_path(), "single_after");
    ASSERT_GT(after, 0);
    auto rows = read_events(dsn(), schema(), {before, after});
    ASSERT_TRUE(rows.ok()) << rows.message();
    EXPECT_EQ(rows->size(), 2u) << "events acked by the first pubsubd are not in the table";
    EXPECT_EQ(stop_daemon(), std::optional<int>(0)) << daemon().log_tail();
}

// One embedded cluster for every case (initdb takes seconds).
TEST(single_instance_embedded_e2e, DataDirIsLockedAndTheClusterIsStoppedOnlyByItsStarter) {
    unset_pubsub_env();
    temp_dir tmp("pubsub-e2e-single-");
    ASSERT_FALSE(tmp.path().empty());
    const fs::path data = tmp.path() / "data";
    embedded_stopper guard{data};
    const std::string pubsubd = bin_dir() + "/pubsubd";
    const std::string sock = (data / "pubsub.sock").string();

    auto first =
        child_process::spawn({pubsubd, "--data-dir", "data"}, tmp.path() / "first.log", tmp.path());
    ASSERT_TRUE(first.ok()) << first.message();
    ASSERT_TRUE(wait_for_socket(sock, 150s, [&] { return first->running(); }).ok())
        << first->log_tail();
    std::int64_t before = send_acked(sock, "single_before");

    // Same data dir, its own socket: only the data dir lock can refuse it.
    expect_refused(
        {pubsubd, "--data-dir", "data", "--socket", (tmp.path() / "other.sock").string()},
        tmp.path() / "second.log", first->pid(), tmp.path());
    ASSERT_TRUE(first->running()) << first->log_tail();
    auto dsn = embedded_cluster::find_running(data);
    ASSERT_TRUE(dsn.has_value()) << "the second pubsubd stopped the first one's PostgreSQL";
    std::int64_t after = send_acked(sock, "single_after");
    ASSERT_GT(after, 0);
    auto rows = read_events(*dsn, "dba", {before, after});
    ASSERT_TRUE(rows.ok()) << rows.message();
    EXPECT_EQ(rows->size(), 2u);

    ASSERT_TRUE(first->signal(SIGTERM).ok());
    EXPECT_EQ(first->wait(60s), std::optional<int>(0)) << first->log_tail();
    EXPECT_FALSE(embedded_cluster::find_running(data).has_value())
        << "the pubsubd that started the cluster should stop it";

    // A cluster running before pubsubd came (as `pubsub-pg start` leaves it) is adopted and left
    // running at exit.
    embedded_options eo;
    eo.data_dir = data;
    ASSERT_TRUE(embedded_cluster(eo).start().ok());
    auto third =
        child_process::spawn({pubsubd, "--data-dir", "data"}, tmp.path() / "third.log", tmp.path());
    ASSERT_TRUE(third.ok()) << third.message();
    ASSERT_TRUE(wait_for_socket(sock, 60s, [&] { return third->running(); }).ok())
        << third->log_tail();
    EXPECT_GT(send_acked(sock, "single_third"), 0);
    ASSERT_TRUE(third->signal(SIGTERM).ok());
    EXPECT_EQ(third->wait(60s), std::optional<int>(0)) << third->log_tail();
    EXPECT_TRUE(embedded_cluster::find_running(data).has_value())
        << "pubsubd stopped a PostgreSQL it did not start";
}

}  // namespace
}  // namespace pubsub::e2e
