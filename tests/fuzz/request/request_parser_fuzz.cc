// libFuzzer target: request_parser::parse (the socket and pg_notify doors' JSON) on arbitrary
// bytes. Properties:
//   - a refused line says why;
//   - whatever simdjson accepts is accepted, unless the refusal is one PostgreSQL would make
//     ("... is not allowed (PostgreSQL cannot store it)");
//   - an accepted line holds nothing PostgreSQL cannot store: no U+0000 in the type, source or
//     any string or key of data_json (read back by simdjson when it can);
//   - data_json, which the parser cuts out of the line as sent (ingest/request.cc), denotes the
//     same value as simdjson's reading of the last event_data with each object's repeated keys
//     resolved to their last occurrence, as jsonb does; and it repeats no key itself.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "ingest/json_scan.h"
#include "ingest/request.h"

namespace {

// A canonical text of v: objects keep each key's last value, sorted; `repeats` is set when an
// object repeats a key, `nul` when a string or key holds U+0000.
std::string canonical(simdjson::dom::element v, bool& repeats, bool& nul) {
    using et = simdjson::dom::element_type;
    if (v.type() == et::OBJECT) {
        std::map<std::string, std::string> members;
        const simdjson::dom::object obj = v.get_object().value_unsafe();
        for (auto field : obj) {
            const std::string key(field.key);
            if (key.find('\0') != std::string::npos) nul = true;
            if (members.count(key)) repeats = true;
            members[key] = canonical(field.value, repeats, nul);
        }
        std::string out = "{";
        for (const auto& [k, val] : members) out += k + "\x01" + val + "\x02";
        return out + "}";
    }
    if (v.type() == et::ARRAY) {
        std::string out = "[";
        const simdjson::dom::array arr = v.get_array().value_unsafe();
        for (auto el : arr) out += canonical(el, repeats, nul) + ",";
        return out + "]";
    }
    if (v.type() == et::STRING && v.get_string().value_unsafe().find('\0') != std::string::npos) {
        nul = true;
    }
    return simdjson::minify(v);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // Its own allocation of exactly its size, so ASan sees any read past the end.
    std::string line(reinterpret_cast<const char*>(data), size);
    line.shrink_to_fit();
    static pubsub::request_parser parser;
    pubsub::result<pubsub::parsed_request> r = parser.parse(line);
    static simdjson::dom::parser whole, part;
    simdjson::dom::element doc, got;
    const bool simdjson_ok = whole.parse(line).get(doc) == simdjson::SUCCESS;
    if (!r.ok()) {
        if (r.message().empty()) __builtin_trap();  // every refusal says why
        // A line simdjson reads as a request is refused only for what PostgreSQL refuses, or
        // for what the request format itself refuses (not for its JSON).
        if (simdjson_ok && r.message().rfind("malformed JSON", 0) == 0) __builtin_trap();
        return 0;
    }
    const pubsub::parsed_request& req = *r;
    if (req.draft.type.find('\0') != std::string::npos) __builtin_trap();
    if (req.draft.source.find('\0') != std::string::npos) __builtin_trap();
    const std::string& text = req.draft.data_json;
    if (text.capacity() < text.size() + simdjson::SIMDJSON_PADDING) __builtin_trap();
    static pubsub::json_scan rescan;
    if (!rescan.scan(text).ok() || rescan.root().front() != '{') __builtin_trap();
    for (const pubsub::json_member& m : rescan.members()) {
        if (m.repeats_keys) __builtin_trap();
    }
    if (!simdjson_ok) return 0;  // numbers beyond 64 bits: simdjson cannot compare
    std::string want = "{}";
    bool repeats = false, nul = false;
    const simdjson::dom::object obj = doc.get_object().value_unsafe();
    for (auto field : obj) {  // the last event_data counts
        if (field.key == "event_data") want = canonical(field.value, repeats, nul);
    }
    bool got_repeats = false, got_nul = false;
    if (part.parse(text).get(got) != simdjson::SUCCESS || !got.is_object()) __builtin_trap();
    if (canonical(got, got_repeats, got_nul) != want) __builtin_trap();
    if (got_repeats || got_nul || nul) __builtin_trap();
    return 0;
}
