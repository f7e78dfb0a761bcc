#include "bench/pubsub_bench/multi_node.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <thread>

#include "bench/pubsub_bench/daemon_control.h"
#include "bench/pubsub_bench/report.h"
#include "bench/pubsub_bench/run_end.h"
#include "bench/pubsub_bench/socket_load.h"
#include "bench/pubsub_bench/table_watch.h"

namespace pubsub::bench {
namespace {

using nodes = std::vector<std::unique_ptr<daemon_process>>;

struct run_dirs {
    std::string dsn;
    std::string dir;  // sockets, logs, per-node data dirs, scripts
};

// Starts `count` pubsubd on schema; node i gets its own socket and data dir under dir/tag.
status start_nodes(const run_dirs& rd, const bench_options& opt, const std::string& schema,
                   const std::string& tag, int count, const std::vector<std::string>& extra,
                   nodes& out, std::vector<std::string>& sockets) {
    for (int i = 0; i < count; ++i) {
        const std::string base = rd.dir + "/" + tag + "-n" + std::to_string(i);
        std::error_code ec;
        std::filesystem::create_directories(base, ec);
        std::string sock = base + "/pubsub.sock";
        std::vector<std::string> args{"--dsn",           rd.dsn,
                                      "--schema",        schema,
                                      "--socket",        sock,
                                      "--data-dir",      base,
                                      "--node-name",     tag + "-n" + std::to_string(i),
                                      "--log-level",     "info",
                                      "--drain-timeout", "5"};
        args.insert(args.end(), extra.begin(), extra.end());
        args.insert(args.end(), opt.daemon_args.begin(), opt.daemon_args.end());
        auto d = std::make_unique<daemon_process>();
        if (auto s = d->start({}, args, sock, base + ".log", opt.timeout_s); !s.ok()) return s;
        out.push_back(std::move(d));
        sockets.push_back(sock);
    }
    return status();
}

void kill_all(nodes& ns) {
    for (auto& d : ns) {
        if (d->pid() > 0) ::kill(d->pid(), SIGKILL);
    }
    ns.clear();  // the destructors reap them
}

// End-to-end events/s of `count` nodes: opt.events split over their sockets, durable acks,
// from the first send to the moment the table shows every acked event completed.
result<double> throughput(const run_dirs& rd, const bench_options& opt, int count,
                          const std::string& schema) {
    if (auto s = prepare_schema(rd.dsn, schema, "noop", ""); !s.ok()) return s;
    nodes ns;
    std::vector<std::string> sockets;
    auto started =
        start_nodes(rd, opt, schema, schema, count,
                    {"--concurrency", "noop=" + std::to_string(opt.noop_threads)}, ns, sockets);
    if (!started.ok()) {
        kill_all(ns);
        return started;
    }
    bench_options per = opt;
    per.ack = "durable";
    per.events = opt.events / static_cast<std::size_t>(count);
    per.producers = std::max(1, opt.producers / count);
    std::vector<socket_load_result> loads(static_cast<std::size_t>(count));
    std::vector<std::thread> threads;
    for (int i = 0; i < count; ++i) {
        threads.emplace_back([&, i] { loads[i] = run_socket_load(per, sockets[i]); });
    }
    for (auto& t : threads) t.join();
    std::vector<std::int64_t> ids;
    std::int64_t first = 0;
    std::string err;
    for (const auto& l : loads) {
        if (l.errors && err.empty()) err = l.first_error;
        if (l.first_send_us && (first == 0 || l.first_send_us < first)) first = l.first_send_us;
        for (const auto& r : l.records) {
            if (r.event_id) ids.push_back(r.event_id);
        }
    }
    auto c = wait_all_completed({rd.dsn, schema}, ids, opt.timeout_s);
    for (auto& d : ns) (void)d->stop(opt.timeout_s);
    ns.clear();
    if (!err.empty()) return status::error(std::to_string(count) + " nodes: refused: " + err);
    if (!c.done) return status::error(std::to_string(count) + " nodes: " + c.error);
    return static_cast<double>(ids.size()) / (static_cast<double>(c.end_us - first) / 1e6);
}

// Event ids the witness saw start at or after `since_ns`, with the last such start.
std::set<std::int64_t> started_since(const std::string& file, std::int64_t since_ns,
                                     std::int64_t& last_ns, std::size_t& lines) {
    std::set<std::int64_t> ids;
    std::ifstream in(file);
    std::int64_t ns = 0, id = 0;
    lines = 0;
    while (in >> ns >> id) {
        ++lines;
        if (ns < since_ns) continue;
        ids.insert(id);
        last_ns = std::max(last_ns, ns);
    }
    return ids;
}

std::int64_t wall_ns() { return wall_us() * 1000; }

// One kill -9: mo.failover_events deliveries running on node 0 of mo.failover_nodes, then the
// kill, then the time until the survivors have started every one of them again (seconds).
result<double> failover_once(const run_dirs& rd, const bench_options& opt,
                             const multi_node_options& mo, const std::string& schema) {
    const std::string witness = rd.dir + "/" + schema + ".witness";
    const std::string scripts = rd.dir + "/" + schema + "-scripts";  // --scripts-dir
    const std::string script = scripts + "/witness.sh";
    std::error_code ec;
    std::filesystem::create_directories(scripts, ec);
    // Sleeps past any failover, so no delivery completes on the victim before the kill.
    std::ofstream(script) << "#!/bin/sh\necho \"$(date +%s%N) $PUBSUB_EVENT_ID\" >> '" << witness
                          << "'\nexec sleep 20\n";
    ::chmod(script.c_str(), 0755);
    if (auto s = prepare_schema(rd.dsn, schema, "sleep", script); !s.ok()) return s;
    nodes ns;
    std::vector<std::string> sockets;
    const std::string k = std::to_string(mo.failover_events);
    auto started = start_nodes(
        rd, opt, schema, schema, mo.failover_nodes,
        {"--node-dead-after", "1", "--scripts-dir", scripts, "--concurrency", "custom=" + k}, ns,
        sockets);
    auto fail = [&ns](status s) -> result<double> {
        kill_all(ns);
        return s;
    };
    if (!started.ok()) return fail(started);
    bench_options per = opt;
    per.ack = "durable";
    per.events = static_cast<std::size_t>(mo.failover_events);
    per.producers = 1;
    auto load = run_socket_load(per, sockets[0]);
    if (load.ok != per.events) return fail(status::error("failover load: " + load.first_error));
    // Every delivery runs on node 0 (it owns what came in through its door).
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(opt.timeout_s);
    std::int64_t last = 0;
    std::size_t lines = 0;
    while (started_since(witness, 0, last, lines).size() < per.events) {
        if (std::chrono::steady_clock::now() > until) {
            return fail(status::error("failover: the victim did not start every delivery"));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const std::int64_t killed_ns = wall_ns();
    ::kill(ns[0]->pid(), SIGKILL);
    last = 0;
    while (started_since(witness, killed_ns, last, lines).size() < per.events) {
        if (std::chrono::steady_clock::now() > until) {
            return fail(status::error("failover: orphans not restarted within --timeout"));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill_all(ns);
    return static_cast<double>(last - killed_ns) / 1e9;
}

std::string fixed(double v, int decimals) {
    char b[64];
    std::snprintf(b, sizeof b, "%.*f", decimals, v);
    return b;
}

}  // namespace

int run_multi_node(const bench_options& opt, const multi_node_options& mo) {
    bench_report rep;
    json_object j;
    const std::string pid = std::to_string(::getpid());
    run_dirs rd{opt.dsn, opt.data_dir + "/multi-" + pid};
    std::error_code ec;
    std::filesystem::create_directories(rd.dir, ec);
    std::optional<cluster_handle> cluster;
    if (rd.dsn.empty()) {
        auto c = ensure_cluster(opt.data_dir, opt.timeout_s);
        if (!c.ok()) {
            std::cerr << "pubsub-bench: " << c.message() << "\n";
            return 1;
        }
        cluster = *c;
        rd.dsn = c->dsn;
    }
    machine_info m = read_machine(server_version(rd.dsn));
    rep.machine_text = std::to_string(m.nproc) + " cpus (shared by every node), " + m.cpu +
                       ", PostgreSQL " + m.pg_version + ", load " + fixed(m.load1, 2);
    rep.config_text = "nodes=1.." + std::to_string(mo.max_nodes) +
                      " events=" + std::to_string(opt.events) +
                      " producers=" + std::to_string(opt.producers) +
                      " ack=durable noop_threads=" + std::to_string(opt.noop_threads) +
                      " failover: " + std::to_string(mo.failover_runs) + " x kill -9 of 1 of " +
                      std::to_string(mo.failover_nodes) + " nodes, " +
                      std::to_string(mo.failover_events) + " deliveries, --node-dead-after 1";
    j.str("tool", "pubsub-bench").str("mode", "nodes").str("config", rep.config_text);
    j.num("nproc", m.nproc).num("load1", m.load1);
    json_object rates;
    double one = 0;
    for (int n = 1; n <= mo.max_nodes; ++n) {
        const std::string schema = "bench_" + pid + "_n" + std::to_string(n);
        auto r = throughput(rd, opt, n, schema);
        if (!opt.keep_schema) (void)drop_schema(rd.dsn, schema);
        if (!r.ok()) {
            rep.errors.push_back(r.message());
            continue;
        }
        if (n == 1) one = *r;
        std::string note = n > 1 && one > 0 ? "x" + fixed(*r / one, 2) + " of 1 node" : "";
        const double events = static_cast<double>(opt.events / static_cast<std::size_t>(n) * n);
        rep.rates.push_back({std::to_string(n) + " node" + (n > 1 ? "s" : "") + " end-to-end", *r,
                             events / *r, note});
        rates.num(std::to_string(n), *r);
        if (n > 1 && one > 0) rep.ratios.push_back({std::to_string(n) + "_nodes_vs_1", *r / one});
    }
    j.raw("events_per_s", rates.done());
    std::vector<std::int64_t> failover_us;
    for (int i = 0; i < mo.failover_runs; ++i) {
        const std::string schema = "bench_" + pid + "_f" + std::to_string(i);
        auto r = failover_once(rd, opt, mo, schema);
        if (!opt.keep_schema) (void)drop_schema(rd.dsn, schema);
        if (!r.ok()) {
            rep.errors.push_back(r.message());
            continue;
        }
        failover_us.push_back(static_cast<std::int64_t>(*r * 1e6));
        rep.facts.push_back({"failover run " + std::to_string(i + 1), fixed(*r, 2) + " s"});
    }
    if (!failover_us.empty()) {
        auto s = summarize(failover_us);
        rep.latencies.push_back({"kill -9 -> last orphan started", s});
        j.raw("failover_us", latency_json(s));
    }
    return end_run(opt, cluster, rep, j);
}

}  // namespace pubsub::bench
