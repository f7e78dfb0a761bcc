// filter_bench: events matched per second, single thread, by the compiled matcher and by the
// reference interpreter looping over every subscriber, for 10 to 100,000 subscribers.
//
// Subscribers are seed-like: import_complete filters on event_data.config_name (equality,
// $in, with records_loaded bounds, $ne, $or) and file_received filters on path, name,
// directory, extension and size; the "globs" sets replace most of them with glob patterns.
// Events come from the same vocabulary, so each matches a handful of subscribers.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <algorithm>

#include "bench/filter/workload.h"
#include "filter/reference.h"

namespace pubsub {
namespace {

using bench::make_workload;
using bench::workload;

void compiled(benchmark::State& state, bool globs) {
    workload w = make_workload(static_cast<int>(state.range(0)));
    compiled_matcher m(w.entries(globs));
    std::vector<workload::ev> evs = w.events(4096);
    match_scratch scratch;
    std::vector<std::uint32_t> out;
    std::size_t k = 0, matches = 0;
    for (auto _ : state) {
        const workload::ev& e = evs[k++ & 4095];
        event_view view{e.type, e.source, e.data, true};
        out.clear();
        m.match(view, scratch, out);
        matches += out.size();
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations());
    state.counters["matches_per_event"] =
        benchmark::Counter(double(matches) / double(state.iterations()));
}

void reference(benchmark::State& state, bool globs) {
    workload w = make_workload(static_cast<int>(state.range(0)));
    std::vector<matcher_entry> entries = w.entries(globs);
    std::vector<workload::ev> evs = w.events(4096);
    std::size_t k = 0, matches = 0;
    for (auto _ : state) {
        const workload::ev& e = evs[k++ & 4095];
        filter_detail::reference_event ref(event_view{e.type, e.source, e.data, true});
        for (const matcher_entry& en : entries) {
            if (en.event_type == e.type && filter_detail::reference_match(*en.filter, ref)) {
                ++matches;
            }
        }
    }
    state.SetItemsProcessed(state.iterations());
    state.counters["matches_per_event"] =
        benchmark::Counter(double(matches) / double(state.iterations()));
}

// With --benchmark_repetitions, "min" is the least disturbed run: on a shared machine the
// other aggregates mostly measure the neighbours.
double min_of(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

void sizes(benchmark::internal::Benchmark* b) {
    b->Arg(10)->Arg(1000)->Arg(10000)->Arg(100000)->ComputeStatistics("min", min_of);
}

// Which simdjson kernel the DOM reader of extract.cc runs here (the on-demand reader is
// compiled for simdjson's builtin one, `fallback` without -march), printed in the context.
const bool simdjson_context = [] {
    benchmark::AddCustomContext("simdjson_active", simdjson::get_active_implementation()->name());
    benchmark::AddCustomContext("simdjson_builtin", simdjson::builtin_implementation()->name());
    return true;
}();

BENCHMARK_CAPTURE(compiled, no_globs, false)->Apply(sizes);
BENCHMARK_CAPTURE(compiled, globs, true)->Apply(sizes);
BENCHMARK_CAPTURE(reference, no_globs, false)->Apply(sizes);
BENCHMARK_CAPTURE(reference, globs, true)->Apply(sizes);

}  // namespace
}  // namespace pubsub

BENCHMARK_MAIN();
