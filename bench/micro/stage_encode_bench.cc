// Write-behind batch work on the writer thread: coalescing transitions into a row_batch
// (pending, processing, completed per event -> one row) and encoding a taken batch as COPY text
// (encode_stage_rows), for the default max batch of 16384 rows.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "router/delivery.h"
#include "storage/row_batch.h"

namespace {

using namespace pubsub;

std::vector<event_ptr> make_events(std::size_t n, std::size_t pad) {
    std::vector<event_ptr> evs;
    std::int64_t t0 = now_us();
    for (std::size_t i = 0; i < n; ++i) {
        auto e = std::make_shared<event>();
        e->id = static_cast<event_id>(i + 1);
        e->created_us = t0 + static_cast<std::int64_t>(i);
        e->type = "noop";
        e->source = "bench:0";
        e->data_json =
            "{\"i\":" + std::to_string(i) + ",\"pad\":\"" + std::string(pad, 'x') + "\"}";
        evs.push_back(std::move(e));
    }
    return evs;
}

transition make(const event_ptr& ev, event_status st, std::uint32_t seq, std::int64_t at) {
    transition t;
    t.ev = ev;
    t.status = st;
    t.seq = seq;
    t.at_us = at;
    return t;
}

// Adds all three transitions of every event and takes the batch: the coalescing cost per event.
void BM_row_batch_coalesce(benchmark::State& state) {
    auto evs = make_events(static_cast<std::size_t>(state.range(0)), 40);
    for (auto _ : state) {
        row_batch b;
        durable_callback ready;
        std::int64_t now = now_us();
        for (const auto& e : evs)
            b.add(make(e, event_status::pending, seq_pending, now), now, ready);
        for (const auto& e : evs) {
            b.add(make(e, event_status::processing, seq_processing, now), now, ready);
        }
        for (const auto& e : evs)
            b.add(make(e, event_status::completed, seq_final, now), now, ready);
        auto rows = b.take(evs.size());
        benchmark::DoNotOptimize(rows.data());
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_row_batch_coalesce)->ArgName("rows")->Arg(16384);

// Encodes a batch of new rows that went pending -> completed inside it (the common case).
void BM_encode_stage_rows(benchmark::State& state) {
    auto evs = make_events(static_cast<std::size_t>(state.range(0)),
                           static_cast<std::size_t>(state.range(1)));
    row_batch b;
    durable_callback ready;
    std::int64_t now = now_us();
    for (const auto& e : evs) {
        b.add(make(e, event_status::pending, seq_pending, now), now, ready);
        b.add(make(e, event_status::processing, seq_processing, now + 10), now, ready);
        b.add(make(e, event_status::completed, seq_final, now + 20), now, ready);
    }
    auto rows = b.take(evs.size());
    std::string out;
    for (auto _ : state) {
        out.clear();
        encode_stage_rows(rows, out);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(out.size()));
}
BENCHMARK(BM_encode_stage_rows)->ArgNames({"rows", "pad"})->Args({16384, 40})->Args({16384, 400});

}  // namespace
