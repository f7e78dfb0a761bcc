// value_ref: one scalar of a filter or of an event, as the filter code compares it.
//
// Numbers are kept in a canonical form so that equal numbers have equal representations:
// an integral value that fits in int64 is `integer`; an integral value in [2^63, 2^64) is
// `uinteger`; anything else (a fraction, or an integral double beyond those ranges) is `real`.
// So 1 and 1.0 are both integer 1, and 9007199254740993 stays distinct from the double
// 9007199254740992.0. A value_ref does not own its string: it views the filter AST or the
// parsed event. Plain value, no shared state; every function here is pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pubsub::filter_detail {

enum class value_kind : std::uint8_t { null, boolean, integer, uinteger, real, string };

struct value_ref {
    value_kind kind = value_kind::null;
    bool b = false;
    std::int64_t i = 0;
    std::uint64_t u = 0;
    double d = 0;
    std::string_view s;
};

value_ref make_null();
value_ref make_bool(bool b);
value_ref make_int(std::int64_t i);
value_ref make_uint(std::uint64_t u);
value_ref make_double(double d);
value_ref make_string(std::string_view s);

inline bool is_number(value_kind k) {
    return k == value_kind::integer || k == value_kind::uinteger || k == value_kind::real;
}

// A JSON number token (whitespace around it allowed) in canonical form; nullopt if it is not
// one. Integers beyond 64 bits become the nearest double, as JSON allows. Used for event values
// instead of simdjson's number getters (3.0.1's get_number() returns 0 for 9223372036854775808.0
// and its DOM refuses a whole document for one integer beyond 64 bits).
std::optional<value_ref> parse_json_number(std::string_view raw);

// Equality: same type and same value; numbers compare exactly, never across types.
bool values_equal(const value_ref& a, const value_ref& b);

// Ordering: -1, 0 or 1 between two numbers or two strings (bytewise); nullopt otherwise.
std::optional<int> compare_values(const value_ref& a, const value_ref& b);

// A fast hash of bytes (8 at a time).
std::uint64_t hash_bytes(std::string_view s);

// A hash consistent with values_equal.
std::uint64_t hash_value(const value_ref& v);

// The value as filter text would write it (strings quoted), for messages.
std::string describe(const value_ref& v);

}  // namespace pubsub::filter_detail
