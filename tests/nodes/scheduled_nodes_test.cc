// Several routers (SPEC 7.6) and far-off scheduled events held as (id, due time): a node that
// stalls past its deadline loses them to a survivor, which holds them the same way and runs each
// once at its time; the stalled node, back, starts none of them. Witness: the handler script's
// file (node_cluster.h) and the rows read over the test's own connection.
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "tests/e2e/delayed_send.h"
#include "tests/nodes/node_cluster.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

class scheduled_nodes : public node_cluster {};

TEST_F(scheduled_nodes, StalledNodeLosesItsScheduledEventsToASurvivorEachRunsOnce) {
    add_witness_subscriber("nodes_later", "0");
    const std::vector<std::string> flags = {"--node-dead-after", "1"};
    start_node(0, flags);
    ASSERT_FALSE(HasFatalFailure());
    start_node(1, flags);
    ASSERT_FALSE(HasFatalFailure());
    auto sent = send_delayed(node(0).socket, "nodes_later", 20, 8000, 20);
    ASSERT_TRUE(sent.ok()) << sent.message();
    const std::vector<std::int64_t>& ids = *sent;
    std::this_thread::sleep_for(300ms);  // committed: node 0 holds them without their body
    ASSERT_TRUE(node(0).proc->signal(SIGSTOP).ok());
    const std::string taken_sql = "SELECT count(*) FROM " + conn().quote_identifier(schema()) +
                                  ".tpubsub_events WHERE claimed_by = 'n1'";
    std::int64_t taken = 0;
    for (auto until = steady::now() + 10s; taken < 20 && steady::now() < until;) {
        std::this_thread::sleep_for(50ms);
        auto r = conn().query(taken_sql);
        ASSERT_TRUE(r.ok()) << r.message();
        taken = r->get_int(0, 0);
    }
    ASSERT_TRUE(node(0).proc->signal(SIGCONT).ok());
    ASSERT_EQ(taken, 20) << "the survivor took the stalled node's scheduled events\n" << logs();
    status done = wait_done(ids, 20s);
    ASSERT_TRUE(done.ok()) << done.message() << "\n" << logs();
    std::this_thread::sleep_for(1s);  // a second run would show by now
    auto w = witness();
    for (auto id : ids) EXPECT_EQ(w[id].size(), 1u) << "event " << id;
    auto early = conn().query("SELECT count(*) FROM " + conn().quote_identifier(schema()) +
                              ".tpubsub_events WHERE processed_at < run_at");
    ASSERT_TRUE(early.ok()) << early.message();
    EXPECT_EQ(early->get_int(0, 0), 0) << "ran before its time";
}

}  // namespace
}  // namespace pubsub::e2e
