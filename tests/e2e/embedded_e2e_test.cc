// End-to-end: pubsubd's embedded mode (SPEC 6): no --dsn, a private cluster under --data-dir,
// the socket at DATA_DIR/pubsub.sock, and the cluster stopped again on SIGTERM.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <filesystem>

#include "storage/embedded_pg.h"
#include "tests/e2e/e2e_env.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

TEST(embedded_e2e, StartsItsOwnClusterEmitsAndStopsIt) {
    unset_pubsub_env();
    temp_dir tmp("pubsub-e2e-emb-");
    ASSERT_FALSE(tmp.path().empty());
    const fs::path data = tmp.path() / "data";
    embedded_stopper guard{data};

    auto daemon = child_process::spawn({bin_dir() + "/pubsubd", "--data-dir", "data"},
                                       tmp.path() / "pubsubd.log", tmp.path());
    ASSERT_TRUE(daemon.ok()) << daemon.message();
    const std::string sock = (data / "pubsub.sock").string();
    status up = wait_for_socket(sock, 150s, [&] { return daemon->running(); });
    ASSERT_TRUE(up.ok()) << up.message() << "\n" << daemon->log_tail();

    auto client = ndjson_client::connect(sock);
    ASSERT_TRUE(client.ok()) << client.message();
    ASSERT_TRUE(
        client->send_line(event_line("e2e_event", "e2e:embedded", "{\"a\":1}", 5, "durable")).ok());
    auto r = client->read_reply(30s);
    ASSERT_TRUE(r.ok()) << r.message();
    ASSERT_TRUE(r->ok) << r->raw;

    auto dsn = embedded_cluster::find_running(data);
    ASSERT_TRUE(dsn.has_value()) << "the embedded cluster should be running";
    auto rows = read_events(*dsn, "dba", {r->event_id});
    ASSERT_TRUE(rows.ok()) << rows.message();
    EXPECT_EQ(rows->size(), 1u) << "the event is not in dba.tpubsub_events of the embedded db";

    ASSERT_TRUE(daemon->signal(SIGTERM).ok());
    auto code = daemon->wait(60s);
    EXPECT_EQ(code, std::optional<int>(0)) << daemon->log_tail();
    EXPECT_FALSE(embedded_cluster::find_running(data).has_value())
        << "the embedded server still runs after pubsubd exited";
    std::error_code ec;
    EXPECT_FALSE(fs::exists(data / "pg" / "data" / "postmaster.pid", ec))
        << "postmaster.pid left behind";
}

}  // namespace
}  // namespace pubsub::e2e
