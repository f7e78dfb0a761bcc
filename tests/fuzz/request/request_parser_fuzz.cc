// libFuzzer target: request_parser::parse (the socket door's NDJSON line) on arbitrary bytes.
// A refused line must say why. An accepted line's data_json, which the parser cuts out of the
// line as sent (ingest/request.cc), must be a JSON object denoting the same value as the
// parser's own reading of event_data: both are minified by simdjson and compared.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "ingest/request.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // Its own allocation of exactly its size, so ASan sees any read past the end.
    std::string line(reinterpret_cast<const char*>(data), size);
    line.shrink_to_fit();
    static pubsub::request_parser parser;
    pubsub::result<pubsub::parsed_request> r = parser.parse(line);
    if (!r.ok()) {
        if (r.message().empty()) __builtin_trap();  // every refusal says why
        return 0;
    }
    static simdjson::dom::parser whole, part;
    simdjson::dom::element doc, expected, got;
    if (whole.parse(line).get(doc) != simdjson::SUCCESS) __builtin_trap();  // it was accepted
    simdjson::dom::object obj = doc.get_object().value_unsafe();
    std::string want = "{}";
    for (auto field : obj) {  // the last event_data, as the parser keeps it
        if (field.key == "event_data") want = simdjson::minify(field.value);
    }
    const std::string& text = r->draft.data_json;
    if (part.parse(text).get(got) != simdjson::SUCCESS || !got.is_object()) __builtin_trap();
    if (simdjson::minify(got) != want) __builtin_trap();
    if (text.capacity() < text.size() + simdjson::SIMDJSON_PADDING) __builtin_trap();
    return 0;
}
