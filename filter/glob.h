// Glob patterns of the filter language: * any bytes, ? one UTF-8 character, \ escapes * ? \.
//
// A pattern is kept as written (the raw text) in the AST; compile_glob() turns it into tokens
// for the matcher. A "?" consumes one byte plus the continuation bytes (10xxxxxx) after it.
// Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace pubsub::filter_detail {

inline constexpr std::int16_t glob_star = -1;
inline constexpr std::int16_t glob_any = -2;  // ?

// Token list: a byte value 0..255, glob_star or glob_any. Consecutive stars are merged.
using glob_tokens = std::vector<std::int16_t>;
glob_tokens compile_glob(std::string_view raw);

bool glob_has_wildcard(std::string_view raw);           // an unescaped * or ?
std::string glob_unescape(std::string_view raw);        // the literal, escapes removed
std::string glob_literal_prefix(const glob_tokens& t);  // bytes before the first wildcard
std::string glob_literal_suffix(const glob_tokens& t);  // bytes after the last wildcard
std::vector<std::string> glob_literal_runs(const glob_tokens& t);  // the literal stretches

// Tokens stored as bytes (two per token, native order) inside another structure, such as the
// matcher's candidate records: read through memcpy, so any byte buffer may hold them.
class glob_token_bytes {
  public:
    glob_token_bytes(const char* bytes, std::size_t count) : bytes_(bytes), count_(count) {}
    static void append(const glob_tokens& t, std::string& out) {
        out.append(reinterpret_cast<const char*>(t.data()), t.size() * sizeof(std::int16_t));
    }
    std::size_t size() const { return count_; }
    std::int16_t operator[](std::size_t k) const {
        std::int16_t v;
        std::memcpy(&v, bytes_ + k * sizeof v, sizeof v);
        return v;
    }

  private:
    const char* bytes_;
    std::size_t count_;
};

// A pattern without ? as its literal segments, "seg0*seg1*...*segN" (stars are merged, so
// only the first and the last segment may be empty), stored as bytes inside another structure:
// the N+1 lengths (2 bytes each, native order, read through memcpy), then the segments' bytes.
// Matching needs no backtracking: the first segment is a prefix, the last a suffix, and each
// middle one is found leftmost in what lies between (leftmost is exact when * is the only
// wildcard), so a probe costs a few memcmp and string searches.
class glob_segments {
  public:
    // Whether t can be stored so: no ?, and every segment shorter than 65,536 bytes.
    static bool fits(const glob_tokens& t);
    static std::uint32_t count_of(const glob_tokens& t);  // its stars plus one
    static void append(const glob_tokens& t, std::string& out);

    glob_segments(const char* bytes, std::uint32_t count) : bytes_(bytes), count_(count) {}
    bool match(std::string_view s) const;

  private:
    std::size_t length(std::uint32_t k) const {
        std::uint16_t v;
        std::memcpy(&v, bytes_ + k * sizeof v, sizeof v);
        return v;
    }
    const char* bytes_;
    std::uint32_t count_;
};

// How the matcher's candidate records keep a glob: segments when glob_segments fits, tokens
// otherwise; `count` is the number of segments or of tokens.
struct stored_glob {
    const char* bytes;
    std::uint32_t count;
    bool segments;
};
bool glob_match(const stored_glob& g, std::string_view s);

// Greedy matcher with one backtrack point (linear in practice, O(n*m) at worst). T is
// glob_tokens or glob_token_bytes.
template <class T>
bool glob_match(const T& t, std::string_view s);

// The length in bytes of the UTF-8 character starting at s[i] (one byte plus continuations).
inline std::size_t utf8_char_len(std::string_view s, std::size_t i) {
    std::size_t j = i + 1;
    while (j < s.size() && (static_cast<unsigned char>(s[j]) & 0xC0) == 0x80) ++j;
    return j - i;
}

}  // namespace pubsub::filter_detail
