// json_text: writing JSON string literals by hand, for the few places that build small JSON
// texts (socket replies, handler stdin, node heartbeats, watcher events). Pure functions.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace pubsub {

// Appends s as a quoted JSON string: quotes, backslashes and control characters escaped.
void append_json_string(std::string& out, std::string_view s);

// The first byte in [p, end) that a JSON string reader must look at: '"', '\\', a control byte
// or a non-ASCII one; `end` if none. Eight bytes at a time (the lowest flag of each test is
// exact, so is the lowest of their union). For the readers of JSON text on hot paths.
inline const char* skip_plain_string_bytes(const char* p, const char* end) {
    constexpr std::uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    auto zero = [](std::uint64_t v) { return (v - ones) & ~v & highs; };
    while (std::endian::native == std::endian::little && end - p >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        const std::uint64_t m = zero(w ^ (ones * '"')) | zero(w ^ (ones * '\\')) |
                                ((w - ones * 0x20) & ~w & highs) | (w & highs);
        if (m) return p + __builtin_ctzll(m) / 8;
        p += 8;
    }
    while (p < end && *p != '"' && *p != '\\' && static_cast<unsigned char>(*p) >= 0x20 &&
           static_cast<unsigned char>(*p) < 0x80) {
        ++p;
    }
    return p;
}

}  // namespace pubsub
