// Pause and resume on several routers sharing a schema (SPEC 7.4, 7.6): a pause made with
// pubsubctl reaches every running node and one started later; a resume releases the held
// deliveries on every node. Judged by the nodes fixture's witness file and the table.
#include <thread>

#include "tests/nodes/node_cluster.h"
#include "tests/pubsubctl/run_ctl.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;

class pause_nodes_test : public node_cluster {
  protected:
    void ctl_ok(const std::vector<std::string>& args) {
        std::vector<std::string> all = {"--dsn", dsn(), "--schema", schema()};
        all.insert(all.end(), args.begin(), args.end());
        auto r = test::run_ctl(all);
        ASSERT_EQ(r.code, 0) << r.out << r.err;
        std::this_thread::sleep_for(300ms);  // NOTIFY reaches the listeners
    }
    std::int64_t held_rows() {
        auto r = conn().query("SELECT count(*) FROM " + schema() +
                              ".tpubsub_deliveries WHERE status = 'held'");
        return r.ok() ? r->get_int(0, 0) : -1;
    }
    void wait_held(std::int64_t want) {
        for (auto until = std::chrono::steady_clock::now() + 20s;
             std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(10ms)) {
            if (held_rows() == want) return;
        }
        ADD_FAILURE() << held_rows() << " held rows, want " << want << "\n" << logs();
    }
};

TEST_F(pause_nodes_test, a_pause_reaches_every_node_and_one_started_later) {
    add_witness_subscriber("job", "0");
    start_node(0);
    start_node(1);
    ctl_ok({"pools", "pause", "custom"});
    auto ids = send_events(0, "job", 4);
    for (auto id : send_events(1, "job", 4)) ids.push_back(id);
    start_node(2);  // reads the pause from the table
    for (auto id : send_events(2, "job", 4)) ids.push_back(id);
    wait_held(12);
    EXPECT_TRUE(witness().empty());
    ctl_ok({"pools", "resume", "custom"});
    ASSERT_TRUE(wait_done(ids, 20s).ok()) << logs();
    for (const auto& [id, attempts] : witness()) EXPECT_EQ(attempts.size(), 1u) << id;
    EXPECT_EQ(witness().size(), 12u);
}

}  // namespace
}  // namespace pubsub::e2e
