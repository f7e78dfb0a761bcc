// request_parser: one NDJSON request line of the socket door, parsed and validated (what each
// socket thread does per line), for the bench tool's line shape and a larger event_data.
#include <benchmark/benchmark.h>

#include <string>

#include "ingest/request.h"

namespace {

std::string line_with_payload(std::size_t pad) {
    return "{\"event_type\":\"import_complete\",\"event_source\":\"generic_import:42\","
           "\"event_data\":{\"config_name\":\"sales_eu_daily\",\"records_loaded\":1200,"
           "\"pad\":\"" +
           std::string(pad, 'x') + "\"},\"priority\":5,\"ack\":\"queued\"}";
}

void BM_parse_request(benchmark::State& state) {
    const std::string line = line_with_payload(static_cast<std::size_t>(state.range(0)));
    pubsub::request_parser parser;
    for (auto _ : state) {
        auto r = parser.parse(line);
        if (!r.ok()) {
            state.SkipWithError(r.message().c_str());
            break;
        }
        benchmark::DoNotOptimize(r->draft.data_json.data());
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(line.size()));
}
BENCHMARK(BM_parse_request)->ArgName("pad_bytes")->Arg(16)->Arg(256)->Arg(4096);

void BM_parse_request_error(benchmark::State& state) {
    const std::string line = "{\"event_type\":\"x\",\"priority\":11}";
    pubsub::request_parser parser;
    for (auto _ : state) {
        auto r = parser.parse(line);
        benchmark::DoNotOptimize(r.ok());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_parse_request_error);

void BM_ok_reply(benchmark::State& state) {
    pubsub::event_id id = 1'000'000'000;
    for (auto _ : state) {
        auto s = pubsub::ok_reply(id++);
        benchmark::DoNotOptimize(s.data());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ok_reply);

}  // namespace
