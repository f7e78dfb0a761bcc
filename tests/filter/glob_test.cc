// The glob forms the matcher stores in its candidate records (glob.h): segments for patterns
// without ?, tokens otherwise, against the reference's dynamic programming on random patterns
// and strings over a small alphabet (so that segments repeat and overlap).
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "filter/glob.h"
#include "filter/reference.h"

namespace pubsub::filter_detail {
namespace {

std::string random_text(std::mt19937& rng, const char* alphabet, std::size_t max_len) {
    const std::string a(alphabet);
    std::string out;
    for (std::size_t n = rng() % (max_len + 1); n > 0; --n) out += a[rng() % a.size()];
    return out;
}

bool stored_match(std::string_view raw, std::string_view s) {
    const glob_tokens t = compile_glob(raw);
    std::string bytes;
    const bool segments = glob_segments::fits(t);
    std::uint32_t count;
    if (segments) {
        glob_segments::append(t, bytes);
        count = glob_segments::count_of(t);
    } else {
        glob_token_bytes::append(t, bytes);
        count = static_cast<std::uint32_t>(t.size());
    }
    bytes.insert(0, 1, 'x');  // an odd offset: the lengths and tokens are read unaligned
    return glob_match(stored_glob{bytes.data() + 1, count, segments}, s);
}

TEST(GlobForms, SegmentsAndTokensAgreeWithReference) {
    std::mt19937 rng(20);
    for (int k = 0; k < 20000; ++k) {
        const std::string raw = random_text(rng, k % 4 == 0 ? "ab*?\\" : "ab*", 8);
        for (int j = 0; j < 8; ++j) {
            const std::string s = random_text(rng, "ab*?\\", 10);
            ASSERT_EQ(stored_match(raw, s), reference_glob(raw, s))
                << "pattern '" << raw << "' string '" << s << "'";
        }
    }
}

TEST(GlobForms, Segments) {
    EXPECT_TRUE(glob_segments::fits(compile_glob("a*b*c")));
    EXPECT_FALSE(glob_segments::fits(compile_glob("a?c")));
    EXPECT_TRUE(glob_segments::fits(compile_glob("a\\?c")));  // an escaped ? is a byte
    EXPECT_EQ(glob_segments::count_of(compile_glob("")), 1u);
    EXPECT_EQ(glob_segments::count_of(compile_glob("**x**")), 3u);
    EXPECT_FALSE(glob_segments::fits(compile_glob(std::string(70000, 'a'))));
    EXPECT_TRUE(glob_segments::fits(compile_glob(std::string(65535, 'a') + "*")));

    EXPECT_TRUE(stored_match("*_12_orders.*", "client_12_orders.csv"));
    EXPECT_FALSE(stored_match("*_12_orders.*", "client_112_orders"));
    EXPECT_TRUE(stored_match("/in/c_1/*/*.xlsx", "/in/c_1/2024/a.xlsx"));
    EXPECT_FALSE(stored_match("/in/c_1/*/*.xlsx", "/in/c_1/a.xlsx"));
    EXPECT_FALSE(stored_match("ab*ba", "aba"));  // the prefix and the suffix may not overlap
    EXPECT_TRUE(stored_match("ab*ba", "abba"));
    EXPECT_TRUE(stored_match("a*a*a*b", "aaaaaaaab"));
    EXPECT_FALSE(stored_match("a*a*a*b", "aab"));
    EXPECT_TRUE(stored_match("", ""));
    EXPECT_FALSE(stored_match("", "a"));
    EXPECT_TRUE(stored_match("*", ""));
    EXPECT_TRUE(stored_match("caf?", "caf\xc3\xa9"));  // tokens: ? is one UTF-8 character
}

}  // namespace
}  // namespace pubsub::filter_detail
