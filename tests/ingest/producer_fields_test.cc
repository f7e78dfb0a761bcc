// The producer fields of SPEC 7.2: RFC 3339 times, delay_ms, keys, and the parser around them.
#include "ingest/producer_fields.h"

#include <gtest/gtest.h>

#include "ingest/request.h"

namespace pubsub {
namespace {

TEST(producer_fields, rfc3339_with_offsets_and_fractions) {
    auto z = parse_rfc3339("2026-12-05T06:00:00Z");
    ASSERT_TRUE(z.ok()) << z.message();
    EXPECT_EQ(*z, 1796450400LL * 1'000'000);
    auto plus = parse_rfc3339("2026-12-05T07:00:00.25+01:00");
    ASSERT_TRUE(plus.ok());
    EXPECT_EQ(*plus, *z + 250'000);
    auto minus = parse_rfc3339("2026-12-04t22:30:00.000001-07:30");
    ASSERT_TRUE(minus.ok());
    EXPECT_EQ(*minus, *z + 1);
    EXPECT_TRUE(parse_rfc3339("2028-02-29T00:00:00Z").ok());  // leap year
    EXPECT_EQ(*parse_rfc3339("1970-01-01T00:00:00Z"), 0);
    for (const char* bad : {"2026-12-05T06:00:00", "2026-12-05 06:00:00Z", "2027-02-29T00:00:00Z",
                            "2026-13-01T00:00:00Z", "2026-12-05T24:00:00Z", "2026-12-05T06:00Z",
                            "2026-12-05T06:00:00.Z", "2026-12-05T06:00:00+0100", "",
                            "2026-12-05T06:00:00Zjunk"}) {
        auto r = parse_rfc3339(bad);
        EXPECT_FALSE(r.ok()) << bad;
        if (!r.ok()) {
            EXPECT_NE(r.message().find("RFC 3339"), std::string::npos) << r.message();
        }
    }
}

TEST(producer_fields, delay_and_key_bounds) {
    EXPECT_EQ(*parse_delay_ms("0"), 0);
    EXPECT_EQ(*parse_delay_ms("2592000000"), 2592000000LL);
    EXPECT_FALSE(parse_delay_ms("2592000001").ok());
    EXPECT_FALSE(parse_delay_ms("-1").ok());
    EXPECT_FALSE(parse_delay_ms("1.5").ok());
    EXPECT_TRUE(check_idempotency_key(std::string(256, 'k')).ok());
    EXPECT_FALSE(check_idempotency_key(std::string(257, 'k')).ok());
    EXPECT_FALSE(check_idempotency_key("").ok());
    EXPECT_TRUE(check_run_at(now_us() + max_delay_us - 1'000'000, now_us()).ok());
    EXPECT_FALSE(check_run_at(now_us() + max_delay_us + 1'000'000, now_us()).ok());
}

TEST(producer_fields, parser_reads_them) {
    request_parser p;
    auto r = p.parse(
        R"({"event_type":"t","idempotency_key":"a\"b","run_at":"2020-01-01T00:00:00Z"})");
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(r->draft.idempotency_key, "a\"b");
    EXPECT_EQ(r->draft.run_at_us, *parse_rfc3339("2020-01-01T00:00:00Z"));
    const std::int64_t before = now_us();
    auto d = p.parse(R"({"event_type":"t","delay_ms":1500})");
    ASSERT_TRUE(d.ok()) << d.message();
    EXPECT_GE(d->draft.run_at_us, before + 1'500'000);
    EXPECT_LT(d->draft.run_at_us, now_us() + 1'500'000 + 1);
    auto k = p.parse(R"({"event_type":"t","idempotency_key":"\u0000"})");
    EXPECT_FALSE(k.ok());
    EXPECT_EQ(duplicate_reply(7), "{\"ok\":true,\"event_id\":7,\"duplicate\":true}\n");
}

}  // namespace
}  // namespace pubsub
