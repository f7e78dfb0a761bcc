#include "base/log_json.h"

#include <algorithm>

namespace pubsub {

namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// A quoted value starting after its opening quote; `i` ends past the closing quote (or at the
// end when there is none).
std::string unquote(std::string_view s, std::size_t& i) {
    std::string out;
    while (i < s.size() && s[i] != '"') {
        char c = s[i++];
        if (c != '\\' || i >= s.size()) {
            out += c;
            continue;
        }
        const char e = s[i++];
        constexpr std::string_view named = "nrt\"\\", meaning = "\n\r\t\"\\";
        if (auto k = named.find(e); k != std::string_view::npos) {
            out += meaning[k];
        } else if (e == 'x' && i + 1 < s.size() && hex_digit(s[i]) >= 0 &&
                   hex_digit(s[i + 1]) >= 0) {
            out += static_cast<char>(hex_digit(s[i]) * 16 + hex_digit(s[i + 1]));
            i += 2;
        } else {  // not an escape log_value() writes: kept as it is
            out += '\\';
            out += e;
        }
    }
    if (i < s.size()) ++i;  // the closing quote
    return out;
}

// Length of the valid UTF-8 sequence at p (1 to 4), or 0 when it is not one (overlong forms,
// surrogates and code points beyond U+10FFFF included).
std::size_t utf8_length(const unsigned char* p, std::size_t left) {
    unsigned c = p[0];
    std::size_t n;
    unsigned min, cp;
    if (c < 0x80) return 1;
    if ((c & 0xe0) == 0xc0) {
        n = 2, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (left < n) return 0;
    for (std::size_t k = 1; k < n; ++k) {
        if ((p[k] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (p[k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_logfmt_fields(std::string_view s) {
    std::vector<std::pair<std::string, std::string>> out;
    std::size_t i = 0;
    while (i < s.size()) {
        if (s[i] == ' ') {
            ++i;
            continue;
        }
        std::size_t k = i;
        while (k < s.size() && s[k] != '=' && s[k] != ' ' && s[k] != '"') ++k;
        if (k == i) {  // a value without a key: keep the rest as it is
            out.emplace_back("fields", std::string(s.substr(i)));
            break;
        }
        std::string key(s.substr(i, k - i));
        if (k >= s.size() || s[k] != '=') {
            out.emplace_back(std::move(key), "");
            i = k;
            continue;
        }
        i = k + 1;
        if (i < s.size() && s[i] == '"') {
            ++i;
            out.emplace_back(std::move(key), unquote(s, i));
        } else {
            std::size_t end = s.find(' ', i);
            if (end == std::string_view::npos) end = s.size();
            out.emplace_back(std::move(key), std::string(s.substr(i, end - i)));
            i = end;
        }
    }
    return out;
}

void append_json_utf8(std::string& out, std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    out += '"';
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    for (std::size_t i = 0; i < s.size();) {
        unsigned char c = p[i];
        constexpr std::string_view special = "\"\\\n\r\t", written = "\"\\nrt";
        if (auto k = special.find(static_cast<char>(c)); k != std::string_view::npos) {
            out += '\\';
            out += written[k];
        } else if (c < 0x20 || c == 0x7f) {
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else if (c >= 0x80) {
            std::size_t n = utf8_length(p + i, s.size() - i);
            if (n == 0) {
                out += "\xef\xbf\xbd";  // U+FFFD for a byte that is not valid UTF-8
                ++i;
            } else {
                out.append(s.data() + i, n);
                i += n;
            }
            continue;
        } else {
            out += static_cast<char>(c);
        }
        ++i;
    }
    out += '"';
}

std::string log_json_line(std::string_view ts, std::string_view level, std::string_view msg,
                          std::string_view fields) {
    std::string out = "{\"ts\":";
    append_json_utf8(out, ts);
    out += ",\"level\":";
    append_json_utf8(out, level);
    out += ",\"msg\":";
    append_json_utf8(out, msg);
    std::vector<std::string> keys = {"ts", "level", "msg"};
    for (auto& [key, value] : parse_logfmt_fields(fields)) {
        while (std::find(keys.begin(), keys.end(), key) != keys.end()) key += '_';
        keys.push_back(key);
        out += ',';
        append_json_utf8(out, key);
        out += ':';
        append_json_utf8(out, value);
    }
    return out + '}';
}

}  // namespace pubsub
