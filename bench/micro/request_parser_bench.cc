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

void parse_each_iteration(benchmark::State& state, const std::string& line) {
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

void BM_parse_request(benchmark::State& state) {
    const std::string line = line_with_payload(static_cast<std::size_t>(state.range(0)));
    parse_each_iteration(state, line);
}
BENCHMARK(BM_parse_request)->ArgName("pad_bytes")->Arg(16)->Arg(256)->Arg(4096);

// A richer event_data: nested objects and arrays, a dozen keys (each object is checked for
// repeated keys).
void BM_parse_request_nested(benchmark::State& state) {
    const std::string line =
        "{\"event_type\":\"email_received\",\"event_source\":\"inbox:7\",\"event_data\":{"
        "\"mailbox\":\"sales\",\"message_id\":\"<a1b2c3@example.com>\",\"size\":48213,"
        "\"from\":{\"name\":\"Ann Example\",\"address\":\"ann@example.com\"},"
        "\"to\":[{\"name\":\"Sales\",\"address\":\"sales@example.org\"}],"
        "\"subject\":\"Order 1234\",\"attachments\":[{\"name\":\"order.pdf\",\"size\":20480},"
        "{\"name\":\"terms.pdf\",\"size\":10240}],\"flags\":[\"seen\",\"important\"],"
        "\"received_at\":\"2026-12-04T10:00:00Z\",\"spam_score\":0.12}}";
    parse_each_iteration(state, line);
}
BENCHMARK(BM_parse_request_nested);

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
