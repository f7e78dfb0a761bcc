#include "bench/retention/cycles.h"

#include <chrono>
#include <cstdio>

#include "bench/retention/fill.h"
#include "storage/retention_pruner.h"

namespace pubsub::bench {

namespace {

double mib(std::int64_t bytes) { return double(bytes) / (1024.0 * 1024.0); }

// Events, their deliveries and their chunks, with indexes.
result<std::int64_t> all_tables(pg::connection& c, const std::string& schema) {
    std::int64_t sum = 0;
    for (const char* t : {"tpubsub_events", "tpubsub_deliveries", "tpubsub_event_chunks"}) {
        auto b = total_bytes(c, schema, t);
        if (!b.ok()) return b;
        sum += *b;
    }
    return sum;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int run_cycles(pg::connection& c, const std::string& schema, const cycles_options& o) {
    fill_mix mix;
    mix.end_age_s = 8 * 86400.0;  // past completed=7d and cancelled=7d, not failed=30d
    mix.span_s = 3600;
    retention_policy policy;  // completed=7d cancelled=7d, failed=30d or 7d
    if (!o.keep_failed) policy.failed = std::chrono::seconds(7 * 86400);
    std::printf("%5s %9s %9s %8s %8s %11s %11s %11s %11s %8s\n", "cycle", "inserted", "removed",
                "fill_s", "prune_s", "events_MiB", "chunks_MiB", "total_MiB", "after_MiB",
                "vs_1st");
    double first_peak = 0;
    for (int i = 1; i <= o.cycles; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        if (auto s = fill_events(c, schema, o.events, mix); !s.ok()) {
            std::fprintf(stderr, "fill: %s\n", s.message().c_str());
            return 1;
        }
        const double fill_s = seconds_since(t0);
        auto events_peak = total_bytes(c, schema, "tpubsub_events");
        auto chunks_peak = total_bytes(c, schema, "tpubsub_event_chunks");
        auto peak = all_tables(c, schema);
        if (!events_peak.ok() || !chunks_peak.ok() || !peak.ok()) return 1;
        t0 = std::chrono::steady_clock::now();
        auto r = run_prune_cycle(c, schema, policy, o.batch_rows, std::chrono::milliseconds(0),
                                 o.vacuum ? 10'000 : INT64_MAX, {});
        if (!r.ok()) {
            std::fprintf(stderr, "prune: %s\n", r.message().c_str());
            return 1;
        }
        const double prune_s = seconds_since(t0);
        auto after = all_tables(c, schema);
        if (!after.ok()) return 1;
        if (i == 1) first_peak = mib(*peak);
        std::printf("%5d %9lld %9lld %8.1f %8.1f %11.1f %11.1f %11.1f %11.1f %7.2fx\n", i,
                    static_cast<long long>(o.events), static_cast<long long>(r->removed), fill_s,
                    prune_s, mib(*events_peak), mib(*chunks_peak), mib(*peak), mib(*after),
                    mib(*peak) / first_peak);
        std::fflush(stdout);
    }
    return 0;
}

}  // namespace pubsub::bench
