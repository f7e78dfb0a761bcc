#include "tests/nodes/node_cluster.h"

#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace pubsub::e2e {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

void node_cluster::SetUp() {
    e2e_test::SetUp();
    scripts_ = (tmp().path() / "scripts").string();
    witness_file_ = (tmp().path() / "witness.log").string();
    fs::create_directories(scripts_);
}

void node_cluster::TearDown() {
    for (auto& [i, n] : nodes_) {
        if (n.proc && n.proc->running()) {
            (void)n.proc->signal(SIGCONT);
            (void)n.proc->signal(SIGKILL);
            (void)n.proc->wait(10s);
        }
    }
    if (HasFailure()) std::fprintf(stderr, "%s\n", logs().c_str());
    nodes_.clear();
    e2e_test::TearDown();
}

void node_cluster::add_witness_subscriber(const std::string& event_type, const std::string& sleep_s,
                                          const std::string& on_schema) {
    const fs::path script = fs::path(scripts_) / (event_type + ".sh");
    // One write() of a short line to an O_APPEND file: lines of concurrent runs never mix.
    std::ofstream(script) << "#!/bin/sh\n"
                          << "echo \"$PUBSUB_EVENT_ID $PUBSUB_ATTEMPT\" >> '" << witness_file_
                          << "'\n"
                          << "sleep " << sleep_s << "\n";
    ASSERT_EQ(::chmod(script.c_str(), 0755), 0);
    auto ins = conn().query("INSERT INTO " +
                                conn().quote_identifier(on_schema.empty() ? schema() : on_schema) +
                                ".tpubsub_subscribers (subscriber_name, event_type, job_type, "
                                "script_path) VALUES ($1, $1, 'custom', $2)",
                            {event_type, script.string()});
    ASSERT_TRUE(ins.ok()) << ins.message();
}

void node_cluster::start_node(std::size_t i, const std::vector<std::string>& extra,
                              const std::string& on_schema) {
    node_proc& n = nodes_[i];
    n.name = "n" + std::to_string(i);
    n.socket = (tmp().path() / (n.name + ".sock")).string();
    std::vector<std::string> argv = {bin_dir() + "/pubsubd",
                                     "--dsn",
                                     dsn(),
                                     "--schema",
                                     on_schema.empty() ? schema() : on_schema,
                                     "--socket",
                                     n.socket,
                                     "--node-name",
                                     n.name,
                                     "--data-dir",
                                     (tmp().path() / ("data-" + n.name)).string(),
                                     "--scripts-dir",
                                     scripts_,
                                     "--log-level",
                                     "info"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto child = child_process::spawn(argv, tmp().path() / (n.name + ".log"));
    ASSERT_TRUE(child.ok()) << child.message();
    n.proc.emplace(std::move(*child));
    status up = wait_for_socket(n.socket, 60s, [&n] { return n.proc->running(); });
    ASSERT_TRUE(up.ok()) << up.message() << "\n" << n.proc->log_tail();
}

std::vector<std::int64_t> node_cluster::send_events(std::size_t i, const std::string& type,
                                                    std::size_t count) {
    load_options o;
    o.socket_path = node(i).socket;
    o.count = count;
    o.line = [&type, i](std::size_t k) {
        return event_line(type, "node" + std::to_string(i), "{\"k\":" + std::to_string(k) + "}",
                          1 + static_cast<int>(k % 10), "durable");
    };
    auto r = run_load(o);
    EXPECT_TRUE(r.ok()) << r.message();
    if (!r.ok()) return {};
    EXPECT_EQ(r->ok_count(), count) << r->end_reason;
    return acked_ids(*r);
}

std::vector<std::int64_t> node_cluster::create_events(const std::string& type, std::size_t count) {
    auto r = conn().query("SELECT " + conn().quote_identifier(schema()) +
                              ".create_event($1, 'sql', jsonb_build_object('g', g), 1 + g % 10) "
                              "FROM generate_series(1, $2::int) g",
                          {type, std::to_string(count)});
    EXPECT_TRUE(r.ok()) << r.message();
    std::vector<std::int64_t> ids;
    if (r.ok()) {
        for (int k = 0; k < r->rows(); ++k) ids.push_back(r->get_int(k, 0));
    }
    return ids;
}

std::map<std::int64_t, std::vector<int>> node_cluster::witness() const {
    std::map<std::int64_t, std::vector<int>> out;
    std::ifstream in(witness_file_);
    std::int64_t id = 0;
    int attempt = 0;
    while (in >> id >> attempt) out[id].push_back(attempt);
    return out;
}

status node_cluster::wait_done(const std::vector<std::int64_t>& ids, std::chrono::seconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    status s = wait_completed(dsn(), schema(), ids, timeout);
    if (!s.ok()) return s;
    while (std::chrono::steady_clock::now() < until) {
        auto w = witness();
        std::size_t missing = 0;
        for (auto id : ids) missing += w.count(id) == 0;
        if (missing == 0) return status();
        std::this_thread::sleep_for(50ms);
    }
    return status::error("completed in the table but never run by the witness");
}

std::string node_cluster::logs() const {
    std::ostringstream out;
    for (const auto& [i, n] : nodes_) {
        out << "---- " << n.name << " log tail ----\n"
            << file_tail(tmp().path() / (n.name + ".log"), 3000) << "\n";
    }
    return out.str();
}

}  // namespace pubsub::e2e
