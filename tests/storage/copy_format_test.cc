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

}  // namespace
}  // namespace pubsub
