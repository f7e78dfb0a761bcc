#include "ingest/request.h"

#include <simdjson.h>

#include <charconv>

#include "ingest/json_scan.h"
#include "ingest/json_type_name.h"
#include "ingest/producer_fields.h"

namespace pubsub {

struct request_parser::impl {
    json_scan scan;
};

request_parser::request_parser() : impl_(std::make_unique<impl>()) {}
request_parser::~request_parser() = default;

namespace {

// The type of a validated value, from its first byte, in the terms json_type_name speaks.
simdjson::dom::element_type type_of(std::string_view v) {
    using simdjson::dom::element_type;
    switch (v.front()) {
        case '{':
            return element_type::OBJECT;
        case '[':
            return element_type::ARRAY;
        case '"':
            return element_type::STRING;
        case 't':
        case 'f':
            return element_type::BOOL;
        case 'n':
            return element_type::NULL_VALUE;
        default:
            return element_type::DOUBLE;
    }
}

// A validated string token's text: a view of the line unless it has escapes.
std::string_view string_text(std::string_view token, std::string& scratch) {
    const std::string_view inner = token.substr(1, token.size() - 2);
    if (inner.find('\\') == std::string_view::npos) return inner;
    scratch = json_unescape(inner);
    return scratch;
}

status priority_error(const std::string& got) {
    return status::error("priority must be an integer from 1 to 10 (got " + got + ")");
}

status read_priority(std::string_view v, int& out) {
    if (type_of(v) != simdjson::dom::element_type::DOUBLE) {
        return priority_error(json_type_name(type_of(v)));
    }
    std::int64_t p = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), p);
    if (ec != std::errc() || end != v.data() + v.size()) {
        return priority_error(std::string(v.substr(0, 40)));
    }
    if (p < min_priority || p > max_priority) return priority_error(std::to_string(p));
    out = static_cast<int>(p);
    return status();
}

}  // namespace

result<parsed_request> request_parser::parse(std::string_view line) {
    json_scan& scan = impl_->scan;
    if (status s = scan.scan(line); !s.ok()) return s;
    if (scan.root().front() != '{') {
        return status::error("request must be a JSON object, got " +
                             json_type_name(type_of(scan.root())));
    }
    parsed_request req;
    bool have_type = false;
    bool have_run_at = false, have_delay = false;
    const json_member* data = nullptr;
    std::string key_scratch, scratch;
    for (const json_member& m : scan.members()) {
        const std::string_view key = m.key_escaped ? (key_scratch = json_unescape(m.key)) : m.key;
        const std::string_view v = m.value;
        const bool is_string = v.front() == '"';
        if (key == "event_type") {
            if (!is_string || v.size() == 2) {
                return status::error("event_type must be a non-empty string");
            }
            req.draft.type = string_text(v, scratch);
            have_type = true;
        } else if (key == "event_source") {
            if (!is_string) {
                return status::error("event_source must be a string, got " +
                                     json_type_name(type_of(v)));
            }
            req.draft.source = string_text(v, scratch);
        } else if (key == "event_data") {
            if (v.front() != '{') {
                return status::error("event_data must be a JSON object, got " +
                                     json_type_name(type_of(v)));
            }
            data = &m;
        } else if (key == "priority") {
            if (status s = read_priority(v, req.draft.priority); !s.ok()) return s;
        } else if (key == "ack") {
            const std::string_view a = is_string ? string_text(v, scratch) : std::string_view();
            if (is_string && a == "durable") {
                req.ack = ack_mode::durable;
            } else if (is_string && a == "queued") {
                req.ack = ack_mode::queued;
            } else {
                return status::error("ack must be \"durable\" or \"queued\"");
            }
        } else if (key == "idempotency_key") {
            if (!is_string) {
                return status::error("idempotency_key must be a string, got " +
                                     json_type_name(type_of(v)));
            }
            req.draft.idempotency_key = string_text(v, scratch);
            if (status s = check_idempotency_key(req.draft.idempotency_key); !s.ok()) return s;
        } else if (key == "run_at") {
            if (!is_string) {
                return status::error("run_at must be a string, got " + json_type_name(type_of(v)));
            }
            auto at = parse_rfc3339(string_text(v, scratch));
            if (!at.ok()) return at.error();
            if (status s = check_run_at(*at, now_us()); !s.ok()) return s;
            req.draft.run_at_us = *at;
            have_run_at = true;
        } else if (key == "delay_ms") {
            auto ms = type_of(v) == simdjson::dom::element_type::DOUBLE
                          ? parse_delay_ms(v)
                          : result<std::int64_t>(status::error("delay_ms must be an integer, got " +
                                                               json_type_name(type_of(v))));
            if (!ms.ok()) return ms.error();
            req.draft.run_at_us = now_us() + *ms * 1000;
            have_delay = true;
        } else {
            return status::error("unknown field \"" + json_path_shown(std::string(key)) +
                                 "\" (expected event_type, event_source, event_data, priority, "
                                 "ack, idempotency_key, run_at, delay_ms)");
        }
    }
    if (!have_type) return status::error("missing field \"event_type\"");
    if (have_run_at && have_delay) return status::error("give run_at or delay_ms, not both");
    if (data) {
        // The object's own text, as sent: numbers keep every digit. Only an object that
        // repeats a key is rewritten, keeping the last occurrence as jsonb does, so routing
        // and handlers see what the table will hold.
        std::string rewritten;
        std::string_view text = data->value;
        if (data->repeats_keys) text = rewritten = json_drop_repeated(text, scan.repeated());
        // Padding so the matcher can parse it in place (see event::data_json).
        req.draft.data_json.reserve(text.size() + simdjson::SIMDJSON_PADDING);
        req.draft.data_json.assign(text);
    }
    if (req.draft.data_json.empty() || req.draft.data_json == "{}") {
        req.draft.data_json.reserve(2 + simdjson::SIMDJSON_PADDING);
        req.draft.data_json = "{}";
    }
    return req;
}

std::string ok_reply(event_id id) {
    return "{\"ok\":true,\"event_id\":" + std::to_string(id) + "}\n";
}

std::string duplicate_reply(event_id first) {
    return "{\"ok\":true,\"event_id\":" + std::to_string(first) + ",\"duplicate\":true}\n";
}

std::string error_reply(std::string_view e) {
    std::string out = "{\"ok\":false,\"error\":";
    append_json_string(out, e);
    out += "}\n";
    return out;
}

}  // namespace pubsub
