// COPY text encoding helpers of storage/pg.h, checked against PostgreSQL's own reading of them
// where it matters (timestamps) and against the COPY text rules (escapes).
#include <gtest/gtest.h>

#include "storage/pg.h"

namespace pubsub {
namespace {

std::string ts(std::int64_t us) {
    std::string out;
    pg::append_timestamp(out, us);
    return out;
}

TEST(copy_format, timestamp_formats_utc_with_microseconds) {
    EXPECT_EQ(ts(0), "1970-01-01 00:00:00.000000+00");
    EXPECT_EQ(ts(1'795'000'000'123'456), "2026-11-18 11:06:40.123456+00");
    EXPECT_EQ(ts(1'795'000'000'000'007), "2026-11-18 11:06:40.000007+00");
    // The per-second cache must not leak a stale second into the next value.
    EXPECT_EQ(ts(1'795'000'001'999'999), "2026-11-18 11:06:41.999999+00");
    EXPECT_EQ(ts(1'795'000'000'123'456), "2026-11-18 11:06:40.123456+00");
    EXPECT_EQ(ts(-1), "1969-12-31 23:59:59.999999+00");
}

TEST(copy_format, copy_text_escapes_only_what_copy_needs) {
    std::string out;
    pg::append_copy_text(out, "plain");
    EXPECT_EQ(out, "plain");
    out.clear();
    pg::append_copy_text(out, "a\tb\nc\rd\\e");
    EXPECT_EQ(out, "a\\tb\\nc\\rd\\\\e");
    out.clear();
    pg::append_copy_text(out, "\\");
    EXPECT_EQ(out, "\\\\");
    out.clear();
    pg::append_copy_text(out, "");
    EXPECT_EQ(out, "");
}

// The scan skips clean 8-byte words: every escaped character at every offset of a word, next
// to bytes that look alike (other control bytes, 0x7f, bytes with the high bit), in strings
// of every length up to three words, against a byte-by-byte reference.
TEST(copy_format, copy_text_escapes_at_every_offset) {
    auto reference = [](std::string_view s) {
        std::string r;
        for (char c : s) {
            if (c == '\\' || c == '\t' || c == '\n' || c == '\r') {
                r += '\\';
                r += c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\';
            } else {
                r += c;
            }
        }
        return r;
    };
    const char specials[] = {'\\', '\t', '\n', '\r'};
    const char fillers[] = {'a', '\x01', '\x0c', '\x0e', '\x7f', '\x80', '\xdc', '\xff', '[', ']'};
    for (std::size_t len = 1; len <= 24; ++len) {
        for (char filler : fillers) {
            for (char special : specials) {
                for (std::size_t at = 0; at < len; ++at) {
                    std::string s(len, filler);
                    s[at] = special;
                    std::string out = "prefix";
                    pg::append_copy_text(out, s);
                    EXPECT_EQ(out, "prefix" + reference(s)) << "len " << len << " at " << at;
                }
                std::string clean(len, filler), out;
                pg::append_copy_text(out, clean);
                EXPECT_EQ(out, clean);
            }
        }
    }
}

}  // namespace
}  // namespace pubsub
