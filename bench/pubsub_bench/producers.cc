#include "bench/pubsub_bench/producers.h"

#include <chrono>
#include <cstdio>
#include <thread>

#include "storage/pg.h"

namespace pubsub::bench {

namespace {

std::string ms_text(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
}

}  // namespace

void add_producer_options(CLI::App& app, bench_options& o) {
    app.add_option("--key-prefix", o.key_prefix, "An idempotency key PREFIX<i> on every event");
    app.add_option("--spread-ms", o.spread_ms, "Delay events evenly over this many ms (run_at)");
    app.add_option("--delay-base-ms", o.delay_base_ms, "Add this many ms to every event's delay");
    app.add_flag("--held-only", o.held_only,
                 "Report pubsubd's RSS per event once all are stored and held, then stop "
                 "(use a delay beyond the run)");
}

void append_producer_fields(const bench_options& opt, std::size_t i, std::string& line) {
    if (!opt.key_prefix.empty()) {
        line += ",\"idempotency_key\":\"";
        line += opt.key_prefix;
        line += std::to_string(i);
        line += '"';
    }
    if ((opt.spread_ms > 0 || opt.delay_base_ms > 0) && opt.events > 0) {
        line += ",\"delay_ms\":";
        line += std::to_string(opt.delay_base_ms + opt.spread_ms * static_cast<std::int64_t>(i) /
                                                       static_cast<std::int64_t>(opt.events));
    }
}

void add_run_at_lateness(const table_ref& t, bench_report& rep, json_object& j) {
    auto c = pg::connection::open(t.dsn);
    if (!c.ok()) {
        rep.errors.push_back("run_at lateness: " + c.message());
        return;
    }
    auto r = c->query(
        "SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), "
        "percentile_cont(0.99) WITHIN GROUP (ORDER BY ms), max(ms) FROM (SELECT "
        "extract(epoch FROM processed_at - run_at) * 1000 AS ms FROM " +
        c->quote_identifier(t.schema) + "." + t.table +
        " WHERE run_at IS NOT NULL AND processed_at IS NOT NULL) l");
    if (!r.ok()) {
        rep.errors.push_back("run_at lateness: " + r.message());
        return;
    }
    auto num = [&](int col) { return std::atof(std::string(r->get(0, col)).c_str()); };
    rep.facts.push_back({"run_at lateness p50 / p99 / max",
                         ms_text(num(1)) + " / " + ms_text(num(2)) + " / " + ms_text(num(3)) +
                             " ms over " + std::string(r->get(0, 0)) + " delayed events"});
    j.num("run_at_late_p50_ms", num(1)).num("run_at_late_p99_ms", num(2));
    j.num("run_at_late_max_ms", num(3));
}

void add_held_memory(const bench_options& opt, const table_ref& t, pid_t daemon,
                     const proc_sample& idle, const std::vector<std::int64_t>& ids,
                     bench_report& rep, json_object& j) {
    if (auto seen = wait_rows_present(t, ids, opt.timeout_s); !seen.ok()) {
        rep.errors.push_back("held events: " + seen.message());
        return;
    }
    if (daemon <= 0) return;
    // Time for the last commits to reach the scheduler (it drops their bodies).
    std::this_thread::sleep_for(std::chrono::seconds(3));
    proc_sample held = sample_process(daemon);
    const double n = static_cast<double>(ids.size());
    const double per_event = (held.rss_kb - idle.rss_kb) * 1024.0 / n;
    rep.facts.push_back({"pubsubd RSS idle / held / peak",
                         std::to_string(idle.rss_kb) + " / " + std::to_string(held.rss_kb) + " / " +
                             std::to_string(held.hwm_kb) + " KiB"});
    rep.facts.push_back({"RSS growth per held scheduled event",
                         ms_text(per_event) + " bytes (held RSS - idle RSS) / " +
                             std::to_string(ids.size()) + " events"});
    rep.facts.push_back({"peak RSS growth per event",
                         ms_text((held.hwm_kb - idle.rss_kb) * 1024.0 / n) + " bytes"});
    j.num("held_rss_kb", held.rss_kb).num("held_rss_growth_bytes_per_event", per_event);
}

}  // namespace pubsub::bench
