// pubsub-bench: drives pubsubd over its Unix socket and compares it, in the same run and on the
// same PostgreSQL, with a well-made SQL queue and with the raw COPY limit. See bench/RESULTS.md.
//
// Phases (each bounded by --timeout): cluster and schema; pubsubd; the socket load; wait until
// every event is `completed` (noop) or persisted (sleep: RSS with saturated handlers); read
// processed_at; stop pubsubd; the baselines; drop the schema (and stop a cluster started here).
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>

#include "base/build_info/build_info.h"
#include "bench/pubsub_bench/baselines.h"
#include "bench/pubsub_bench/daemon_control.h"
#include "bench/pubsub_bench/handler_modes.h"
#include "bench/pubsub_bench/multi_node.h"
#include "bench/pubsub_bench/report.h"
#include "bench/pubsub_bench/soak.h"
#include "bench/pubsub_bench/socket_load.h"
#include "bench/pubsub_bench/table_watch.h"

namespace pubsub::bench {
namespace {

struct run_context {
    bool own_daemon = true;
    std::optional<cluster_handle> cluster;
    std::string dsn;
    std::string socket_path;
    std::string schema;           // the daemon's tables
    std::string baseline_schema;  // where the baseline tables go
    bool drop_daemon_schema = false;
    daemon_process daemon;
};

std::vector<priority_weight> parse_mix(const std::string& text) {
    std::vector<priority_weight> mix;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
        priority_weight w;
        auto colon = item.find(':');
        w.priority = std::stoi(item.substr(0, colon));
        w.weight = colon == std::string::npos ? 1 : std::stoi(item.substr(colon + 1));
        if (w.priority < 1 || w.priority > 10 || w.weight < 1) {
            throw CLI::ValidationError("--priority-mix", "priority 1..10, weight >= 1: " + item);
        }
        mix.push_back(w);
    }
    if (mix.empty()) throw CLI::ValidationError("--priority-mix", "empty");
    return mix;
}

std::string config_text(const bench_options& o) {
    std::ostringstream s;
    s << "events=" << o.events << " producers=" << o.producers << " ack=" << o.ack
      << " rate=" << (o.rate > 0 ? std::to_string(static_cast<long long>(o.rate)) + "/s" : "max")
      << " window=" << o.window << " payload=" << o.payload_bytes << "B handler=" << o.handler
      << " noop_threads=" << o.noop_threads << " priorities=";
    for (std::size_t i = 0; i < o.priorities.size(); ++i) {
        s << (i ? "," : "") << o.priorities[i].priority << ":" << o.priorities[i].weight;
    }
    return s.str();
}

status start_own_daemon(const bench_options& opt, run_context& ctx) {
    const std::string dir = opt.data_dir;
    const std::string pid = std::to_string(::getpid());
    // The socket and the logs live there also when --dsn names another cluster.
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return status::error("cannot create --data-dir " + dir + ": " + ec.message());
    if (ctx.dsn.empty()) {
        auto c = ensure_cluster(dir, opt.timeout_s);
        if (!c.ok()) return c.error();
        ctx.cluster = *c;
        ctx.dsn = c->dsn;
    }
    std::string script;
    std::vector<std::string> args{
        "--dsn",       ctx.dsn,         "--schema",
        ctx.schema,    "--socket",      ctx.socket_path,
        "--log-level", "info",          "--drain-timeout",
        "5",           "--concurrency", "noop=" + std::to_string(opt.noop_threads)};
    if (opt.handler == "sleep") {
        auto s = write_sleep_script(dir + "/scripts-" + pid, opt.sleep_ms);
        if (!s.ok()) return s.error();
        script = *s;
        args.insert(args.end(),
                    {"--scripts-dir", dir + "/scripts-" + pid, "--concurrency", "custom=1"});
    }
    args.insert(args.end(), opt.daemon_args.begin(), opt.daemon_args.end());
    ctx.drop_daemon_schema = !opt.keep_schema;
    if (auto s = prepare_schema(ctx.dsn, ctx.schema, opt.handler, script); !s.ok()) return s;
    std::vector<std::string> prefix;
    std::istringstream words(opt.daemon_prefix);
    for (std::string w; words >> w;) prefix.push_back(w);
    return ctx.daemon.start(prefix, args, ctx.socket_path, dir + "/pubsubd-" + pid + ".log",
                            opt.timeout_s);
}

std::string fixed(double v, int decimals) {
    char b[64];
    std::snprintf(b, sizeof b, "%.*f", decimals, v);
    return b;
}

double per_s(std::size_t n, double seconds) { return seconds > 0 ? n / seconds : 0; }

// Per priority send->handler start, when the mix has more than one priority.
void add_priority_latencies(bench_report& rep, json_object& j, const bench_options& opt,
                            const std::vector<event_record>& recs) {
    if (opt.priorities.size() < 2) return;
    json_object per;
    for (const auto& w : opt.priorities) {
        std::vector<std::int64_t> v;
        for (const auto& r : recs) {
            if (r.event_id && r.processed_us && r.priority == w.priority) {
                v.push_back(r.processed_us - r.send_us);
            }
        }
        auto s = summarize(v);
        rep.latencies.push_back({"  priority " + std::to_string(w.priority) + " send->handler", s});
        per.raw(std::to_string(w.priority), latency_json(s));
    }
    j.raw("send_to_handler_start_by_priority_us", per.done());
}

// Reads `rows=R batches=B` from pubsubd's "stopped" log line (totals of its write-behind).
void add_write_behind_totals(const std::string& log, bench_report& rep, json_object& j) {
    std::string tail = file_tail(log, 4096);
    auto at = tail.rfind("stopped");
    if (at == std::string::npos) return;
    auto field = [&](const std::string& key) -> double {
        auto k = tail.find(key, at);
        return k == std::string::npos ? 0 : std::atof(tail.c_str() + k + key.size());
    };
    double rows = field(" rows="), batches = field(" batches=");
    if (batches <= 0) return;
    rep.facts.push_back({"write-behind batches / rows", fixed(batches, 0) + " / " + fixed(rows, 0) +
                                                            " (" + fixed(rows / batches, 1) +
                                                            " rows per batch)"});
    j.num("write_behind_batches", batches).num("write_behind_rows", rows);
}

// The pubsub phase; returns its end-to-end rate (0 when not measured).
double run_pubsub(const bench_options& opt, run_context& ctx, bench_report& rep, json_object& j) {
    pid_t dpid = ctx.own_daemon ? ctx.daemon.pid() : -1;
    proc_sample before = dpid > 0 ? sample_process(dpid) : proc_sample{};
    auto load = run_socket_load(opt, ctx.socket_path);
    if (!load.first_error.empty()) rep.errors.push_back("socket load: " + load.first_error);
    double ingest_s = (load.last_ack_us - load.first_send_us) / 1e6;
    rep.rates.push_back({"pubsub ingest (" + opt.ack + " acks)", per_s(load.ok, ingest_s), ingest_s,
                         load.errors ? std::to_string(load.errors) + " errors" : ""});
    j.num("ok", static_cast<double>(load.ok)).num("errors", static_cast<double>(load.errors));
    j.num("ingest_per_s", per_s(load.ok, ingest_s)).num("ingest_s", ingest_s);
    std::vector<std::int64_t> ids;
    for (const auto& r : load.records) {
        if (r.event_id) ids.push_back(r.event_id);
    }
    if (ctx.dsn.empty() || ids.empty()) return 0;
    table_ref t{ctx.dsn, ctx.schema, "tpubsub_events", ctx.own_daemon};
    if (opt.held_only) {
        add_held_memory(opt, t, dpid, before, ids, rep, j);
        return 0;
    }
    double e2e = 0;
    if (opt.handler == "sleep") {
        auto seen = wait_rows_present(t, ids, opt.timeout_s);
        if (!seen.ok()) rep.errors.push_back(seen.message());
    } else {
        auto c = wait_all_completed(t, ids, opt.timeout_s);
        if (!c.done) {
            rep.errors.push_back("end to end: " + c.error);
        } else {
            double s = (c.end_us - load.first_send_us) / 1e6;
            e2e = per_s(ids.size(), s);
            rep.rates.push_back({"pubsub end-to-end", e2e, s, ""});
            j.num("end_to_end_per_s", e2e).num("end_to_end_s", s).num("polls", c.polls);
        }
        if (auto f = fetch_processed(t, load.records); !f.ok()) rep.errors.push_back(f.message());
        if (opt.spread_ms > 0) add_run_at_lateness(t, rep, j);
    }
    if (dpid > 0) {
        proc_sample after = sample_process(dpid);
        double cpu_per_event = (after.cpu_us - before.cpu_us) / static_cast<double>(ids.size());
        double growth = (after.hwm_kb - before.rss_kb) * 1024.0 / ids.size();
        rep.facts.push_back(
            {"pubsubd CPU per event", fixed(cpu_per_event, 1) + " us (10 ms tick resolution)"});
        rep.facts.push_back({"pubsubd RSS idle / now / peak",
                             std::to_string(before.rss_kb) + " / " + std::to_string(after.rss_kb) +
                                 " / " + std::to_string(after.hwm_kb) + " KiB"});
        rep.facts.push_back({"peak RSS growth per event", fixed(growth, 0) + " bytes"});
        j.num("daemon_cpu_us_per_event", cpu_per_event)
            .num("daemon_rss_idle_kb", before.rss_kb)
            .num("daemon_rss_after_kb", after.rss_kb)
            .num("daemon_rss_peak_kb", after.hwm_kb)
            .num("peak_rss_growth_bytes_per_event", growth);
    }
    add_latencies(rep, j, "", load.records, opt.rate > 0);
    add_priority_latencies(rep, j, opt, load.records);
    return e2e;
}

// The soak phase: the series of daemon RSS and open fds, a row every tenth of the run.
void run_soak_phase(const bench_options& opt, run_context& ctx, bench_report& rep, json_object& j) {
    auto s = run_soak(opt, ctx.socket_path, ctx.daemon.pid(), opt.soak_s);
    if (s.errors)
        rep.errors.push_back("soak load: " + std::to_string(s.errors) + " refused (" +
                             s.first_error + ")");
    std::string series = "[";
    std::size_t step = std::max<std::size_t>(1, s.samples.size() / 10);
    std::int64_t peak_rss = 0, peak_fds = 0;
    for (std::size_t i = 0; i < s.samples.size(); ++i) {
        const auto& x = s.samples[i];
        peak_rss = std::max(peak_rss, x.process.rss_kb);
        peak_fds = std::max(peak_fds, x.open_fds);
        series += (i ? "," : "") + json_object()
                                       .num("t_s", x.t_s)
                                       .num("rss_kb", x.process.rss_kb)
                                       .num("open_fds", x.open_fds)
                                       .num("threads", x.process.threads)
                                       .done();
        if (i % step == 0 || i + 1 == s.samples.size()) {
            rep.facts.push_back({"soak t=" + fixed(x.t_s, 0) + " s",
                                 "RSS " + std::to_string(x.process.rss_kb) + " KiB, " +
                                     std::to_string(x.open_fds) + " fds, " +
                                     std::to_string(x.process.threads) + " threads"});
        }
    }
    const auto& first = s.samples.front();
    const auto& last = s.samples.back();
    rep.facts.push_back({"soak RSS start / peak / end",
                         std::to_string(first.process.rss_kb) + " / " + std::to_string(peak_rss) +
                             " / " + std::to_string(last.process.rss_kb) + " KiB"});
    rep.facts.push_back({"soak open fds start / peak / end",
                         std::to_string(first.open_fds) + " / " + std::to_string(peak_fds) + " / " +
                             std::to_string(last.open_fds)});
    rep.facts.push_back(
        {"soak hostile rounds / unread bytes",
         std::to_string(s.hostile_rounds) + " / " + std::to_string(s.unread_bytes)});
    rep.rates.push_back(
        {"soak steady load acked", per_s(s.ok, opt.soak_s), double(opt.soak_s), ""});
    j.raw("soak", json_object()
                      .num("seconds", opt.soak_s)
                      .num("ok", static_cast<double>(s.ok))
                      .num("errors", static_cast<double>(s.errors))
                      .num("hostile_rounds", static_cast<double>(s.hostile_rounds))
                      .num("unread_bytes", static_cast<double>(s.unread_bytes))
                      .num("rss_start_kb", first.process.rss_kb)
                      .num("rss_peak_kb", peak_rss)
                      .num("rss_end_kb", last.process.rss_kb)
                      .num("fds_start", first.open_fds)
                      .num("fds_end", last.open_fds)
                      .raw("samples", series + "]")
                      .done());
}

void run_baselines(const bench_options& opt, run_context& ctx, double pubsub_e2e, bench_report& rep,
                   json_object& j) {
    if (ctx.dsn.empty()) return;
    // One row per INSERT, then 100 rows per INSERT (durable acks against durable acks).
    for (std::size_t batch : {std::size_t{1}, std::size_t{100}}) {
        if (!opt.sql_queue) break;
        auto b = run_sql_queue(opt, ctx.dsn, ctx.baseline_schema, batch);
        if (!b.error.empty()) rep.errors.push_back(b.name + ": " + b.error);
        double rate = per_s(b.events, b.e2e_s);
        if (b.error.empty()) {
            table_ref t{ctx.dsn, ctx.baseline_schema, b.table, true};
            (void)fetch_processed(t, b.records);
            rep.rates.push_back(
                {b.name + " ingest (INSERTs)", per_s(b.events, b.ingest_s), b.ingest_s, ""});
            rep.rates.push_back({b.name + " end-to-end", rate, b.e2e_s, ""});
            json_object bj;
            bj.num("ingest_per_s", per_s(b.events, b.ingest_s)).num("end_to_end_per_s", rate);
            add_latencies(rep, bj, b.name + " ", b.records, false);
            j.raw(batch > 1 ? "sql_queue_batched" : "sql_queue", bj.done());
            if (pubsub_e2e > 0 && rate > 0)
                rep.ratios.push_back({"end to end / " + b.name, pubsub_e2e / rate});
        }
    }
    for (std::size_t streams : {std::size_t{1}, std::size_t{2}}) {
        if (!opt.copy_limit) break;
        auto b = run_copy_limit(opt, ctx.dsn, ctx.baseline_schema, streams);
        if (!b.error.empty()) rep.errors.push_back(b.name + ": " + b.error);
        double rate = per_s(b.events, b.e2e_s);
        if (b.error.empty()) {
            rep.rates.push_back({b.name + (streams > 1 ? "" : " (one COPY)"), rate, b.e2e_s, ""});
            j.raw(streams > 1 ? "copy_limit_2" : "copy_limit",
                  json_object().num("per_s", rate).num("seconds", b.e2e_s).done());
            if (pubsub_e2e > 0 && rate > 0)
                rep.ratios.push_back({"end to end / " + b.name, pubsub_e2e / rate});
        }
    }
    json_object r;
    for (const auto& [k, v] : rep.ratios) {
        std::string key;  // "end to end / sql-queue" -> "end_to_end_vs_sql_queue"
        for (std::size_t i = 0; i < k.size(); ++i) {
            if (k.compare(i, 3, " / ") == 0) {
                key += "_vs_";
                i += 2;
            } else {
                key += (k[i] == ' ' || k[i] == '-') ? '_' : k[i];
            }
        }
        r.num(key, v);
    }
    j.raw("ratios", r.done());
}

void cleanup(const bench_options& opt, run_context& ctx, bench_report& rep) {
    if (ctx.own_daemon && ctx.daemon.pid() > 0) {
        int rc = ctx.daemon.stop(opt.timeout_s);
        if (rc != 0) {
            rep.errors.push_back("pubsubd exited with " + std::to_string(rc) + " (log " +
                                 ctx.daemon.log_file() + ")");
        }
    }
    if (!ctx.dsn.empty() && !opt.keep_schema) {
        if (ctx.drop_daemon_schema) (void)drop_schema(ctx.dsn, ctx.schema);
        if (ctx.baseline_schema != ctx.schema) (void)drop_schema(ctx.dsn, ctx.baseline_schema);
    }
    if (ctx.cluster && ctx.cluster->started_here && !opt.keep_cluster) {
        if (auto s = stop_cluster(*ctx.cluster, 60); !s.ok()) rep.errors.push_back(s.message());
    }
}

int finish(const bench_options& opt, const bench_report& rep, json_object& j);

int run(const bench_options& opt) {
    run_context ctx;
    bench_report rep;
    json_object j;
    const std::string pid = std::to_string(::getpid());
    ctx.own_daemon = opt.socket_path.empty();
    ctx.dsn = opt.dsn;
    ctx.socket_path = ctx.own_daemon ? opt.data_dir + "/bench-" + pid + ".sock" : opt.socket_path;
    ctx.schema = !opt.schema.empty() ? opt.schema : ctx.own_daemon ? "bench_" + pid : "dba";
    ctx.baseline_schema = ctx.own_daemon ? ctx.schema : "bench_" + pid;
    rep.config_text = config_text(opt);
    j.str("tool", "pubsub-bench").str("config", rep.config_text);
    j.num("events", static_cast<double>(opt.events)).num("producers", opt.producers);
    j.str("ack", opt.ack).num("rate", opt.rate).str("handler", opt.handler);

    status started = ctx.own_daemon ? start_own_daemon(opt, ctx) : status();
    if (started.ok()) {
        machine_info m = read_machine(ctx.dsn.empty() ? "?" : server_version(ctx.dsn));
        rep.machine_text = std::to_string(m.nproc) + " cpus, " + m.cpu + ", PostgreSQL " +
                           m.pg_version + ", load " + std::to_string(m.load1).substr(0, 5) +
                           " (wall clock us; send->handler start = processed_at - send time)";
        j.raw("machine", json_object()
                             .num("nproc", m.nproc)
                             .str("cpu", m.cpu)
                             .str("postgresql", m.pg_version)
                             .num("load1", m.load1)
                             .done());
        if (opt.soak_s > 0) {
            run_soak_phase(opt, ctx, rep, j);
            if (int rc = ctx.daemon.stop(opt.timeout_s); rc != 0)
                rep.errors.push_back("pubsubd exited with " + std::to_string(rc) + " (log " +
                                     ctx.daemon.log_file() + ")");
            cleanup(opt, ctx, rep);
            return finish(opt, rep, j);
        }
        double e2e = run_pubsub(opt, ctx, rep, j);
        if (ctx.own_daemon && ctx.daemon.pid() > 0) {
            int rc = ctx.daemon.stop(opt.timeout_s);
            if (rc != 0) rep.errors.push_back("pubsubd exited with " + std::to_string(rc));
            add_write_behind_totals(ctx.daemon.log_file(), rep, j);
        }
        if (opt.handler == "noop") run_baselines(opt, ctx, e2e, rep, j);
    } else {
        rep.errors.push_back(started.message());
    }
    cleanup(opt, ctx, rep);
    return finish(opt, rep, j);
}

// Prints the report (table or JSON); the exit code says whether anything went wrong.
int finish(const bench_options& opt, const bench_report& rep, json_object& j) {
    json_object errs;
    for (std::size_t i = 0; i < rep.errors.size(); ++i) errs.str(std::to_string(i), rep.errors[i]);
    j.raw("errors", errs.done());
    if (opt.json) {
        std::cout << j.done() << "\n";
    } else {
        std::cout << format_table(rep);
    }
    return rep.errors.empty() ? 0 : 1;
}

}  // namespace
}  // namespace pubsub::bench

int main(int argc, char** argv) {
    using namespace pubsub::bench;
    signal(SIGPIPE, SIG_IGN);
    bench_options o;
    o.data_dir = bin_dir() + "/../bench-data";
    std::string mix = "5:1";
    std::string baselines = "all";
    CLI::App app{"pubsub-bench: end-to-end benchmark of pubsubd with same-run baselines"};
    app.set_version_flag("--version", pubsub::version_line("pubsub-bench"),
                         "Print the version and git revision");
    app.add_option("-n,--events", o.events, "Events to send")->capture_default_str();
    app.add_option("-p,--producers", o.producers, "Producer connections")
        ->capture_default_str()
        ->check(CLI::Range(1, 256));
    app.add_option("--rate", o.rate, "Offered events/s in total (0: as fast as possible)")
        ->capture_default_str();
    add_producer_options(app, o);  // --key-prefix, --spread-ms
    app.add_option("--ack", o.ack, "queued or durable")
        ->check(CLI::IsMember({"queued", "durable"}))
        ->capture_default_str();
    app.add_option("--priority-mix", mix, "PRIORITY:WEIGHT,... e.g. 10:1,5:8,1:1")
        ->capture_default_str();
    app.add_option("--payload-bytes", o.payload_bytes, "Size of event_data")->capture_default_str();
    app.add_option("--window", o.window, "Unanswered lines per producer")
        ->capture_default_str()
        ->check(CLI::Range(1, 1 << 20));
    app.add_option("--noop-threads", o.noop_threads, "pubsubd --concurrency noop=N")
        ->capture_default_str();
    app.add_option("--handler", o.handler,
                   "noop; sleep (RSS per queued event); python-process,python-persistent")
        ->capture_default_str();
    app.add_option("--sleep-ms", o.sleep_ms, "--handler sleep: a `custom` script sleeping this")
        ->capture_default_str();
    app.add_option("--timeout", o.timeout_s, "Bound in seconds on every wait")
        ->capture_default_str();
    app.add_option("--soak", o.soak_s,
                   "Soak for SECONDS: steady --rate load (2,000/s when 0) plus hostile clients "
                   "(never-reading, churn, bad lines); reports daemon RSS and open fds over time")
        ->check(CLI::Range(1, 7 * 86400));
    app.add_option("--socket", o.socket_path, "Drive this running pubsubd instead of starting one");
    app.add_option("--dsn", o.dsn, "Its database (or: start pubsubd on this database)");
    app.add_option("--schema", o.schema, "Schema of its tables (default bench_<pid> / dba)");
    app.add_option("--data-dir", o.data_dir, "Folder of the cluster, socket and logs")
        ->capture_default_str();
    app.add_option("--daemon-arg", o.daemon_args,
                   "Extra pubsubd flag, repeatable: --daemon-arg=--linger-us=500");
    app.add_option("--daemon-prefix", o.daemon_prefix,
                   "Run pubsubd under this (absolute path), e.g. \"/usr/bin/valgrind "
                   "--tool=callgrind\"");
    app.add_flag("--keep-cluster", o.keep_cluster, "Leave a cluster started here running");
    app.add_flag("--keep-schema", o.keep_schema, "Do not drop the bench schema");
    app.add_option("--baselines", baselines, "all, none, sql-queue or copy-limit")
        ->check(CLI::IsMember({"all", "none", "sql-queue", "copy-limit"}))
        ->capture_default_str();
    app.add_option("--sql-workers", o.sql_workers, "sql-queue worker connections")
        ->capture_default_str();
    app.add_option("--sql-batch", o.sql_claim_batch, "sql-queue rows per claim")
        ->capture_default_str();
    app.add_flag("--json", o.json, "Print one JSON object instead of the table");
    auto hm = add_handler_mode_options(app);  // and --handler's check
    multi_node_options mn;
    app.add_option("--nodes", mn.max_nodes,
                   "Several-routers mode: events/s for 1..N pubsubd on one schema, then failover")
        ->check(CLI::Range(1, 8));
    app.add_option("--failover-runs", mn.failover_runs, "--nodes: kill -9 repetitions");
    app.add_option("--failover-nodes", mn.failover_nodes, "--nodes: nodes per failover run")
        ->check(CLI::Range(2, 8));
    try {
        app.parse(argc, argv);
        o.priorities = parse_mix(mix);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const std::exception& e) {
        std::cerr << "pubsub-bench: bad --priority-mix: " << e.what() << "\n";
        return 2;
    }
    if (o.soak_s > 0 && !o.socket_path.empty()) {
        std::cerr << "pubsub-bench: --soak starts its own pubsubd (it samples the process); "
                     "drop --socket\n";
        return 2;
    }
    if (app.count("--nodes") > 0) return run_multi_node(o, mn);
    if (is_handler_modes(o.handler)) return run_handler_modes(o, *hm);
    o.sql_queue = baselines == "all" || baselines == "sql-queue";
    o.copy_limit = baselines == "all" || baselines == "copy-limit";
    return run(o);
}
