// request_parser (SPEC 3.1 request lines) and the reply lines.
#include "ingest/request.h"

#include <gtest/gtest.h>

#include <string>

namespace pubsub {
namespace {

struct request_test : ::testing::Test {
    request_parser parser;

    parsed_request ok(std::string_view line) {
        auto r = parser.parse(line);
        EXPECT_TRUE(r.ok()) << line << " -> " << r.message();
        return r.ok() ? std::move(r).value() : parsed_request{};
    }
    std::string error(std::string_view line) {
        auto r = parser.parse(line);
        EXPECT_FALSE(r.ok()) << line << " was accepted";
        return r.ok() ? std::string() : r.message();
    }
};

TEST_F(request_test, full_request) {
    auto r = ok(R"({"event_type":"import_complete","event_source":"generic_import:42",)"
                R"("event_data":{"rows": 10, "file" : "a.csv"},"priority":9,"ack":"queued"})");
    EXPECT_EQ(r.draft.type, "import_complete");
    EXPECT_EQ(r.draft.source, "generic_import:42");
    EXPECT_EQ(r.draft.data_json, R"({"rows": 10, "file" : "a.csv"})");  // as sent
    EXPECT_EQ(r.draft.priority, 9);
    EXPECT_EQ(r.ack, ack_mode::queued);
}

TEST_F(request_test, defaults) {
    auto r = ok(R"({"event_type":"x"})");
    EXPECT_EQ(r.draft.type, "x");
    EXPECT_EQ(r.draft.source, "");
    EXPECT_EQ(r.draft.data_json, "{}");
    EXPECT_EQ(r.draft.priority, 5);
    EXPECT_EQ(r.ack, ack_mode::durable);
}

TEST_F(request_test, accepted_forms) {
    EXPECT_EQ(ok(R"({"event_type":"x","ack":"durable"})").ack, ack_mode::durable);
    EXPECT_EQ(ok(R"({"event_type":"x","ack":"queued"})").ack, ack_mode::queued);
    EXPECT_EQ(ok(R"({"event_type":"x","priority":1})").draft.priority, 1);
    EXPECT_EQ(ok(R"({"event_type":"x","priority":10})").draft.priority, 10);
    EXPECT_EQ(ok(R"({"event_type":"x","event_data":{}})").draft.data_json, "{}");
    EXPECT_EQ(ok(R"({"event_type":"x","event_source":""})").draft.source, "");
    // Any field order, surrounding white space, nested data, unicode.
    auto r =
        ok("  {\"priority\":3, \"event_data\":{\"a\":{\"b\":[1,2,{\"c\":null}]},"
           "\"s\":\"\xc3\xa9\\n\"}, \"event_type\":\"t\"}  ");
    EXPECT_EQ(r.draft.priority, 3);
    EXPECT_EQ(r.draft.type, "t");
    EXPECT_EQ(r.draft.data_json, "{\"a\":{\"b\":[1,2,{\"c\":null}]},\"s\":\"\xc3\xa9\\n\"}");
    // A line ending (the socket splits on \n; a \r may remain).
    EXPECT_EQ(ok("{\"event_type\":\"x\"}\r").draft.type, "x");
}

// data_json is the text of the event_data object as sent (found by a scan of the validated
// line), or its re-serialization when a key is escaped; either way the same JSON value.
TEST_F(request_test, data_json_is_the_objects_own_text) {
    const std::pair<std::string, std::string> cases[] = {
        {R"({"event_type":"x","event_data": {"a" : [1, {"b":"}]\"{["}] } ,"priority":2})",
         R"({"a" : [1, {"b":"}]\"{["}] })"},
        {R"({"event_data":{"n":-1.5e3,"t":true,"z":null},"event_type":"x"})",
         R"({"n":-1.5e3,"t":true,"z":null})"},
        // A string ending in an escaped backslash, then one that is only an escaped quote.
        {R"({"event_type":"x","event_data":{"p":"C:\\dir\\","q":"\""},"priority":1})",
         R"({"p":"C:\\dir\\","q":"\""})"},
        // Duplicate keys: the last event_data wins, as the field loop keeps the last.
        {R"({"event_type":"x","event_data":{"first":1},"event_data":{"last":2}})",
         R"({"last":2})"},
        // A key named with escapes (here event_type) does not confuse the scan.
        {R"({"event\u005ftype":"x","event_data":{"k":"v"}})", R"({"k":"v"})"},
        // An escaped event_data key is recognised; its value is kept as sent too.
        {R"({"event_type":"x","event\u005fdata":{ "k" : 1 }})", R"({ "k" : 1 })"},
        {"{\"event_type\":\"x\",\"event_data\":{\"tab\":\"a\\tb\"}\t}\r",
         R"({"tab":"a\tb"})"},
    };
    for (const auto& [line, data] : cases) EXPECT_EQ(ok(line).draft.data_json, data) << line;
}

TEST_F(request_test, parser_is_reusable_after_errors) {
    EXPECT_FALSE(parser.parse("{").ok());
    EXPECT_EQ(ok(R"({"event_type":"again"})").draft.type, "again");
    EXPECT_FALSE(parser.parse("[]").ok());
    EXPECT_EQ(ok(R"({"event_type":"and again","event_data":{"k":1}})").draft.data_json,
              R"({"k":1})");
}

TEST_F(request_test, malformed_json) {
    for (const char* line : {"{", "", "not json", R"({"event_type":"x",})",
                             R"({"event_type":"x"} trailing)", R"({"event_type":"x)"}) {
        auto e = error(line);
        EXPECT_EQ(e.rfind("malformed JSON: ", 0), 0u) << line << " -> " << e;
        EXPECT_GT(e.size(), std::string("malformed JSON: ").size()) << line;
    }
}

TEST_F(request_test, non_object) {
    EXPECT_EQ(error("[1,2]"), "request must be a JSON object, got an array");
    EXPECT_EQ(error("42"), "request must be a JSON object, got a number");
    EXPECT_EQ(error(R"("s")"), "request must be a JSON object, got a string");
    EXPECT_EQ(error("null"), "request must be a JSON object, got null");
    EXPECT_EQ(error("true"), "request must be a JSON object, got a boolean");
}

TEST_F(request_test, event_type_missing_empty_or_not_a_string) {
    EXPECT_EQ(error("{}"), R"(missing field "event_type")");
    EXPECT_EQ(error(R"({"event_source":"s","priority":3})"), R"(missing field "event_type")");
    EXPECT_EQ(error(R"({"event_type":""})"), "event_type must be a non-empty string");
    EXPECT_EQ(error(R"({"event_type":5})"), "event_type must be a non-empty string");
    EXPECT_EQ(error(R"({"event_type":null})"), "event_type must be a non-empty string");
}

TEST_F(request_test, priority_errors) {
    const std::string range = "priority must be an integer from 1 to 10 (got ";
    EXPECT_EQ(error(R"({"event_type":"x","priority":0})"), range + "0)");
    EXPECT_EQ(error(R"({"event_type":"x","priority":11})"), range + "11)");
    EXPECT_EQ(error(R"({"event_type":"x","priority":-3})"), range + "-3)");
    EXPECT_EQ(error(R"({"event_type":"x","priority":"5"})"), range + "a string)");
    EXPECT_EQ(error(R"({"event_type":"x","priority":null})"), range + "null)");
    EXPECT_EQ(error(R"({"event_type":"x","priority":true})"), range + "a boolean)");
    auto frac = error(R"({"event_type":"x","priority":2.5})");
    EXPECT_EQ(frac.rfind(range + "2.5", 0), 0u) << frac;
}

TEST_F(request_test, event_data_must_be_an_object) {
    EXPECT_EQ(error(R"({"event_type":"x","event_data":[1]})"),
              "event_data must be a JSON object, got an array");
    EXPECT_EQ(error(R"({"event_type":"x","event_data":"{}"})"),
              "event_data must be a JSON object, got a string");
    EXPECT_EQ(error(R"({"event_type":"x","event_data":null})"),
              "event_data must be a JSON object, got null");
    EXPECT_EQ(error(R"({"event_type":"x","event_data":3})"),
              "event_data must be a JSON object, got a number");
}

TEST_F(request_test, event_source_must_be_a_string) {
    EXPECT_EQ(error(R"({"event_type":"x","event_source":7})"),
              "event_source must be a string, got a number");
}

TEST_F(request_test, unknown_field) {
    auto e = error(R"({"event_type":"x","foo":1})");
    EXPECT_EQ(e.rfind(R"(unknown field "foo")", 0), 0u) << e;
    EXPECT_NE(e.find("event_type, event_source, event_data, priority, ack"), std::string::npos);
    // A long key is shown shortened: the error stays a line, not the key sent.
    const std::string long_key = "colour" + std::string(100000, 'x') + "end";
    e = error(R"({"event_type":"x",")" + long_key + R"(":1})");
    EXPECT_LT(e.size(), 320u);
    EXPECT_EQ(e.rfind(R"(unknown field "colourxx)", 0), 0u) << e;
    EXPECT_NE(e.find(R"(x...x)"), std::string::npos) << e;
    EXPECT_NE(e.find(R"(xxend" (expected)"), std::string::npos) << e;
}

TEST_F(request_test, bad_ack) {
    const std::string msg = R"(ack must be "durable" or "queued")";
    EXPECT_EQ(error(R"({"event_type":"x","ack":"sync"})"), msg);
    EXPECT_EQ(error(R"({"event_type":"x","ack":""})"), msg);
    EXPECT_EQ(error(R"({"event_type":"x","ack":1})"), msg);
    EXPECT_EQ(error(R"({"event_type":"x","ack":null})"), msg);
}

// The matcher parses data_json in place: it needs SIMDJSON_PADDING (64) spare bytes.
TEST_F(request_test, data_json_keeps_padding_capacity) {
    for (const char* line : {R"({"event_type":"x"})", R"({"event_type":"x","event_data":{}})",
                             R"({"event_type":"x","event_data":{"a":1}})",
                             R"({"event_type":"x","event_data":{"long":")"
                             "0123456789012345678901234567890123456789012345678901234567890123"
                             "0123456789012345678901234567890123456789012345678901234567890123"
                             R"("}})"}) {
        auto r = ok(line);
        EXPECT_GE(r.draft.data_json.capacity(), r.draft.data_json.size() + 64) << line;
        // Moving the draft (as intake does) keeps the buffer.
        std::string moved = std::move(r.draft.data_json);
        EXPECT_GE(moved.capacity(), moved.size() + 64) << line;
    }
}

TEST(reply, ok_reply) {
    EXPECT_EQ(ok_reply(123), "{\"ok\":true,\"event_id\":123}\n");
    EXPECT_EQ(ok_reply(9007199254740993), "{\"ok\":true,\"event_id\":9007199254740993}\n");
}

TEST(reply, error_reply_escapes) {
    EXPECT_EQ(error_reply("plain"), "{\"ok\":false,\"error\":\"plain\"}\n");
    EXPECT_EQ(error_reply("say \"hi\"\\ now"),
              "{\"ok\":false,\"error\":\"say \\\"hi\\\"\\\\ now\"}\n");
    EXPECT_EQ(error_reply("a\nb\rc\td"), "{\"ok\":false,\"error\":\"a\\nb\\rc\\td\"}\n");
    EXPECT_EQ(error_reply(std::string_view("\x01\x1f\0", 3)),
              "{\"ok\":false,\"error\":\"\\u0001\\u001f\\u0000\"}\n");
    EXPECT_EQ(error_reply("caf\xc3\xa9 \x7f"), "{\"ok\":false,\"error\":\"caf\xc3\xa9 \x7f\"}\n");
    // The reply is one line whatever the message holds.
    auto r = error_reply("x\ny\n");
    EXPECT_EQ(r.find('\n'), r.size() - 1);
}

TEST(reply, append_json_string_appends) {
    std::string out = "pre:";
    append_json_string(out, "q\"");
    EXPECT_EQ(out, "pre:\"q\\\"\"");
}

}  // namespace
}  // namespace pubsub
