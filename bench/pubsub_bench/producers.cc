#include "bench/pubsub_bench/producers.h"

#include <cstdio>

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
}

void append_producer_fields(const bench_options& opt, std::size_t i, std::string& line) {
    if (!opt.key_prefix.empty()) {
        line += ",\"idempotency_key\":\"";
        line += opt.key_prefix;
        line += std::to_string(i);
        line += '"';
    }
    if (opt.spread_ms > 0 && opt.events > 0) {
        line += ",\"delay_ms\":";
        line += std::to_string(opt.spread_ms * static_cast<std::int64_t>(i) /
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

}  // namespace pubsub::bench
