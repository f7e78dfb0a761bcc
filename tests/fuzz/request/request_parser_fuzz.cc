// libFuzzer target: request_parser::parse (the socket and pg_notify doors' JSON) on arbitrary
// bytes. Properties:
//   - a refused line says why;
//   - whatever simdjson accepts is accepted, unless the refusal is one PostgreSQL would make
//     ("... is not allowed (PostgreSQL cannot store it)");
//   - an accepted line holds nothing PostgreSQL cannot store: no U+0000 in the type, source or
//     any string or key of data_json (read back by simdjson when it can);
//   - data_json, which the parser cuts out of the line as sent (ingest/request.cc), denotes the
//     same value as simdjson's reading of the last event_data with each object's repeated keys
//     resolved to their last occurrence, as jsonb does; and it repeats no key itself;
//   - the producer fields (SPEC 7.2) of an accepted line: the idempotency key is the last one
//     sent, 0 to 256 bytes (0: none sent), without U+0000; run_at is the last one sent, at most
//     30 days ahead, and printed back in UTC it parses to the same instant; delay_ms puts run_at
//     that far after the moment of parsing; run_at and delay_ms never come together.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "ingest/json_scan.h"
#include "ingest/producer_fields.h"
#include "ingest/request.h"
#include "router/event.h"

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

// y-m-d of a day count from 1970-01-01 (H. Hinnant's algorithm, the inverse of the parser's).
void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
}

// An instant as RFC 3339 in UTC with microseconds; "" when its year has not 4 digits.
std::string utc_text(std::int64_t us) {
    // Floor divisions: an instant before 1970 has a negative quotient and a positive rest.
    const std::int64_t secs = us / 1'000'000 - (us % 1'000'000 < 0 ? 1 : 0);
    const std::int64_t frac = us - secs * 1'000'000;
    const std::int64_t days = secs / 86400 - (secs % 86400 < 0 ? 1 : 0);
    const std::int64_t in_day = secs - days * 86400;
    std::int64_t y;
    unsigned m, d;
    civil_from_days(days, y, m, d);
    if (y < 0 || y > 9999) return "";
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ",
                  static_cast<long long>(y), m, d, static_cast<long long>(in_day / 3600),
                  static_cast<long long>(in_day / 60 % 60), static_cast<long long>(in_day % 60),
                  static_cast<long long>(frac));
    return buf;
}

// The producer fields of an accepted request against simdjson's reading of the line (the last
// occurrence of each counts); [before, after] brackets the parse.
bool producer_fields_hold(simdjson::dom::object line, const pubsub::event_draft& got,
                          std::int64_t before, std::int64_t after) {
    std::string_view key, run_at;
    std::optional<std::int64_t> delay_ms;
    bool has_run_at = false, has_delay = false;
    for (auto field : line) {
        if (field.key == "idempotency_key") {
            key = field.value.get_string().value_unsafe();
        } else if (field.key == "run_at") {
            run_at = field.value.get_string().value_unsafe();
            has_run_at = true;
        } else if (field.key == "delay_ms") {
            has_delay = true;
            std::int64_t ms;
            delay_ms.reset();
            if (field.value.get_int64().get(ms) == simdjson::SUCCESS) delay_ms = ms;
        }
    }
    if (has_run_at && has_delay) return false;
    if (got.idempotency_key != key ||
        got.idempotency_key.size() > pubsub::max_idempotency_key_bytes)
        return false;
    if (got.idempotency_key.find('\0') != std::string::npos) return false;
    if (!has_run_at && !has_delay) return got.run_at_us == 0;
    if (got.run_at_us > after + pubsub::max_delay_us) return false;
    if (has_delay) {
        return !delay_ms || (got.run_at_us >= before + *delay_ms * 1000 &&
                             got.run_at_us <= after + *delay_ms * 1000);
    }
    auto again = pubsub::parse_rfc3339(run_at);
    if (!again.ok() || *again != got.run_at_us) return false;
    const std::string printed = utc_text(got.run_at_us);
    if (printed.empty()) return true;
    auto back = pubsub::parse_rfc3339(printed);
    return back.ok() && *back == got.run_at_us;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // Its own allocation of exactly its size, so ASan sees any read past the end.
    std::string line(reinterpret_cast<const char*>(data), size);
    line.shrink_to_fit();
    static pubsub::request_parser parser;
    const std::int64_t before = pubsub::now_us();
    pubsub::result<pubsub::parsed_request> r = parser.parse(line);
    const std::int64_t after = pubsub::now_us();
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
    const simdjson::dom::object obj = doc.get_object().value_unsafe();
    if (!producer_fields_hold(obj, req.draft, before, after)) __builtin_trap();
    std::string want = "{}";
    bool repeats = false, nul = false;
    for (auto field : obj) {  // the last event_data counts
        if (field.key == "event_data") want = canonical(field.value, repeats, nul);
    }
    bool got_repeats = false, got_nul = false;
    if (part.parse(text).get(got) != simdjson::SUCCESS || !got.is_object()) __builtin_trap();
    if (canonical(got, got_repeats, got_nul) != want) __builtin_trap();
    if (got_repeats || got_nul || nul) __builtin_trap();
    return 0;
}
