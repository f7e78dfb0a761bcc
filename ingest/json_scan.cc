// The strict scan: recursive descent over the text, one pass, no number conversion. Problems
// PostgreSQL would refuse inside a string are noted and reported once the string (or key) ends,
// so the message can name the key itself.
#include "ingest/json_scan.h"

#include "base/json_text.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>

namespace pubsub {
namespace {

// PostgreSQL's numeric (src/backend/utils/adt/numeric.c): the weight of the first non-zero
// digit, in decimal digits, and the digits after the point must fit these; the exponent is
// refused from INT_MAX / 2 on, before either is looked at.
constexpr std::int64_t numeric_max_weight = 131071;  // 131072 digits before the point
constexpr std::int64_t numeric_max_dscale = 16383;   // digits after the point
constexpr std::int64_t numeric_max_exponent = 1073741823;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// A path shown in an error is at most about this long: one 1,024 levels deep would otherwise
// make a 3 KB message of "[0][0]...". Its head (which field) and tail (where inside) are kept.
constexpr std::size_t max_path_shown = 200;
constexpr std::size_t path_head_shown = 60;

// Moves a cut to the nearest step of the path ('.' or '[') within a few bytes, so [0] stays
// whole; failing that (a long key), back so it does not split a UTF-8 sequence.
std::size_t path_cut(std::string_view s, std::size_t at) {
    for (std::size_t d = 0; d < 8; ++d) {
        if (at >= d && (s[at - d] == '.' || s[at - d] == '[')) return at - d;
        if (at + d < s.size() && (s[at + d] == '.' || s[at + d] == '[')) return at + d;
    }
    while (at > 0 && (static_cast<unsigned char>(s[at]) & 0xC0) == 0x80) --at;
    return at;
}

}  // namespace

std::string json_path_shown(std::string path) {
    if (path.size() <= max_path_shown) return path;
    const std::string_view all(path);
    const std::size_t head = path_cut(all, path_head_shown);
    std::size_t tail = path_cut(all, all.size() - (max_path_shown - path_head_shown));
    if (all[tail] == '.') ++tail;  // "a...b.c", not "a....b.c"
    return std::string(all.substr(0, head)) + "..." + std::string(all.substr(tail));
}

namespace {

std::string store_refusal(std::string_view what) {
    return std::string(what) + " is not allowed (PostgreSQL cannot store it)";
}

}  // namespace

int json_hex4(const char* p) {
    int v = 0;
    for (int k = 0; k < 4; ++k) {
        const char c = p[k];
        int d;
        if (c >= '0' && c <= '9') {
            d = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            d = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            d = c - 'A' + 10;
        } else {
            return -1;
        }
        v = v * 16 + d;
    }
    return v;
}

status json_scan::scan(std::string_view text) {
    begin_ = p_ = text.data();
    end_ = p_ + text.size();
    frames_.clear();
    keys_.clear();
    members_.clear();
    error_.clear();
    problem_.clear();
    repeats_ = 0;
    repeated_.clear();
    ws();
    const char* start = p_;
    if (!value()) return status::error(error_);
    root_ = std::string_view(start, static_cast<std::size_t>(p_ - start));
    ws();
    if (p_ != end_) {
        fail_syntax("text after the JSON value");
        return status::error(error_);
    }
    return status();
}

void json_scan::ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
}

bool json_scan::fail_syntax(const char* what) {
    error_ = "malformed JSON: ";
    error_ += what;
    error_ += " at byte " + std::to_string(p_ - begin_);
    return false;
}

bool json_scan::fail_path(const std::string& what) {
    const std::string where = json_path_shown(path());
    error_ = where.empty() ? what : where + ": " + what;
    return false;
}

std::string json_scan::path() const {
    std::string out;
    for (const frame& f : frames_) {
        if (f.array) {
            out += "[" + std::to_string(f.index) + "]";
        } else {
            if (!out.empty()) out += '.';
            out.append(f.key.substr(0, 64));
        }
    }
    return out;
}

bool json_scan::value() {
    if (p_ == end_) return fail_syntax("unexpected end of text");
    bool escaped = false;
    switch (*p_) {
        case '{':
            return object();
        case '[':
            return array();
        case '"':
            if (!string(escaped)) return false;
            return problem_.empty() || fail_path(problem_);
        case 't':
            return literal("true");
        case 'f':
            return literal("false");
        case 'n':
            return literal("null");
        default:
            if (*p_ == '-' || is_digit(*p_)) return number();
            return fail_syntax("unexpected character");
    }
}

bool json_scan::literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::memcmp(p_, word.data(), word.size()) != 0) {
        return fail_syntax("invalid literal");
    }
    p_ += word.size();
    return true;
}

bool json_scan::object() {
    if (frames_.size() >= max_depth) {
        return fail_path(store_refusal("nesting deeper than 1024 levels"));
    }
    const bool root = frames_.empty();
    frames_.push_back({false, {}, 0, static_cast<std::uint32_t>(keys_.size())});
    ++p_;
    ws();
    if (p_ < end_ && *p_ == '}') {
        ++p_;
        frames_.pop_back();
        return true;
    }
    for (;;) {
        ws();
        if (p_ == end_ || *p_ != '"') return fail_syntax("expected a string key");
        const char* k = p_ + 1;
        bool escaped = false;
        if (!string(escaped)) return false;
        const std::string_view key(k, static_cast<std::size_t>(p_ - 1 - k));
        frames_.back().key = key;
        if (!problem_.empty()) return fail_path(problem_ + " (in the key)");
        const std::size_t key_index = keys_.size();
        keys_.push_back({key, escaped, nullptr});
        ws();
        if (p_ == end_ || *p_ != ':') return fail_syntax("expected ':' after a key");
        ++p_;
        ws();
        const char* v = p_;
        const std::uint32_t repeats_before = repeats_;
        if (!value()) return false;
        keys_[key_index].member_end = p_;
        if (root) {
            members_.push_back({key, std::string_view(v, static_cast<std::size_t>(p_ - v)), escaped,
                                repeats_ != repeats_before});
        }
        ws();
        if (p_ == end_) return fail_syntax("unterminated object");
        if (*p_ == '}') break;
        if (*p_ != ',') return fail_syntax("expected ',' or '}' in an object");
        ++p_;
    }
    ++p_;
    const std::uint32_t keys_begin = frames_.back().keys_begin;
    if (!root && repeats(keys_begin)) {
        ++repeats_;
        note_repeated(keys_begin);
    }
    keys_.resize(keys_begin);
    frames_.pop_back();
    return true;
}

bool json_scan::array() {
    if (frames_.size() >= max_depth) {
        return fail_path(store_refusal("nesting deeper than 1024 levels"));
    }
    frames_.push_back({true, {}, 0, static_cast<std::uint32_t>(keys_.size())});
    ++p_;
    ws();
    if (p_ < end_ && *p_ == ']') {
        ++p_;
        frames_.pop_back();
        return true;
    }
    for (;;) {
        ws();
        if (!value()) return false;
        ws();
        if (p_ == end_) return fail_syntax("unterminated array");
        if (*p_ == ']') break;
        if (*p_ != ',') return fail_syntax("expected ',' or ']' in an array");
        ++p_;
        ++frames_.back().index;
    }
    ++p_;
    frames_.pop_back();
    return true;
}

// At the opening quote; stops after the closing one. A byte PostgreSQL cannot store sets
// problem_ (the first one counts) and the scan goes on to the end of the string.
bool json_scan::string(bool& escaped) {
    ++p_;
    const char* start = p_;
    bool non_ascii = false;
    problem_.clear();
    for (;;) {
        p_ = skip_plain_string_bytes(p_, end_);
        if (p_ == end_) return fail_syntax("unterminated string");
        const auto c = static_cast<unsigned char>(*p_);
        if (c == '"') break;
        if (c == '\\') {
            escaped = true;
            if (!escape()) return false;
        } else if (c >= 0x80) {
            non_ascii = true;
            ++p_;
        } else if (c == 0) {
            if (problem_.empty()) problem_ = store_refusal("a NUL byte");
            ++p_;
        } else {
            return fail_syntax("unescaped control character in a string");
        }
    }
    const std::size_t n = static_cast<std::size_t>(p_ - start);
    ++p_;
    if (non_ascii && !simdjson::validate_utf8(start, n)) {
        return fail_syntax("invalid UTF-8 in a string");
    }
    return true;
}

// At a backslash inside a string; stops after the escape (a surrogate pair counts as one).
bool json_scan::escape() {
    if (end_ - p_ < 2) return fail_syntax("unterminated string");
    switch (p_[1]) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
            p_ += 2;
            return true;
        case 'u':
            break;
        default:
            return fail_syntax("invalid escape in a string");
    }
    const int cp = end_ - p_ >= 6 ? json_hex4(p_ + 2) : -1;
    if (cp < 0) return fail_syntax("invalid \\u escape in a string");
    const std::string_view esc(p_, 6);
    p_ += 6;
    if (cp >= 0xd800 && cp <= 0xdbff && end_ - p_ >= 6 && p_[0] == '\\' && p_[1] == 'u') {
        const int low = json_hex4(p_ + 2);
        if (low >= 0xdc00 && low <= 0xdfff) {
            p_ += 6;
            return true;
        }
    }
    if (!problem_.empty()) return true;
    if (cp == 0) {
        problem_ = store_refusal("\\u0000");
    } else if (cp >= 0xd800 && cp <= 0xdfff) {
        problem_ = store_refusal("an unpaired surrogate " + std::string(esc));
    }
    return true;
}

bool json_scan::number() {
    if (*p_ == '-') ++p_;
    if (p_ == end_ || !is_digit(*p_)) return fail_syntax("invalid number");
    std::int64_t int_digits = 0, frac_digits = 0, first_nonzero = -1, exponent = 0;
    auto digits = [&](std::int64_t& count) {
        for (; p_ < end_ && is_digit(*p_); ++p_, ++count) {
            if (first_nonzero < 0 && *p_ != '0') first_nonzero = int_digits + frac_digits;
        }
    };
    if (*p_ == '0') {
        ++p_;
        int_digits = 1;
    } else {
        digits(int_digits);
    }
    if (p_ < end_ && *p_ == '.') {
        ++p_;
        if (p_ == end_ || !is_digit(*p_)) return fail_syntax("invalid number");
        digits(frac_digits);
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
        ++p_;
        bool negative = false;
        if (p_ < end_ && (*p_ == '+' || *p_ == '-')) negative = *p_++ == '-';
        if (p_ == end_ || !is_digit(*p_)) return fail_syntax("invalid number");
        for (; p_ < end_ && is_digit(*p_); ++p_) {
            if (exponent <= numeric_max_exponent) exponent = exponent * 10 + (*p_ - '0');
        }
        if (negative) exponent = -exponent;
    }
    if (exponent >= numeric_max_exponent || exponent <= -numeric_max_exponent) {
        return fail_path(store_refusal("an exponent beyond PostgreSQL's numeric range"));
    }
    if (frac_digits - exponent > numeric_max_dscale) {
        return fail_path(
            store_refusal("a number with more than 16383 digits after the decimal point"));
    }
    if (first_nonzero >= 0 && int_digits - 1 - first_nonzero + exponent > numeric_max_weight) {
        return fail_path(
            store_refusal("a number with more than 131072 digits before the decimal point"));
    }
    return true;
}

// Whether the keys of the object that began at keys_begin repeat one. Keys compare unescaped;
// most objects are small and without escapes, so the common case is a few length compares.
bool json_scan::repeats(std::uint32_t keys_begin) {
    const std::size_t n = keys_.size() - keys_begin;
    if (n < 2) return false;
    const key_ref* k = keys_.data() + keys_begin;
    const bool any_escaped = std::any_of(k, k + n, [](const key_ref& r) { return r.escaped; });
    if (!any_escaped && n <= 16) {
        for (std::size_t a = 1; a < n; ++a) {
            for (std::size_t b = 0; b < a; ++b) {
                if (k[a].raw.size() == k[b].raw.size() &&
                    std::memcmp(k[a].raw.data(), k[b].raw.data(), k[a].raw.size()) == 0) {
                    return true;
                }
            }
        }
        return false;
    }
    if (!any_escaped) {  // a big object: sort views of the keys (no copy, no allocation)
        views_.clear();
        for (std::size_t a = 0; a < n; ++a) views_.push_back(k[a].raw);
        std::sort(views_.begin(), views_.end());
        return std::adjacent_find(views_.begin(), views_.end()) != views_.end();
    }
    std::vector<std::string> unescaped;
    for (std::size_t a = 0; a < n; ++a) {
        unescaped.push_back(k[a].escaped ? json_unescape(k[a].raw) : std::string(k[a].raw));
    }
    std::sort(unescaped.begin(), unescaped.end());
    return std::adjacent_find(unescaped.begin(), unescaped.end()) != unescaped.end();
}

// Rare (the object repeats a key): lists every member whose key a later member repeats.
void json_scan::note_repeated(std::uint32_t keys_begin) {
    const std::size_t n = keys_.size() - keys_begin;
    const key_ref* k = keys_.data() + keys_begin;
    sorted_.clear();
    for (std::uint32_t a = 0; a < n; ++a) {
        sorted_.emplace_back(k[a].escaped ? json_unescape(k[a].raw) : std::string(k[a].raw), a);
    }
    std::sort(sorted_.begin(), sorted_.end());
    for (std::size_t a = 0; a + 1 < n; ++a) {
        if (sorted_[a].first != sorted_[a + 1].first) continue;
        const key_ref& r = k[sorted_[a].second];
        const char* begin = r.raw.data() - 1;  // the opening quote
        repeated_.emplace_back(begin, static_cast<std::size_t>(r.member_end - begin));
    }
}

status json_storable(std::string_view text) {
    if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return status();
    json_scan scan;
    return scan.scan(text);
}

}  // namespace pubsub
