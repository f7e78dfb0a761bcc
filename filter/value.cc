// Canonical numbers, exact comparisons and hashing of value_ref.
#include "filter/value.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>

namespace pubsub::filter_detail {
namespace {

constexpr double two_pow_63 = 9223372036854775808.0;
constexpr double two_pow_64 = 18446744073709551616.0;

int sign_of(bool less, bool greater) { return less ? -1 : (greater ? 1 : 0); }

// An integer (int64 or uint64 given as a double-free pair) against a real. Reals are either
// non-integral with |d| < 2^53, or outside [-2^63, 2^64): in the first case converting the
// integer to double cannot flip the comparison, in the second the answer is the sign of d.
int compare_integral_with_real(const value_ref& a, double d) {
    if (d >= two_pow_64) return -1;
    if (d < -two_pow_63) return 1;
    double x = a.kind == value_kind::integer ? static_cast<double>(a.i) : static_cast<double>(a.u);
    return sign_of(x<d, x> d);
}

int compare_numbers(const value_ref& a, const value_ref& b) {
    using k = value_kind;
    if (a.kind == k::real && b.kind == k::real) return sign_of(a.d<b.d, a.d> b.d);
    if (b.kind == k::real) return compare_integral_with_real(a, b.d);
    if (a.kind == k::real) return -compare_integral_with_real(b, a.d);
    if (a.kind == k::integer && b.kind == k::integer) return sign_of(a.i<b.i, a.i> b.i);
    if (a.kind == k::uinteger && b.kind == k::uinteger) return sign_of(a.u<b.u, a.u> b.u);
    return a.kind == k::integer ? -1 : 1;  // every uinteger is above every integer
}

std::uint64_t mix(std::uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

}  // namespace

std::uint64_t hash_bytes(std::string_view s) {
    std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ s.size();
    std::size_t k = 0;
    for (; k + 8 <= s.size(); k += 8) {
        std::uint64_t w;
        std::memcpy(&w, s.data() + k, 8);
        h = mix(h ^ w);
    }
    std::uint64_t tail = 0;
    std::memcpy(&tail, s.data() + k, s.size() - k);
    return mix(h ^ tail ^ 0xff);
}

value_ref make_null() { return value_ref{}; }

value_ref make_bool(bool b) {
    value_ref v;
    v.kind = value_kind::boolean;
    v.b = b;
    return v;
}

value_ref make_int(std::int64_t i) {
    value_ref v;
    v.kind = value_kind::integer;
    v.i = i;
    return v;
}

value_ref make_uint(std::uint64_t u) {
    if (u <= static_cast<std::uint64_t>(INT64_MAX)) return make_int(static_cast<std::int64_t>(u));
    value_ref v;
    v.kind = value_kind::uinteger;
    v.u = u;
    return v;
}

value_ref make_double(double d) {
    if (std::trunc(d) == d) {
        if (d >= -two_pow_63 && d < two_pow_63) return make_int(static_cast<std::int64_t>(d));
        if (d >= 0 && d < two_pow_64) return make_uint(static_cast<std::uint64_t>(d));
    }
    value_ref v;
    v.kind = value_kind::real;
    v.d = d;
    return v;
}

value_ref make_string(std::string_view s) {
    value_ref v;
    v.kind = value_kind::string;
    v.s = s;
    return v;
}

namespace {
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
}  // namespace

std::optional<value_ref> parse_json_number(std::string_view raw) {
    while (!raw.empty() && is_space(raw.back())) raw.remove_suffix(1);
    while (!raw.empty() && is_space(raw.front())) raw.remove_prefix(1);
    if (raw.empty()) return std::nullopt;
    bool integral = true;
    for (char c : raw) {
        if (c == '.' || c == 'e' || c == 'E') {
            integral = false;
        } else if ((c < '0' || c > '9') && c != '-' && c != '+') {
            return std::nullopt;  // from_chars would take "inf" and "nan"
        }
    }
    const char* first = raw.data();
    const char* last = raw.data() + raw.size();
    if (integral && raw.size() <= 18 && raw.find('+') == std::string_view::npos) {
        // The common case, without from_chars: at most 18 characters cannot overflow int64.
        const bool negative = raw[0] == '-';
        std::int64_t i = 0;
        std::size_t k = negative ? 1 : 0;
        if (k == raw.size()) return std::nullopt;
        for (; k < raw.size(); ++k) {
            if (raw[k] == '-') return std::nullopt;
            i = i * 10 + (raw[k] - '0');
        }
        return make_int(negative ? -i : i);
    }
    if (integral) {
        std::int64_t i = 0;
        if (auto r = std::from_chars(first, last, i); r.ec == std::errc() && r.ptr == last) {
            return make_int(i);
        }
        std::uint64_t u = 0;
        if (auto r = std::from_chars(first, last, u); r.ec == std::errc() && r.ptr == last) {
            return make_uint(u);
        }
    }
    double d = 0;
    auto r = std::from_chars(first, last, d);
    if (r.ec == std::errc::result_out_of_range && r.ptr == last) {
        // Valid JSON that jsonb stores (up to 131072 digits) but beyond double: strtod gives
        // the infinity or the zero of the right sign, which compare sanely with every number.
        d = std::strtod(std::string(raw).c_str(), nullptr);
    } else if (r.ec != std::errc() || r.ptr != last) {
        return std::nullopt;
    }
    return make_double(d);
}

bool values_equal(const value_ref& a, const value_ref& b) {
    if (a.kind != b.kind) return false;
    switch (a.kind) {
        case value_kind::null:
            return true;
        case value_kind::boolean:
            return a.b == b.b;
        case value_kind::integer:
            return a.i == b.i;
        case value_kind::uinteger:
            return a.u == b.u;
        case value_kind::real:
            return a.d == b.d;
        case value_kind::string:
            return a.s == b.s;
    }
    return false;
}

std::optional<int> compare_values(const value_ref& a, const value_ref& b) {
    if (is_number(a.kind) && is_number(b.kind)) return compare_numbers(a, b);
    if (a.kind == value_kind::string && b.kind == value_kind::string) {
        int c = a.s.compare(b.s);
        return sign_of(c<0, c> 0);
    }
    return std::nullopt;
}

std::uint64_t hash_value(const value_ref& v) {
    std::uint64_t h = static_cast<std::uint64_t>(v.kind) * 0x9e3779b97f4a7c15ULL;
    switch (v.kind) {
        case value_kind::null:
            break;
        case value_kind::boolean:
            h += v.b;
            break;
        case value_kind::integer:
            h += static_cast<std::uint64_t>(v.i);
            break;
        case value_kind::uinteger:
            h += v.u;
            break;
        case value_kind::real:
            h += std::hash<double>{}(v.d);
            break;
        case value_kind::string:
            h += hash_bytes(v.s);
            break;
    }
    return mix(h);
}

std::string describe(const value_ref& v) {
    switch (v.kind) {
        case value_kind::null:
            return "null";
        case value_kind::boolean:
            return v.b ? "true" : "false";
        case value_kind::integer:
            return std::to_string(v.i);
        case value_kind::uinteger:
            return std::to_string(v.u);
        case value_kind::real: {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.17g", v.d);
            return buf;
        }
        case value_kind::string:
            break;
    }
    std::string out = "\"";
    for (char c : v.s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

}  // namespace pubsub::filter_detail
