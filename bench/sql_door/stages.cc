#include "bench/sql_door/stages.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace pubsub::sqldoor_bench {

namespace {

double pct(std::vector<double>& v, double p) {
    if (v.empty()) return 0;
    std::size_t i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

std::int64_t to_int(const std::string& s) {
    try {
        return std::stoll(s);
    } catch (...) {
        return 0;
    }
}

}  // namespace

void print_dist(const char* what, std::vector<double> ms) {
    std::sort(ms.begin(), ms.end());
    std::size_t neg = static_cast<std::size_t>(
        std::count_if(ms.begin(), ms.end(), [](double x) { return x < 0; }));
    // p99.9 of fewer than 100,000 samples is a handful of points: not reported.
    char p999[32] = "      -";
    if (ms.size() >= 100000) std::snprintf(p999, sizeof p999, "%7.3f", pct(ms, 99.9));
    std::printf(
        "  %-32s p50 %7.3f  p90 %7.3f  p99 %7.3f  p99.9 %s  max %8.3f ms  "
        "(n %zu, min %7.3f, %zu negative)\n",
        what, pct(ms, 50), pct(ms, 90), pct(ms, 99), p999, ms.empty() ? 0 : ms.back(), ms.size(),
        ms.empty() ? 0 : ms.front(), neg);
}

std::map<std::int64_t, claim_times> read_claims(const std::filesystem::path& daemon_log) {
    std::map<std::int64_t, claim_times> out;
    std::ifstream f(daemon_log);
    std::string line;
    while (std::getline(f, line)) {
        if (line.find("msg=\"sql door claim\"") == std::string::npos) continue;
        claim_times t;
        std::string ids;
        std::istringstream in(line);
        std::string tok;
        while (in >> tok) {
            auto eq = tok.find('=');
            if (eq == std::string::npos) continue;
            auto key = tok.substr(0, eq), val = tok.substr(eq + 1);
            if (key == "woke_us") t.woke_us = to_int(val);
            if (key == "claimed_us") t.claimed_us = to_int(val);
            if (key == "loaded_us") t.loaded_us = to_int(val);
            if (key == "routed_us") t.routed_us = to_int(val);
            if (key == "ids") ids = val;
        }
        std::istringstream idl(ids);
        std::string id;
        while (std::getline(idl, id, ',')) out[to_int(id)] = t;
    }
    return out;
}

void print_breakdown(const std::vector<std::vector<sample>>& per,
                     const std::map<std::int64_t, std::int64_t>& processed,
                     const std::map<std::int64_t, claim_times>& claims) {
    std::vector<double> send, commit, notify, after_commit, claim, load, start, routed, door;
    std::size_t timed = 0, missing = 0;
    auto ms = [](std::int64_t a, std::int64_t b) { return static_cast<double>(a - b) / 1000.0; };
    for (const auto& v : per) {
        for (const auto& s : v) {
            auto c = claims.find(s.id);
            auto p = processed.find(s.id);
            if (c == claims.end() || p == processed.end()) {
                ++missing;
                continue;
            }
            const auto& t = c->second;
            send.push_back(ms(s.precommit_us, s.send_us));
            commit.push_back(ms(s.commit_us, s.precommit_us));
            if (t.woke_us == 0) {
                ++timed;
            } else {
                notify.push_back(ms(t.woke_us, s.precommit_us));
                after_commit.push_back(ms(t.woke_us, s.commit_us));
                claim.push_back(ms(t.claimed_us, t.woke_us));
                door.push_back(ms(p->second, t.woke_us));
            }
            load.push_back(ms(t.loaded_us, t.claimed_us));
            routed.push_back(ms(t.routed_us, t.loaded_us));
            start.push_back(ms(p->second, t.loaded_us));
        }
    }
    if (claims.empty()) {
        std::printf("  (no claim times in pubsubd's log: no stage breakdown)\n");
        return;
    }
    std::printf("stages (%zu events without a logged claim, %zu claimed by a timed sweep):\n",
                missing, timed);
    print_dist("1 send -> in statement", send);
    print_dist("2 in statement -> COMMIT returned", commit);
    print_dist("3 in statement -> NOTIFY read", notify);
    print_dist("  (COMMIT returned -> NOTIFY read)", after_commit);
    print_dist("4 NOTIFY read -> claim reply", claim);
    print_dist("5 claim reply -> rows loaded", load);
    print_dist("6 rows loaded -> routed", routed);
    print_dist("7 rows loaded -> handler start", start);
    print_dist("pubsubd: NOTIFY read -> start", door);
}

}  // namespace pubsub::sqldoor_bench
