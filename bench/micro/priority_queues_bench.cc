// priority_queues: push then pop a burst of events at one priority (the most and least urgent
// ends, since pop() scans from 10 down), a mixed-priority burst, and the steady one-in
// one-out case the dispatch thread sees when it keeps up.
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "router/priority_queues.h"

namespace {

using pubsub::event;
using pubsub::event_ptr;

std::vector<event_ptr> make_events(std::size_t n, int (*prio)(std::size_t)) {
    std::vector<event_ptr> evs;
    evs.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        auto e = std::make_shared<event>();
        e->id = static_cast<pubsub::event_id>(i + 1);
        e->priority = prio(i);
        evs.push_back(std::move(e));
    }
    return evs;
}

// Pushes and pops `burst` events; items = events through the queues.
void run_burst(benchmark::State& state, const std::vector<event_ptr>& evs) {
    pubsub::priority_queues q;
    for (auto _ : state) {
        for (const auto& e : evs) q.push(e);
        std::size_t popped = 0;
        while (auto e = q.pop()) {
            benchmark::DoNotOptimize(e.get());
            ++popped;
        }
        if (popped != evs.size()) state.SkipWithError("lost events");
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(evs.size()));
}

void BM_burst_one_priority(benchmark::State& state) {
    static int p;
    p = static_cast<int>(state.range(0));
    auto evs = make_events(static_cast<std::size_t>(state.range(1)), [](std::size_t) { return p; });
    run_burst(state, evs);
}
BENCHMARK(BM_burst_one_priority)
    ->ArgNames({"priority", "burst"})
    ->Args({10, 1024})
    ->Args({5, 1024})
    ->Args({1, 1024})
    ->Args({1, 65536});

void BM_burst_mixed_priorities(benchmark::State& state) {
    auto evs = make_events(static_cast<std::size_t>(state.range(0)),
                           [](std::size_t i) { return static_cast<int>(i % 10) + 1; });
    run_burst(state, evs);
}
BENCHMARK(BM_burst_mixed_priorities)->ArgName("burst")->Arg(1024)->Arg(65536);

// One push, one pop: the queues hold at most one event (a dispatcher that keeps up).
void BM_push_pop_one(benchmark::State& state) {
    static int p;
    p = static_cast<int>(state.range(0));
    auto evs = make_events(1, [](std::size_t) { return p; });
    pubsub::priority_queues q;
    for (auto _ : state) {
        q.push(evs[0]);
        auto e = q.pop();
        benchmark::DoNotOptimize(e.get());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_push_pop_one)->ArgName("priority")->Arg(10)->Arg(1);

}  // namespace
