// request_parser on what PostgreSQL cannot store (SPEC 7.1): refused with the path named; what
// jsonb accepts (big numbers) accepted as sent; repeated keys resolved to the last occurrence.
#include <gtest/gtest.h>

#include <string>

#include "ingest/request.h"

namespace pubsub {
namespace {

struct request_refusals : ::testing::Test {
    request_parser parser;

    std::string data_of(std::string_view line) {
        auto r = parser.parse(line);
        EXPECT_TRUE(r.ok()) << line << " -> " << r.message();
        return r.ok() ? r->draft.data_json : std::string();
    }
    std::string error(std::string_view line) {
        auto r = parser.parse(line);
        EXPECT_FALSE(r.ok()) << line << " was accepted";
        return r.ok() ? std::string() : r.message();
    }
};

const std::string cannot = " is not allowed (PostgreSQL cannot store it)";

TEST_F(request_refusals, nul_escape_anywhere_names_the_field) {
    EXPECT_EQ(error(R"({"event_type":"x","event_data":{"s":"a\u0000b"}})"),
              "event_data.s: \\u0000" + cannot);
    EXPECT_EQ(error(R"({"event_type":"x\u0000"})"), "event_type: \\u0000" + cannot);
    EXPECT_EQ(error(R"({"event_type":"x","event_source":"\u0000"})"),
              "event_source: \\u0000" + cannot);
    EXPECT_EQ(error(R"({"event_type":"x","event_data":{"k\u0000y":1}})"),
              "event_data.k\\u0000y: \\u0000" + cannot + " (in the key)");
    EXPECT_EQ(error(R"({"event_type":"x","event_data":{"a":{"b":[1,"ok",{"c":"\u0000"}]}}})"),
              "event_data.a.b[2].c: \\u0000" + cannot);
    // Where the field does not matter to the request, it is still refused: jsonb holds it all.
    EXPECT_EQ(error(R"({"event_type":"x","ack":"\u0000"})"), "ack: \\u0000" + cannot);
    EXPECT_EQ(error(R"({"event_type":"x","event_data":{"a":"\\u0000"}, "b\u0000":1})"),
              "b\\u0000: \\u0000" + cannot + " (in the key)");
}

TEST_F(request_refusals, raw_nul_byte_names_the_field) {
    using namespace std::string_literals;
    EXPECT_EQ(error("{\"event_type\":\"x\",\"event_data\":{\"s\":\"a\0b\"}}"s),
              "event_data.s: a NUL byte" + cannot);
    EXPECT_EQ(error("{\"event_type\":\"x\",\"event_data\":{\"k\0\":1}}"s),
              "event_data.k\0: a NUL byte"s + cannot + " (in the key)");
    // Outside a string it is plain bad JSON.
    EXPECT_EQ(error("{\"event_type\":\"x\"}\0"s).rfind("malformed JSON: ", 0), 0u);
}

TEST_F(request_refusals, unpaired_surrogates_are_refused_by_class) {
    for (const char* esc : {"\\ud800", "\\udbff", "\\udc00", "\\uDFFF"}) {
        const std::string line =
            std::string(R"({"event_type":"x","event_data":{"s":"a)") + esc + R"(b"}})";
        EXPECT_EQ(error(line), "event_data.s: an unpaired surrogate " + std::string(esc) + cannot);
    }
    // A high surrogate followed by something that is not a low one.
    EXPECT_EQ(error(R"({"event_type":"x","event_data":{"s":"\ud800\u0041"}})"),
              "event_data.s: an unpaired surrogate \\ud800" + cannot);
    EXPECT_EQ(error(R"({"event_type":"x","event_data":{"s":"\ud800\ud800"}})"),
              "event_data.s: an unpaired surrogate \\ud800" + cannot);
    // A pair is a character outside the BMP, and fine.
    EXPECT_EQ(data_of(R"({"event_type":"x","event_data":{"s":"\ud83d\ude00"}})"),
              R"({"s":"\ud83d\ude00"})");
}

TEST_F(request_refusals, numbers_beyond_postgresql_numeric_are_refused) {
    auto line = [](const std::string& n) {
        return R"({"event_type":"x","event_data":{"n":[)" + n + "]}}";
    };
    EXPECT_EQ(
        error(line("1e131072")),
        "event_data.n[0]: a number with more than 131072 digits before the decimal point" + cannot);
    EXPECT_EQ(error(line("1" + std::string(131072, '0'))).rfind("event_data.n[0]: a number", 0),
              0u);
    EXPECT_EQ(error(line("1e-16384")).rfind("event_data.n[0]: a number with more than 16383", 0),
              0u);
    EXPECT_EQ(error(line("0.0e-16383")).rfind("event_data.n[0]: a number", 0), 0u);
    EXPECT_EQ(error(line("0e1073741823")).rfind("event_data.n[0]: an exponent", 0), 0u);
    EXPECT_EQ(error(line("0e99999999999999999999")).rfind("event_data.n[0]: an exponent", 0), 0u);
    // The limits themselves are storable (checked against PostgreSQL 15).
    for (const std::string n : {"1e131071", "0.00001e131076", "1e-16383", "0e-16383", "1.0e-16382",
                                "0e1073741822", "-0"}) {
        EXPECT_EQ(data_of(line(n)), R"({"n":[)" + n + "]}") << n;
    }
    EXPECT_EQ(data_of(line("1" + std::string(131071, '0'))).size(), 131072u + 8);
}

TEST_F(request_refusals, what_jsonb_accepts_is_kept_as_sent) {
    const std::string data =
        R"({"big":123456789012345678901234567890,"neg":-98765432109876543210987654321,)"
        R"("u64p1":18446744073709551616,"precise":0.1000000000000000000001,"huge":1e400,)"
        R"("tiny":1e-400,"ctl":"\u0001\u001f","nc":"\uffff"})";
    EXPECT_EQ(data_of(R"({"event_type":"x","event_data":)" + data + "}"), data);
}

TEST_F(request_refusals, nesting_is_bounded) {
    const std::string deep = std::string(1100, '[') + std::string(1100, ']');
    const std::string e = error(R"({"event_type":"x","event_data":{"d":)" + deep + "}}");
    EXPECT_NE(e.find("nesting deeper than 1024 levels"), std::string::npos) << e;
    // The path is shown shortened in the middle: the field and the innermost levels stay.
    EXPECT_LT(e.size(), 320u) << e;
    EXPECT_EQ(e.rfind("event_data.d[0][0]", 0), 0u) << e;
    EXPECT_NE(e.find("]...["), std::string::npos) << e;
    // Long keys nested 40 deep: the message still names the field and the problem.
    std::string nested = R"("\u0000")";
    for (int i = 0; i < 40; ++i) nested = "{\"" + std::string(100, 'k') + "\":" + nested + "}";
    const std::string k = error(R"({"event_type":"x","event_data":)" + nested + "}");
    EXPECT_LT(k.size(), 320u) << k;
    EXPECT_EQ(k.rfind("event_data.kkk", 0), 0u) << k;
    EXPECT_NE(k.find("k...k"), std::string::npos) << k;
    EXPECT_EQ(k.substr(k.size() - cannot.size() - 6), "\\u0000" + cannot) << k;
    const std::string ok = std::string(1000, '[') + std::string(1000, ']');
    EXPECT_EQ(data_of(R"({"event_type":"x","event_data":{"d":)" + ok + "}}"),
              R"({"d":)" + ok + "}");
}

TEST_F(request_refusals, repeated_keys_keep_the_last_occurrence) {
    auto line = [](const std::string& d) { return R"({"event_type":"x","event_data":)" + d + "}"; };
    EXPECT_EQ(data_of(line(R"({"a":1,"a":2})")), R"({"a":2})");
    EXPECT_EQ(data_of(line(R"({"a":1, "b":"x", "a" : 2})")), R"({"b":"x", "a" : 2})");
    EXPECT_EQ(data_of(line(R"({"a" : {"a":1,"a":[3]} , "a":{"a":0,"c":1,"a":2}})")),
              R"({"a":{"c":1,"a":2}})");
    EXPECT_EQ(data_of(line(R"({"o":{"a":1,"a":{"b":1}},"x":[{"k":1,"k":[2]}]})")),
              R"({"o":{"a":{"b":1}},"x":[{"k":[2]}]})");
    // Keys compare unescaped.
    EXPECT_EQ(data_of(line(R"({"a":1,"\u0061":2})")), R"({"\u0061":2})");
    // Big objects (another path through the check).
    std::string many = "{", want = "{";
    for (int k = 0; k < 40; ++k) {
        many += "\"k" + std::to_string(k) + "\":" + std::to_string(k) + ",";
        if (k != 7) want += "\"k" + std::to_string(k) + "\":" + std::to_string(k) + ",";
    }
    many += "\"k7\":\"last\"}";
    want += "\"k7\":\"last\"}";
    EXPECT_EQ(data_of(line(many)), want);
    // Deep nesting with a repeat at every level: one linear copy, not one per level.
    std::string deep = R"({"s":")" + std::string(200000, 'x') + "\"}", want_deep = deep;
    for (int k = 0; k < 1000; ++k) {
        deep = R"({"r":0,"r":)" + deep + "}";
        want_deep = R"({"r":)" + want_deep + "}";
    }
    EXPECT_TRUE(data_of(line(deep)) == want_deep);
    // Without repeats, the text is kept as sent, whitespace included.
    EXPECT_EQ(data_of(line(R"({"a" : 1, "A":2, "ab":3, "ba":4})")),
              R"({"a" : 1, "A":2, "ab":3, "ba":4})");
}

}  // namespace
}  // namespace pubsub
