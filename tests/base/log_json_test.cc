// log_json: logfmt fields (as log_value() quotes them) come back as JSON members, and every
// line is one JSON object that a strict parser (simdjson, which also checks UTF-8) accepts,
// whatever bytes the message and the fields hold.
#include <gtest/gtest.h>
#include <simdjson.h>

#include "base/log_json.h"
#include "base/logger.h"

namespace pubsub {
namespace {

simdjson::dom::object parse(simdjson::dom::parser& p, const std::string& line) {
    simdjson::dom::object o;
    auto err = p.parse(line).get(o);
    EXPECT_FALSE(err) << simdjson::error_message(err) << ": " << line;
    return o;
}

std::string member(simdjson::dom::object& o, const char* key) {
    std::string_view v;
    if (o[key].get(v)) return "<absent>";
    return std::string(v);
}

TEST(log_json, FieldsRoundTripThroughLogValue) {
    const std::string nasty = "a \"quoted\" \\ b\nts=2026 level=error\r\t\x01\x7f end";
    std::string fields = log_field("name", nasty) + " count=5 " + log_field("empty", "") +
                         " flag " + log_field("msg", "clash") + " " + log_field("name", "again");
    auto kv = parse_logfmt_fields(fields);
    ASSERT_EQ(kv.size(), 6u);
    EXPECT_EQ(kv[0].second, nasty);
    EXPECT_EQ(kv[1], (std::pair<std::string, std::string>{"count", "5"}));
    EXPECT_EQ(kv[2].second, "");
    EXPECT_EQ(kv[3].first, "flag");

    simdjson::dom::parser p;
    auto o = parse(p, log_json_line("2026-12-05T00:00:00.000Z", "warn", "m \"q\"\n", fields));
    EXPECT_EQ(member(o, "ts"), "2026-12-05T00:00:00.000Z");
    EXPECT_EQ(member(o, "level"), "warn");
    EXPECT_EQ(member(o, "msg"), "m \"q\"\n");
    EXPECT_EQ(member(o, "name"), nasty);
    EXPECT_EQ(member(o, "count"), "5");
    EXPECT_EQ(member(o, "msg_"), "clash");   // a field named like the line's own members
    EXPECT_EQ(member(o, "name_"), "again");  // a repeated key
}

TEST(log_json, InvalidUtf8BecomesReplacementCharacters) {
    const std::string bad =
        "ok \xc3\xa9 cut \xc3 overlong \xc0\xaf surrogate \xed\xa0\x80 "
        "high \xf4\x90\x80\x80 emoji \xf0\x9f\x98\x80 \xff";
    simdjson::dom::parser p;
    auto line = log_json_line("t", "info", bad, log_field("v", bad) + " raw=\xfe\x01");
    EXPECT_EQ(line.find('\n'), std::string::npos);
    auto o = parse(p, line);
    std::string msg = member(o, "msg");
    EXPECT_NE(msg.find("ok \xc3\xa9 cut \xef\xbf\xbd overlong"), std::string::npos) << msg;
    EXPECT_NE(msg.find("emoji \xf0\x9f\x98\x80"), std::string::npos) << msg;
    EXPECT_EQ(msg, member(o, "v"));
    EXPECT_EQ(member(o, "raw"), "\xef\xbf\xbd\x01");
}

TEST(log_json, MalformedFieldsStayInTheLine) {
    simdjson::dom::parser p;
    for (const char* f : {"=x", "\"loose\" k=v", "k=\"unterminated", "k=\"bad \\xZZ \\q\"", " "}) {
        auto o = parse(p, log_json_line("t", "info", "m", f));
        EXPECT_EQ(member(o, "msg"), "m") << f;
    }
    auto o = parse(p, log_json_line("t", "info", "m", "k=\"unterminated"));
    EXPECT_EQ(member(o, "k"), "unterminated");
}

TEST(log_json, FormatNames) {
    log_format f = log_format::json;
    EXPECT_TRUE(parse_log_format("logfmt", f));
    EXPECT_EQ(f, log_format::logfmt);
    EXPECT_TRUE(parse_log_format("json", f));
    EXPECT_EQ(f, log_format::json);
    EXPECT_FALSE(parse_log_format("JSON", f));
}

}  // namespace
}  // namespace pubsub
