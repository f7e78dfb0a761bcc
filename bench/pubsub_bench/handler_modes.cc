#include "bench/pubsub_bench/handler_modes.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <unordered_map>

#include "bench/pubsub_bench/daemon_control.h"
#include "bench/pubsub_bench/report.h"
#include "bench/pubsub_bench/run_end.h"
#include "bench/pubsub_bench/socket_load.h"
#include "bench/pubsub_bench/table_watch.h"
#include "storage/pg.h"

namespace pubsub::bench {

namespace {

const char* process_script =
    "#!/usr/bin/env python3\n"
    "import json, sys\n"
    "def handle(event):\n"
    "    return event[\"event_id\"]\n"
    "handle(json.load(sys.stdin))\n";

std::string persistent_script(int concurrency) {
    return std::string(
               "#!/usr/bin/env python3\n"
               "import sys\n"
               "sys.path.insert(0, '" PUBSUB_PYTHON_CLIENT_DIR
               "')\n"
               "import pubsub_client\n"
               "def handle(event):\n"
               "    return event[\"event_id\"]\n"
               "pubsub_client.serve(lambda event, delivery: handle(event), concurrency=") +
           std::to_string(concurrency) + ")\n";
}

std::vector<std::string> split_modes(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream ss(text);
    for (std::string m; std::getline(ss, m, ',');) out.push_back(m);
    return out;
}

std::string fixed(double v, int decimals) {
    char b[64];
    std::snprintf(b, sizeof b, "%.*f", decimals, v);
    return b;
}

// Per completed event: completed_at - send time, and its split at processed_at (the handler's
// start: the pool took the delivery): send->start and start->done, in microseconds.
struct done_times {
    std::vector<std::int64_t> done, start, run;
};

result<done_times> send_to_done(const std::string& dsn, const std::string& schema,
                                const std::vector<event_record>& recs) {
    auto conn = pg::connection::open(dsn);
    if (!conn.ok()) return conn.error();
    std::unordered_map<std::int64_t, std::int64_t> sent;
    std::string ids = "{";
    for (const auto& r : recs) {
        if (r.event_id == 0) continue;
        ids += (sent.empty() ? "" : ",") + std::to_string(r.event_id);
        sent[r.event_id] = r.send_us;
    }
    ids += "}";
    auto q = conn->query(
        "SELECT event_id, (extract(epoch FROM completed_at) * 1000000)::int8, "
        "(extract(epoch FROM processed_at) * 1000000)::int8 FROM " +
            conn->quote_identifier(schema) +
            ".tpubsub_events WHERE status = 'completed' AND event_id = ANY($1::bigint[])",
        {ids});
    if (!q.ok()) return q.error();
    done_times out;
    for (int row = 0; row < q->rows(); ++row) {
        const std::int64_t send = sent[q->get_int(row, 0)], done = q->get_int(row, 1),
                           start = q->get_int(row, 2);
        out.done.push_back(done - send);
        out.start.push_back(start - send);
        out.run.push_back(done - start);
    }
    return out;
}

struct phase_result {
    double per_s = 0, seconds = 0;
    latency_stats done, start, run;  // send->done, send->start, start->done
    std::string error;
};

// One load (unpaced when rate is 0), waited for until every event completed.
phase_result run_phase(bench_options o, const std::string& dsn, const std::string& schema,
                       const std::string& socket, std::size_t events, double rate) {
    phase_result p;
    o.events = events;
    o.rate = rate;
    auto load = run_socket_load(o, socket);
    std::vector<std::int64_t> ids;
    for (const auto& r : load.records) {
        if (r.event_id) ids.push_back(r.event_id);
    }
    if (!load.first_error.empty() || ids.size() != events) {
        p.error = "socket load: " + std::to_string(ids.size()) + " of " + std::to_string(events) +
                  " accepted " + load.first_error;
        return p;
    }
    auto c = wait_all_completed(table_ref{dsn, schema, "tpubsub_events", true}, ids, o.timeout_s);
    if (!c.done) {
        p.error = "end to end: " + c.error;
        return p;
    }
    p.seconds = (c.end_us - load.first_send_us) / 1e6;
    p.per_s = p.seconds > 0 ? ids.size() / p.seconds : 0;
    auto lat = send_to_done(dsn, schema, load.records);
    if (!lat.ok()) {
        p.error = lat.message();
        return p;
    }
    p.done = summarize(lat->done);
    p.start = summarize(lat->start);
    p.run = summarize(lat->run);
    return p;
}

struct mode_run {
    std::string mode;
    phase_result unpaced, paced;
    bool paced_run = false;
};

status prepare(const std::string& dsn, const std::string& schema, const std::string& script,
               bool persistent, const handler_mode_options& hm) {
    // A `custom` subscriber of the bench's event type, then its name and run mode.
    if (auto s = prepare_schema(dsn, schema, "sleep", script); !s.ok()) return s;
    auto conn = pg::connection::open(dsn);
    if (!conn.ok()) return conn.error();
    return conn->exec("UPDATE " + conn->quote_identifier(schema) +
                      ".tpubsub_subscribers SET subscriber_name = 'python', timeout_s = 30, "
                      "run_mode = '" +
                      std::string(persistent ? "persistent" : "process") +
                      "', workers = " + std::to_string(hm.workers));
}

void run_mode(const bench_options& opt, const handler_mode_options& hm, const std::string& dsn,
              mode_run& m, bench_report& rep) {
    const bool persistent = m.mode == "python-persistent";
    const std::string tag = persistent ? "persistent" : "process";
    const std::string pid = std::to_string(::getpid());
    const std::string dir = opt.data_dir + "/scripts-" + pid + "-" + tag;
    const std::string schema = "bench_" + pid + "_" + tag;
    const std::string socket = opt.data_dir + "/bench-" + pid + "-" + tag + ".sock";
    std::filesystem::create_directories(dir);
    const std::string script = dir + "/handler.py";
    std::ofstream(script) << (persistent ? persistent_script(hm.concurrency) : process_script);
    ::chmod(script.c_str(), 0755);
    if (auto s = prepare(dsn, schema, script, persistent, hm); !s.ok()) {
        rep.errors.push_back(m.mode + ": " + s.message());
        return;
    }
    std::vector<std::string> args{"--dsn",           dsn,
                                  "--schema",        schema,
                                  "--socket",        socket,
                                  "--log-level",     "info",
                                  "--drain-timeout", "5",
                                  "--scripts-dir",   dir,
                                  "--concurrency",   "custom=" + std::to_string(hm.concurrency)};
    args.insert(args.end(), opt.daemon_args.begin(), opt.daemon_args.end());
    daemon_process d;
    auto started = d.start({}, args, socket, opt.data_dir + "/pubsubd-" + pid + "-" + tag + ".log",
                           opt.timeout_s);
    if (!started.ok()) {
        rep.errors.push_back(m.mode + ": " + started.message());
    } else {
        // Warm-up: the workers said hello, the interpreter's files are in the page cache.
        auto warm = run_phase(opt, dsn, schema, socket, 20, 0);
        if (!warm.error.empty()) rep.errors.push_back(m.mode + " warm-up: " + warm.error);
        m.unpaced =
            run_phase(opt, dsn, schema, socket, persistent ? opt.events : hm.process_events, 0);
        if (!m.unpaced.error.empty()) rep.errors.push_back(m.mode + ": " + m.unpaced.error);
        // Paced only below what the mode sustains: a saturated run measures its queue.
        if (opt.rate > 0 && m.unpaced.per_s > opt.rate * 1.25) {
            m.paced_run = true;
            m.paced = run_phase(opt, dsn, schema, socket, opt.events, opt.rate);
            if (!m.paced.error.empty()) rep.errors.push_back(m.mode + " paced: " + m.paced.error);
        }
        if (int rc = d.stop(opt.timeout_s); rc != 0) {
            rep.errors.push_back(m.mode + ": pubsubd exited with " + std::to_string(rc));
        }
    }
    if (!opt.keep_schema) (void)drop_schema(dsn, schema);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);  // the scripts; the daemon's log stays
}

}  // namespace

std::unique_ptr<handler_mode_options> add_handler_mode_options(CLI::App& app) {
    auto hm = std::make_unique<handler_mode_options>();
    handler_mode_options& o = *hm;
    app.get_option("--handler")
        ->check(CLI::Validator(
            [](std::string& h) {
                return h == "noop" || h == "sleep" || is_handler_modes(h) ? std::string()
                                                                          : "unknown handler " + h;
            },
            "HANDLER"));
    app.add_option("--process-events", o.process_events,
                   "--handler python-process: events of its unpaced phase (-n is the "
                   "persistent mode's)")
        ->capture_default_str();
    app.add_option("--workers", o.workers, "--handler python-persistent: workers")
        ->capture_default_str()
        ->check(CLI::Range(1, 64));
    app.add_option("--handler-concurrency", o.concurrency,
                   "--handler python-*: pubsubd --concurrency custom=N and each worker's "
                   "serve(concurrency=N)")
        ->capture_default_str()
        ->check(CLI::Range(1, 256));
    return hm;
}

bool is_handler_modes(const std::string& handler) {
    auto modes = split_modes(handler);
    if (modes.empty()) return false;
    for (const auto& m : modes) {
        if (m != "python-process" && m != "python-persistent") return false;
    }
    return true;
}

int run_handler_modes(const bench_options& opt, const handler_mode_options& hm) {
    bench_report rep;
    json_object j;
    std::string dsn = opt.dsn;
    std::optional<cluster_handle> cluster;
    if (dsn.empty()) {
        std::filesystem::create_directories(opt.data_dir);
        auto c = ensure_cluster(opt.data_dir, opt.timeout_s);
        if (!c.ok()) {
            std::cerr << "pubsub-bench: " << c.message() << "\n";
            return 1;
        }
        cluster = *c;
        dsn = c->dsn;
    }
    rep.config_text = "handler=" + opt.handler + " events=" + std::to_string(opt.events) +
                      " process_events=" + std::to_string(hm.process_events) +
                      " rate=" + (opt.rate > 0 ? fixed(opt.rate, 0) + "/s" : "max") +
                      " workers=" + std::to_string(hm.workers) +
                      " concurrency=" + std::to_string(hm.concurrency) +
                      " producers=" + std::to_string(opt.producers);
    machine_info mi = read_machine(server_version(dsn));
    rep.machine_text = std::to_string(mi.nproc) + " cpus, " + mi.cpu + ", PostgreSQL " +
                       mi.pg_version + ", load " + fixed(mi.load1, 2) +
                       " (send->done = completed_at - send time)";
    j.str("tool", "pubsub-bench").str("config", rep.config_text).num("load1", mi.load1);
    std::vector<mode_run> runs;
    for (const auto& m : split_modes(opt.handler)) runs.push_back({m, {}, {}, false});
    json_object modes;
    for (auto& m : runs) {
        run_mode(opt, hm, dsn, m, rep);
        rep.rates.push_back({m.mode + " unpaced", m.unpaced.per_s, m.unpaced.seconds, ""});
        rep.latencies.push_back({m.mode + " unpaced send->done", m.unpaced.done});
        json_object mj;
        mj.num("per_s", m.unpaced.per_s).raw("send_to_done_us", latency_json(m.unpaced.done));
        if (m.paced_run) {
            rep.rates.push_back({m.mode + " at --rate", m.paced.per_s, m.paced.seconds, ""});
            rep.latencies.push_back({m.mode + " at --rate send->done", m.paced.done});
            rep.latencies.push_back({"  of which send->handler start", m.paced.start});
            rep.latencies.push_back({"  of which handler start->done", m.paced.run});
            mj.raw("paced", json_object()
                                .num("rate", opt.rate)
                                .num("per_s", m.paced.per_s)
                                .raw("send_to_done_us", latency_json(m.paced.done))
                                .raw("send_to_start_us", latency_json(m.paced.start))
                                .raw("start_to_done_us", latency_json(m.paced.run))
                                .done());
        }
        modes.raw(m.mode, mj.done());
    }
    j.raw("modes", modes.done());
    if (runs.size() == 2 && runs[0].unpaced.per_s > 0) {
        double r = runs[1].unpaced.per_s / runs[0].unpaced.per_s;
        rep.ratios.push_back({runs[1].mode + " / " + runs[0].mode + " events/s", r});
        j.num("throughput_ratio", r);
    }
    return end_run(opt, cluster, rep, j);
}

}  // namespace pubsub::bench
