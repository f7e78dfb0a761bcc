// worker_protocol: the lines of SPEC 7.3's NDJSON protocol between pubsubd and a persistent
// worker: the delivery line we write, and the lines a worker writes (its hello, then one answer
// per delivery, in any order). Pure functions over strings: no I/O, no state, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pubsub {

inline constexpr std::string_view worker_protocol_name = "ndjson-1";

// What a worker line says. kind::malformed covers everything that is not one of the other two:
// not JSON, not an object, a hello without a positive concurrency, an answer without a string
// id or a boolean ok; `error` says which.
struct worker_line {
    enum class kind { hello, answer, malformed };
    kind what = kind::malformed;
    int concurrency = 0;  // hello
    std::string id;       // answer
    bool ok = false;      // answer
    std::string error;    // answer with !ok: the worker's reason; malformed: what is wrong
};

// Parses one line (without its newline). Never throws.
worker_line parse_worker_line(std::string_view line);

// The fields of a delivery line besides the event.
struct delivery_header {
    std::string id;  // opaque to the worker
    std::int64_t event_id = 0;
    std::string subscriber;
    int attempt = 1;
    std::optional<std::int32_t> config_id;
};

// {"delivery":{...},"event":<event_json>} and a newline. event_json must be a JSON object.
std::string delivery_line(const delivery_header& h, std::string_view event_json);

}  // namespace pubsub
