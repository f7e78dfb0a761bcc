#include "ingest/request.h"

#include <simdjson.h>

namespace pubsub {

struct request_parser::impl {
    simdjson::dom::parser parser;
};

request_parser::request_parser() : impl_(std::make_unique<impl>()) {}
request_parser::~request_parser() = default;

namespace {

std::string type_name(simdjson::dom::element_type t) {
    using simdjson::dom::element_type;
    switch (t) {
        case element_type::ARRAY:
            return "an array";
        case element_type::OBJECT:
            return "an object";
        case element_type::INT64:
        case element_type::UINT64:
        case element_type::DOUBLE:
            return "a number";
        case element_type::STRING:
            return "a string";
        case element_type::BOOL:
            return "a boolean";
        case element_type::NULL_VALUE:
            return "null";
    }
    return "something else";
}

status read_priority(simdjson::dom::element v, int& out) {
    int64_t p = 0;
    if (v.get_int64().get(p) != simdjson::SUCCESS) {
        double d = 0;
        std::string got = type_name(v.type());
        if (v.get_double().get(d) == simdjson::SUCCESS) got = std::to_string(d);
        return status::error("priority must be an integer from 1 to 10 (got " + got + ")");
    }
    if (p < min_priority || p > max_priority) {
        return status::error("priority must be an integer from 1 to 10 (got " + std::to_string(p) +
                             ")");
    }
    out = static_cast<int>(p);
    return status();
}

}  // namespace

result<parsed_request> request_parser::parse(std::string_view line) {
    simdjson::dom::element doc;
    if (auto err = impl_->parser.parse(line.data(), line.size(), true).get(doc); err) {
        return status::error(std::string("malformed JSON: ") + simdjson::error_message(err));
    }
    simdjson::dom::object obj;
    if (doc.get_object().get(obj) != simdjson::SUCCESS) {
        return status::error("request must be a JSON object, got " + type_name(doc.type()));
    }
    parsed_request req;
    bool have_type = false;
    for (auto field : obj) {
        std::string_view key = field.key;
        simdjson::dom::element v = field.value;
        if (key == "event_type") {
            std::string_view s;
            if (v.get_string().get(s) != simdjson::SUCCESS || s.empty()) {
                return status::error("event_type must be a non-empty string");
            }
            req.draft.type = s;
            have_type = true;
        } else if (key == "event_source") {
            std::string_view s;
            if (v.get_string().get(s) != simdjson::SUCCESS) {
                return status::error("event_source must be a string, got " + type_name(v.type()));
            }
            req.draft.source = s;
        } else if (key == "event_data") {
            if (!v.is_object()) {
                return status::error("event_data must be a JSON object, got " +
                                     type_name(v.type()));
            }
            std::string data = simdjson::minify(v);
            // Padding so the matcher can parse it in place (see event::data_json).
            req.draft.data_json.reserve(data.size() + simdjson::SIMDJSON_PADDING);
            req.draft.data_json.assign(data);
        } else if (key == "priority") {
            if (status s = read_priority(v, req.draft.priority); !s.ok()) return s;
        } else if (key == "ack") {
            std::string_view s;
            if (v.get_string().get(s) == simdjson::SUCCESS && s == "durable") {
                req.ack = ack_mode::durable;
            } else if (v.get_string().get(s) == simdjson::SUCCESS && s == "queued") {
                req.ack = ack_mode::queued;
            } else {
                return status::error("ack must be \"durable\" or \"queued\"");
            }
        } else {
            return status::error("unknown field \"" + std::string(key) +
                                 "\" (expected event_type, event_source, event_data, priority, "
                                 "ack)");
        }
    }
    if (!have_type) return status::error("missing field \"event_type\"");
    if (req.draft.data_json.empty() || req.draft.data_json == "{}") {
        req.draft.data_json.reserve(2 + simdjson::SIMDJSON_PADDING);
        req.draft.data_json = "{}";
    }
    return req;
}

std::string ok_reply(event_id id) {
    return "{\"ok\":true,\"event_id\":" + std::to_string(id) + "}\n";
}

std::string error_reply(std::string_view e) {
    std::string out = "{\"ok\":false,\"error\":";
    append_json_string(out, e);
    out += "}\n";
    return out;
}

}  // namespace pubsub
