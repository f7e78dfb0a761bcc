#include "admin/http_util.h"

#include <simdjson.h>

#include <charconv>

#include "base/json_text.h"

namespace pubsub::admin {

http_response error_reply(int status, std::string_view message) {
    http_response r;
    r.status = status;
    r.body = "{\"error\":";
    append_json_string(r.body, message);
    r.body += "}";
    return r;
}

http_response json_reply(int status, std::string body) {
    http_response r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

namespace {

int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool decode(std::string_view in, bool plus_is_space, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '%') {
            if (i + 2 >= in.size()) return false;
            int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
            if (hi < 0 || lo < 0) return false;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out += ' ';
        } else {
            out += c;
        }
    }
    // Everything decoded ends up as PostgreSQL text, which holds neither NUL nor non-UTF-8.
    return out.find('\0') == std::string::npos && simdjson::validate_utf8(out.data(), out.size());
}

}  // namespace

bool parse_target(std::string_view target, parsed_target& out) {
    auto q = target.find('?');
    std::string_view path = target.substr(0, q);
    std::string_view query = q == std::string_view::npos ? "" : target.substr(q + 1);
    std::string part;
    while (!path.empty()) {
        auto slash = path.find('/');
        std::string_view seg = path.substr(0, slash);
        if (!seg.empty()) {
            if (!decode(seg, false, part)) return false;
            out.segments.push_back(part);
        }
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    while (!query.empty()) {
        auto amp = query.find('&');
        std::string_view kv = query.substr(0, amp);
        auto eq = kv.find('=');
        std::string key, value;
        if (!decode(kv.substr(0, eq), true, key)) return false;
        if (eq != std::string_view::npos && !decode(kv.substr(eq + 1), true, value)) return false;
        if (!key.empty()) out.query[key] = value;
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return true;
}

bool parse_int64(std::string_view s, std::int64_t& out) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace pubsub::admin
