#include "ingest/request.h"

#include <simdjson.h>

#include <array>
#include <cstring>

#include "ingest/json_type_name.h"

namespace pubsub {

struct request_parser::impl {
    simdjson::dom::parser parser;
};

request_parser::request_parser() : impl_(std::make_unique<impl>()) {}
request_parser::~request_parser() = default;

namespace {

status read_priority(simdjson::dom::element v, int& out) {
    int64_t p = 0;
    if (v.get_int64().get(p) != simdjson::SUCCESS) {
        double d = 0;
        std::string got = json_type_name(v.type());
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

// A scan over JSON text that simdjson has already validated: it only finds where values end,
// it does not check them.
class validated_scan {
  public:
    explicit validated_scan(std::string_view text) : s_(text) {}

    // The text of the last top-level member named `key` (the field loop keeps the last
    // duplicate too). False when a key has escapes: the caller then re-serializes the value.
    bool last_member(std::string_view key, std::string_view& out) {
        ws();
        if (!take('{')) return false;
        for (bool found = false;;) {
            ws();
            if (take('}')) return found;
            if (i_ >= s_.size() || s_[i_] != '"') return false;  // not what was validated
            const std::size_t k = i_ + 1;
            skip_string();
            if (i_ > s_.size()) return false;
            const std::string_view name = s_.substr(k, i_ - 1 - k);
            if (name.find('\\') != std::string_view::npos) return false;
            ws();
            take(':');
            ws();
            const std::size_t v = i_;
            skip_value();
            if (name == key) out = s_.substr(v, i_ - v), found = true;
            ws();
            take(',');
        }
    }

  private:
    // The bytes that start or end something inside a container: " { } [ ].
    static constexpr std::array<bool, 256> structural = [] {
        std::array<bool, 256> t{};
        for (unsigned char c : std::string_view("\"{}[]")) t[c] = true;
        return t;
    }();
    static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
    static bool is_delimiter(char c) { return is_space(c) || c == ',' || c == '}' || c == ']'; }

    void ws() {
        while (i_ < s_.size() && is_space(s_[i_])) ++i_;
    }
    bool take(char c) {
        if (i_ >= s_.size() || s_[i_] != c) return false;
        ++i_;
        return true;
    }
    void skip_string() {  // at the opening quote; stops after the closing one
        const std::size_t open = i_;
        for (;;) {
            const void* q = i_ + 1 < s_.size()
                                ? std::memchr(s_.data() + i_ + 1, '"', s_.size() - i_ - 1)
                                : nullptr;
            if (!q) {  // unterminated: not what was validated
                i_ = s_.size() + 1;
                return;
            }
            i_ = static_cast<std::size_t>(static_cast<const char*>(q) - s_.data());
            // Escaped when an odd number of backslashes stands right before it.
            std::size_t backslashes = 0;
            while (i_ - backslashes - 1 > open && s_[i_ - backslashes - 1] == '\\') ++backslashes;
            if (backslashes % 2 == 0) break;
        }
        ++i_;
    }
    void skip_value() {
        if (i_ >= s_.size()) return;
        const char c = s_[i_];
        if (c == '"') return skip_string();
        if (c != '{' && c != '[') {  // a number, true, false or null
            while (i_ < s_.size() && !is_delimiter(s_[i_])) ++i_;
            return;
        }
        // Inside a container only quotes and brackets matter: jump from one to the next.
        for (int depth = 0; i_ < s_.size();) {
            const char d = s_[i_];
            if (d == '"') {
                skip_string();
                continue;
            }
            ++i_;
            if (d == '{' || d == '[') {
                ++depth;
            } else if ((d == '}' || d == ']') && --depth == 0) {
                return;
            }
            while (i_ < s_.size() && !structural[static_cast<unsigned char>(s_[i_])]) ++i_;
        }
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

}  // namespace

result<parsed_request> request_parser::parse(std::string_view line) {
    simdjson::dom::element doc;
    if (auto err = impl_->parser.parse(line.data(), line.size(), true).get(doc); err) {
        return status::error(std::string("malformed JSON: ") + simdjson::error_message(err));
    }
    simdjson::dom::object obj;
    if (doc.get_object().get(obj) != simdjson::SUCCESS) {
        return status::error("request must be a JSON object, got " + json_type_name(doc.type()));
    }
    parsed_request req;
    bool have_type = false, raw_data = false;
    simdjson::dom::element data_value;
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
                return status::error("event_source must be a string, got " +
                                     json_type_name(v.type()));
            }
            req.draft.source = s;
        } else if (key == "event_data") {
            if (!v.is_object()) {
                return status::error("event_data must be a JSON object, got " +
                                     json_type_name(v.type()));
            }
            raw_data = true;
            data_value = v;
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
    if (raw_data) {
        // The object's own text, as sent (valid JSON: the parse above checked it). Minifying
        // the parsed value instead was a seventh of the daemon's CPU per event.
        std::string minified;
        std::string_view text;
        if (!validated_scan(line).last_member("event_data", text)) {
            minified = simdjson::minify(data_value);
            text = minified;
        }
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

std::string error_reply(std::string_view e) {
    std::string out = "{\"ok\":false,\"error\":";
    append_json_string(out, e);
    out += "}\n";
    return out;
}

}  // namespace pubsub
