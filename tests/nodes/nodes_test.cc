// Several pubsubd on one database (SPEC 7.6), end to end: real daemons on the fixture's
// PostgreSQL with --node-dead-after 1, a `custom` witness handler (node_cluster.h) as the judge.
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "storage/channels.h"
#include "storage/status_queries.h"
#include "tests/nodes/node_cluster.h"
#include "tests/support/pg_test_env.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

const std::vector<std::string> fast_nodes = {
    "--node-dead-after", "1", "--sweep-interval-ms", "200", "--concurrency", "custom=8"};

// Ids that the witness saw run more than once, as "id:attempts" (empty when none).
std::string runs_more_than_once(const std::map<std::int64_t, std::vector<int>>& w) {
    std::string out;
    std::size_t n = 0;
    for (const auto& [id, attempts] : w) {
        if (attempts.size() <= 1) continue;
        if (++n <= 20) out += " " + std::to_string(id) + ":" + std::to_string(attempts.size());
    }
    return n == 0 ? "" : std::to_string(n) + " events ran more than once:" + out;
}

class nodes : public node_cluster {};

// No fault at all: with the heartbeat every deadline / 3, no node takes another for dead, so
// every event runs exactly once, whichever door it came through.
TEST_F(nodes, ThreeNodesNoFaultEachEventRunsExactlyOnce) {
    add_witness_subscriber("nodes_once", "0.1");
    for (std::size_t i = 0; i < 3; ++i) {
        start_node(i, fast_nodes);
        ASSERT_FALSE(HasFatalFailure());
    }
    // 1,000 events through every door: 250 on each node's socket, 150 by create_event, 100 by
    // pg_notify ingest (which answers no id: those are read back from the table).
    std::vector<std::int64_t> ids;
    std::vector<std::thread> senders;
    std::vector<std::vector<std::int64_t>> sent(3);
    for (std::size_t i = 0; i < 3; ++i) {
        senders.emplace_back([&, i] { sent[i] = send_events(i, "nodes_once", 250); });
    }
    auto created = create_events("nodes_once", 150);
    const std::string q = conn().quote_identifier(schema());
    for (int k = 0; k < 100; ++k) {
        auto n = conn().query("SELECT pg_notify(" + q + ".tpubsub_channel('tpubsub_ingest'), $1)",
                              {event_line("nodes_once", "notify", "{}", 5, "")});
        ASSERT_TRUE(n.ok()) << n.message();
    }
    for (auto& t : senders) t.join();
    for (auto& s : sent) ids.insert(ids.end(), s.begin(), s.end());
    ids.insert(ids.end(), created.begin(), created.end());
    std::vector<std::int64_t> notified;
    for (auto until = std::chrono::steady_clock::now() + 30s;
         notified.size() < 100 && std::chrono::steady_clock::now() < until;) {
        std::this_thread::sleep_for(100ms);
        auto r = conn().query("SELECT event_id FROM " + q +
                              ".tpubsub_events WHERE event_source = 'notify' ORDER BY event_id");
        ASSERT_TRUE(r.ok()) << r.message();
        notified.clear();
        for (int k = 0; k < r->rows(); ++k) notified.push_back(r->get_int(k, 0));
    }
    ASSERT_EQ(notified.size(), 100u) << "pg_notify events stored exactly once";
    ids.insert(ids.end(), notified.begin(), notified.end());
    ASSERT_EQ(ids.size(), 1000u);

    status done = wait_done(ids, 60s);
    ASSERT_TRUE(done.ok()) << done.message();
    std::this_thread::sleep_for(1500ms);  // a stolen event would run again by now
    auto w = witness();
    EXPECT_EQ(runs_more_than_once(w), "");
    std::size_t first_attempts = 0;
    for (auto id : ids) first_attempts += w[id] == std::vector<int>{1};
    EXPECT_EQ(first_attempts, ids.size()) << "every event ran once, as attempt 1";
}

// kill -9 of a node while its handlers run: the survivors take its open events within the
// deadline + 2 s, both of them, and every event completes; only what ran at the kill runs twice.
TEST_F(nodes, KillNineOfANodeItsEventsMoveToBothSurvivorsWithinTheDeadline) {
    add_witness_subscriber("nodes_kill", "0.4");
    const std::vector<std::string> four = {"--node-dead-after", "1", "--concurrency", "custom=4"};
    for (std::size_t i = 0; i < 3; ++i) {
        start_node(i, four);
        ASSERT_FALSE(HasFatalFailure());
    }
    auto ids = send_events(0, "nodes_kill", 60);  // 6 s of work for node 0 alone
    ASSERT_EQ(ids.size(), 60u);
    for (auto until = steady::now() + 10s; witness().size() < 8 && steady::now() < until;) {
        std::this_thread::sleep_for(10ms);
    }
    ASSERT_GE(witness().size(), 8u);
    // Mid-run of the second four: the first four's completions are committed by then (a
    // completion not yet committed at a kill runs again too: at-least-once).
    std::this_thread::sleep_for(150ms);
    ASSERT_TRUE(node(0).proc->signal(SIGKILL).ok());
    const auto killed = steady::now();
    const auto ran_before = witness().size();

    // The first event of the dead node started by a survivor.
    for (; witness().size() == ran_before && steady::now() < killed + 10s;) {
        std::this_thread::sleep_for(5ms);
    }
    const double failover_s = std::chrono::duration<double>(steady::now() - killed).count();
    status done = wait_done(ids, 30s);
    ASSERT_TRUE(done.ok()) << done.message();
    const double all_s = std::chrono::duration<double>(steady::now() - killed).count();
    std::printf("[ nodes ] kill -9: first orphan started after %.2f s, all done after %.2f s\n",
                failover_s, all_s);
    EXPECT_LT(failover_s, 1 + 2) << "deadline + 2 s";
    // What remained (about 52 runs of 0.4 s) over 2 survivors of 4 threads: about 3 s, plus
    // slack for a loaded machine.
    EXPECT_LT(all_s, 1 + 2 + 3 + 2);

    auto w = witness();
    std::size_t twice = 0;
    for (auto id : ids) {
        EXPECT_GE(w[id].size(), 1u) << id;
        twice += w[id].size() > 1;
    }
    EXPECT_LE(twice, 4u) << "only the 4 deliveries running at the kill may run twice: "
                         << runs_more_than_once(w);
    auto by = conn().query("SELECT claimed_by, count(*) FROM " + conn().quote_identifier(schema()) +
                           ".tpubsub_events GROUP BY 1 ORDER BY 1");
    ASSERT_TRUE(by.ok()) << by.message();
    std::map<std::string, std::int64_t> claimed;
    for (int k = 0; k < by->rows(); ++k) claimed[std::string(by->get(k, 0))] = by->get_int(k, 1);
    EXPECT_GT(claimed["n1"], 5) << "the dead node's events spread over the survivors";
    EXPECT_GT(claimed["n2"], 5) << "the dead node's events spread over the survivors";
}

// SIGSTOP of a node past its deadline, then SIGCONT: the survivor has taken its events; the
// stalled node starts no handler for them once it runs again (only the deliveries running at
// the stop may run twice), and no row goes back to an older state.
TEST_F(nodes, StalledNodeStartsNoHandlerForEventsItLostAndOverwritesNothing) {
    add_witness_subscriber("nodes_stall", "0.3");
    const std::vector<std::string> two = {"--node-dead-after", "1", "--concurrency", "custom=2"};
    start_node(0, two);
    ASSERT_FALSE(HasFatalFailure());
    start_node(1, two);
    ASSERT_FALSE(HasFatalFailure());
    auto ids = send_events(0, "nodes_stall", 40);  // 6 s of work for node 0 alone
    ASSERT_EQ(ids.size(), 40u);
    for (auto until = steady::now() + 10s; witness().size() < 4 && steady::now() < until;) {
        std::this_thread::sleep_for(10ms);
    }
    std::this_thread::sleep_for(150ms);  // mid-run; the first two's completions committed
    ASSERT_TRUE(node(0).proc->signal(SIGSTOP).ok());
    std::this_thread::sleep_for(2500ms);  // past the deadline: node 1 takes the open events
    ASSERT_TRUE(node(0).proc->signal(SIGCONT).ok());

    status done = wait_done(ids, 30s);
    ASSERT_TRUE(done.ok()) << done.message();
    auto snapshot = [this] {
        auto r = conn().query(
            "SELECT string_agg(event_id || ' ' || status || ' ' || "
            "coalesce(completed_at::text, '-'), ',' ORDER BY event_id) FROM " +
            conn().quote_identifier(schema()) + ".tpubsub_events");
        EXPECT_TRUE(r.ok()) << r.message();
        return r.ok() ? std::string(r->get(0, 0)) : std::string();
    };
    const auto before = snapshot();
    std::this_thread::sleep_for(2s);  // the stalled node's queue would have run by now
    EXPECT_EQ(snapshot(), before) << "a row changed after every event completed";

    auto w = witness();
    std::size_t twice = 0;
    for (auto id : ids) twice += w[id].size() > 1;
    EXPECT_LE(twice, 2u) << "only the 2 deliveries running at the stop may run twice: "
                         << runs_more_than_once(w);
    auto taken = conn().query("SELECT count(*) FROM " + conn().quote_identifier(schema()) +
                              ".tpubsub_events WHERE claimed_by = 'n1'");
    ASSERT_TRUE(taken.ok()) << taken.message();
    EXPECT_GT(taken->get_int(0, 0), 10) << "the survivor took the stalled node's events";
    EXPECT_NE(logs().find("declared dead"), std::string::npos) << "the stalled node said so";
}

// Two schemas in one database, a node each: NOTIFY channels carry the schema (SPEC 7.6), so a
// pg_notify ingest payload, a create_event wake-up and a subscriber change reach only the node
// of their schema, and every event runs once, in its own schema.
TEST_F(nodes, TwoSchemasOneNodeEachNoCrossTalk) {
    auto other = test::create_test_schema(dsn());
    ASSERT_TRUE(other.ok()) << other.message();
    struct dropper {
        std::string dsn, schema;
        ~dropper() { test::drop_test_schema(dsn, schema); }
    } drop{dsn(), *other};
    add_witness_subscriber("nodes_a", "0");
    const std::string witness_a = witness_file_, witness_b = witness_file_ + ".b";
    witness_file_ = witness_b;  // ids are per schema: schema b's runs go to a file of their own
    add_witness_subscriber("nodes_b", "0", *other);
    witness_file_ = witness_a;
    start_node(0, fast_nodes);
    ASSERT_FALSE(HasFatalFailure());
    start_node(1, fast_nodes, *other);
    ASSERT_FALSE(HasFatalFailure());

    const std::string qa = conn().quote_identifier(schema()), qb = conn().quote_identifier(*other);
    auto ids_a = create_events("nodes_a", 20);
    auto ids_b = conn().query(
        "SELECT " + qb + ".create_event('nodes_b', 'sql', '{}', 5) FROM generate_series(1, 20)");
    ASSERT_TRUE(ids_b.ok()) << ids_b.message();
    for (const auto& [q, type] : {std::pair{qa, "nodes_a"}, std::pair{qb, "nodes_b"}}) {
        for (int k = 0; k < 5; ++k) {
            auto n =
                conn().query("SELECT pg_notify(" + q + ".tpubsub_channel('tpubsub_ingest'), $1)",
                             {event_line(type, "notify", "{}", 5, "")});
            ASSERT_TRUE(n.ok()) << n.message();
        }
    }
    auto count = [this](const std::string& q, const std::string& where) {
        auto r = conn().query("SELECT count(*) FROM " + q + ".tpubsub_events WHERE " + where);
        EXPECT_TRUE(r.ok()) << r.message();
        return r.ok() ? r->get_int(0, 0) : -1;
    };
    for (auto until = steady::now() + 20s;
         (count(qa, "status = 'completed'") < 25 || count(qb, "status = 'completed'") < 25) &&
         steady::now() < until;) {
        std::this_thread::sleep_for(50ms);
    }
    std::this_thread::sleep_for(500ms);  // a stray copy would show by now
    EXPECT_EQ(count(qa, "true"), 25) << "schema a: its 20 created and 5 notified, no more";
    EXPECT_EQ(count(qb, "true"), 25) << "schema b: its 20 created and 5 notified, no more";
    EXPECT_EQ(count(qa, "event_type <> 'nodes_a' OR claimed_by <> 'n0'"), 0);
    EXPECT_EQ(count(qb, "event_type <> 'nodes_b' OR claimed_by <> 'n1'"), 0);
    for (const auto& file : {witness_a, witness_b}) {
        witness_file_ = file;
        auto w = witness();
        EXPECT_EQ(w.size(), 25u) << file;
        EXPECT_EQ(runs_more_than_once(w), "") << file;
    }
    witness_file_ = witness_a;
    // The channel names themselves: the default schema keeps the plain names.
    auto ch = conn().query("SELECT " + qa + ".tpubsub_channel('tpubsub_events')");
    ASSERT_TRUE(ch.ok()) << ch.message();
    EXPECT_EQ(std::string(ch->get(0, 0)), "tpubsub_events_" + schema());
    EXPECT_EQ(schema_channel("tpubsub_events", "dba"), "tpubsub_events");
}

// The deadline is whole seconds, at least 1 (SPEC 7.6); the heartbeat's row carries it, and
// its age stays below a third of it (plus slack for a loaded machine).
TEST_F(nodes, DeadlineBelowOneSecondIsRefusedAndTheRowCarriesIt) {
    auto r = run_command({bin_dir() + "/pubsubd", "--dsn", dsn(), "--schema", schema(), "--socket",
                          (tmp().path() / "x.sock").string(), "--node-dead-after", "0"},
                         tmp().path() / "refused.log", 30s);
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(*r, 2);
    EXPECT_NE(file_tail(tmp().path() / "refused.log", 2000).find("--node-dead-after must be"),
              std::string::npos)
        << file_tail(tmp().path() / "refused.log", 2000);

    start_node(0, {"--node-dead-after", "2"});
    ASSERT_FALSE(HasFatalFailure());
    double worst = 0;
    for (int k = 0; k < 20; ++k) {
        auto row = conn().query(
            "SELECT dead_after_s, extract(epoch FROM now() - last_heartbeat) "
            "FROM " +
            conn().quote_identifier(schema()) + ".tpubsub_nodes WHERE node_id = 'n0'");
        ASSERT_TRUE(row.ok()) << row.message();
        ASSERT_EQ(row->rows(), 1);
        EXPECT_EQ(row->get_int(0, 0), 2);
        worst = std::max(worst, std::stod(std::string(row->get(0, 1))));
        std::this_thread::sleep_for(100ms);
    }
    // "alive" (admin API, pubsubctl status) follows the node's own deadline: stopped past it,
    // the node is no longer alive.
    auto alive = [this] {
        auto rows = node_rows(conn(), schema());
        EXPECT_TRUE(rows.ok()) << rows.message();
        return rows.ok() && rows->rows() == 1 && rows->get(0, 6) == "t";
    };
    EXPECT_TRUE(alive());
    std::this_thread::sleep_for(150ms);  // mid-run; the first two's completions committed
    ASSERT_TRUE(node(0).proc->signal(SIGSTOP).ok());
    std::this_thread::sleep_for(2500ms);
    EXPECT_FALSE(alive()) << "stopped past its 2 s deadline, yet alive";
    ASSERT_TRUE(node(0).proc->signal(SIGCONT).ok());
    EXPECT_LT(worst, 1.5) << "the heartbeat runs every deadline / 3";
}

}  // namespace
}  // namespace pubsub::e2e
