#include "bench/pubsub_bench/report.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

namespace pubsub::bench {

namespace {

double at(const std::vector<std::int64_t>& v, double q) {
    // Nearest rank: the smallest value with at least q of the samples at or below it.
    std::size_t rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
    return static_cast<double>(v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)]);
}

std::string fmt(const char* f, double v) {
    char b[64];
    std::snprintf(b, sizeof b, f, v);
    return b;
}

std::string thousands(double v) {
    const std::string digits = fmt("%.0f", v);
    std::string out;
    std::size_t first = digits[0] == '-' ? 1 : 0;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        std::size_t left = digits.size() - i;  // digits from here to the end
        if (i > first && left % 3 == 0) out.push_back(',');
        out.push_back(digits[i]);
    }
    return out;
}

std::string json_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char b[8];
            std::snprintf(b, sizeof b, "\\u%04x",
                          static_cast<unsigned>(static_cast<unsigned char>(c)));
            out += b;
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace

latency_stats summarize(std::vector<std::int64_t>& us) {
    latency_stats s;
    s.n = us.size();
    if (us.empty()) return s;
    std::sort(us.begin(), us.end());
    s.p50 = at(us, 0.50);
    s.p90 = at(us, 0.90);
    s.p99 = at(us, 0.99);
    s.p999 = at(us, 0.999);
    s.max = static_cast<double>(us.back());
    return s;
}

std::string format_table(const bench_report& r) {
    std::string out = "pubsub-bench: " + r.config_text + "\nmachine: " + r.machine_text + "\n\n";
    char line[512];
    std::snprintf(line, sizeof line, "%-30s%14s%10s\n", "throughput", "events/s", "seconds");
    out += line;
    for (const auto& l : r.rates) {
        std::snprintf(line, sizeof line, "%-30s%14s%10.3f  %s\n", l.name.c_str(),
                      thousands(l.per_s).c_str(), l.seconds, l.note.c_str());
        out += line;
    }
    if (!r.ratios.empty()) {
        out += "\nratios (same run, same PostgreSQL)\n";
        for (const auto& [k, v] : r.ratios) {
            std::snprintf(line, sizeof line, "  %-40s%8.2fx\n", k.c_str(), v);
            out += line;
        }
    }
    if (!r.latencies.empty()) {
        std::snprintf(line, sizeof line, "\n%-36s%9s%9s%9s%9s%9s%9s\n", "latency (us)", "n", "p50",
                      "p90", "p99", "p99.9", "max");
        out += line;
        for (const auto& l : r.latencies) {
            char p999[32] = "-";
            if (l.s.has_p999()) std::snprintf(p999, sizeof p999, "%.0f", l.s.p999);
            std::snprintf(line, sizeof line, "%-36s%9zu%9.0f%9.0f%9.0f%9s%9.0f\n", l.name.c_str(),
                          l.s.n, l.s.p50, l.s.p90, l.s.p99, p999, l.s.max);
            out += line;
        }
    }
    if (!r.facts.empty()) {
        out += "\n";
        for (const auto& [k, v] : r.facts) {
            std::snprintf(line, sizeof line, "  %-40s%s\n", k.c_str(), v.c_str());
            out += line;
        }
    }
    for (const auto& e : r.errors) out += "ERROR: " + e + "\n";
    return out;
}

void json_object::key(const std::string& k) {
    if (body_.size() > 1) body_ += ',';
    body_ += '"';
    body_ += json_escape(k);
    body_ += "\":";
}

json_object& json_object::num(const std::string& k, double v) {
    key(k);
    body_ += std::isfinite(v) ? fmt("%.10g", v) : "null";
    return *this;
}

json_object& json_object::str(const std::string& k, const std::string& v) {
    key(k);
    body_ += '"';
    body_ += json_escape(v);
    body_ += '"';
    return *this;
}

json_object& json_object::raw(const std::string& k, const std::string& json) {
    key(k);
    body_ += json;
    return *this;
}

std::string latency_json(const latency_stats& s) {
    json_object j;
    j.num("n", static_cast<double>(s.n)).num("p50", s.p50).num("p90", s.p90).num("p99", s.p99);
    if (s.has_p999()) j.num("p99_9", s.p999);
    return j.num("max", s.max).done();
}

void add_latencies(bench_report& rep, json_object& j, const std::string& prefix,
                   const std::vector<event_record>& recs, bool paced) {
    std::vector<std::int64_t> ack, handler, lag, intake, daemon;
    for (const auto& r : recs) {
        if (r.event_id == 0) continue;
        ack.push_back(r.ack_us - r.send_us);
        if (r.processed_us) handler.push_back(r.processed_us - r.send_us);
        if (paced) lag.push_back(r.send_us - r.intended_us);
        if (r.processed_us && r.created_us) {  // the daemon's own share, apart from the client's
            intake.push_back(r.created_us - r.send_us);
            daemon.push_back(r.processed_us - r.created_us);
        }
    }
    auto a = summarize(ack);
    auto h = summarize(handler);
    rep.latencies.push_back({prefix + "send->ack", a});
    if (h.n > 0) rep.latencies.push_back({prefix + "send->handler start", h});
    add_daemon_share(rep, j, prefix, intake, daemon);
    j.raw("send_to_ack_us", latency_json(a));
    j.raw("send_to_handler_start_us", latency_json(h));
    if (paced) {
        auto l = summarize(lag);
        rep.latencies.push_back({prefix + "client pacing lag", l});
        j.raw("pacing_lag_us", latency_json(l));
    }
}

void add_daemon_share(bench_report& rep, json_object& j, const std::string& prefix,
                      std::vector<std::int64_t>& intake, std::vector<std::int64_t>& daemon) {
    if (daemon.empty()) return;
    auto in = summarize(intake), own = summarize(daemon);
    rep.latencies.push_back({prefix + "  send->pubsubd intake", in});
    rep.latencies.push_back({prefix + "  intake->handler (pubsubd)", own});
    j.raw("send_to_intake_us", latency_json(in));
    j.raw("intake_to_handler_start_us", latency_json(own));
}

machine_info read_machine(const std::string& pg_version) {
    machine_info m;
    m.nproc = sysconf(_SC_NPROCESSORS_ONLN);
    m.pg_version = pg_version;
    std::ifstream cpu("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpu, line)) {
        if (line.rfind("model name", 0) == 0) {
            auto colon = line.find(':');
            if (colon != std::string::npos) m.cpu = line.substr(colon + 2);
            break;
        }
    }
    std::ifstream load("/proc/loadavg");
    load >> m.load1;
    return m;
}

}  // namespace pubsub::bench
