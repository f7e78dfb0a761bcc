// parse_filter: accepted forms and every error message.
#include <gtest/gtest.h>

#include "tests/filter/test_util.h"

namespace pubsub::testing {
namespace {

TEST(FilterParser, EmptyFormsMatchEverything) {
    for (const char* json : {"", "   \n", "{}", "null", " {} "}) {
        filter_ptr f = must_parse(json);
        ASSERT_TRUE(f) << json;
        EXPECT_TRUE(f->matches_everything()) << json;
    }
    EXPECT_FALSE(must_parse(R"({"event_type":"x"})")->matches_everything());
}

TEST(FilterParser, AcceptsEveryForm) {
    must_parse(R"({"event_type":"a","event_source":"b","source":"c","event_data.x.y.z":1})");
    must_parse(R"({"event_data.a":"sales_*","event_data.b":2.5,"event_data.c":true,
                   "event_data.d":null})");
    must_parse(R"({"event_data.a":{"$eq":1,"$ne":2,"$gt":0,"$gte":0,"$lt":5,"$lte":5,
                   "$in":[1,"a",null,true],"$nin":[],"$exists":true,"$prefix":"p",
                   "$suffix":"s","$glob":"*"}})");
    must_parse(R"({"$or":[{"event_type":"a"},{"$and":[{"source":"b"}]}],
                   "$not":{"event_data.q":1}})");
}

struct error_case {
    const char* json;
    const char* message;
};

TEST(FilterParser, ErrorMessagesNameThePathAndTheProblem) {
    const error_case cases[] = {
        {"[1]", "filter must be a JSON object"},
        {"\"x\"", "filter must be a JSON object"},
        {"1", "filter must be a JSON object"},
        {R"({"":1})", "empty field path"},
        {R"({"foo":1})",
         R"(unknown field "foo" (paths start with event_type, event_source, source or event_data.))"},
        {R"({"event_type.x":1})",
         R"(unknown field "event_type.x" (paths start with event_type, event_source, source or event_data.))"},
        {R"({"event_data":1})",
         "event_data: a path needs a key below event_data, e.g. event_data.name"},
        {R"({"event_data..a":1})", "event_data..a: empty key in field path"},
        {R"({"event_data.a.":1})", "event_data.a.: empty key in field path"},
        {R"({"event_data.size":{"$gtx":1}})", R"(event_data.size: unknown operator "$gtx")"},
        {R"({"event_data.size":{"$gt":1,"x":1}})", R"(event_data.size: unknown operator "x")"},
        {R"({"event_data.x":{"$in":1}})", "event_data.x: $in needs an array"},
        {R"({"event_data.x":{"$nin":"a"}})", "event_data.x: $nin needs an array"},
        {R"({"event_data.x":{"$in":[1,[2]]}})", "event_data.x: $in needs an array of scalars"},
        {R"({"event_data.x":{"$nin":[{}]}})", "event_data.x: $nin needs an array of scalars"},
        {R"({"event_data.x":{"$exists":1}})", "event_data.x: $exists needs a boolean"},
        {R"({"event_data.x":{"$prefix":1}})", "event_data.x: $prefix needs a string"},
        {R"({"event_data.x":{"$suffix":null}})", "event_data.x: $suffix needs a string"},
        {R"({"event_data.x":{"$glob":[]}})", "event_data.x: $glob needs a string"},
        {R"({"event_data.x":{"$gt":true}})", "event_data.x: $gt needs a number or a string"},
        {R"({"event_data.x":{"$gte":null}})", "event_data.x: $gte needs a number or a string"},
        {R"({"event_data.x":{"$lt":[1]}})", "event_data.x: $lt needs a number or a string"},
        {R"({"event_data.x":{"$lte":{}}})", "event_data.x: $lte needs a number or a string"},
        {R"({"event_data.x":{"$eq":[1]}})",
         "event_data.x: $eq needs a string, number, boolean or null"},
        {R"({"event_data.x":{"$ne":{}}})",
         "event_data.x: $ne needs a string, number, boolean or null"},
        {R"({"event_data.x":[1,2]})",
         "event_data.x: a condition must be a string, number, boolean, null or an object of "
         "operators"},
        {R"({"event_data.x":{}})", "event_data.x: empty object of operators"},
        {R"({"$or":[]})", "$or needs a non-empty array of filters"},
        {R"({"$or":{}})", "$or needs a non-empty array of filters"},
        {R"({"$and":[]})", "$and needs a non-empty array of filters"},
        {R"({"$not":[]})", "$not needs a filter object"},
        {R"({"$xor":[]})",
         R"(unknown operator "$xor" at the top of a filter (expected $or, $and or $not))"},
        {R"({"$or":[{},1]})", "$or[1]: filter must be a JSON object"},
        {R"({"$or":[{"event_data.x":{"$foo":1}}]})",
         R"($or[0].event_data.x: unknown operator "$foo")"},
        {R"({"$not":{"foo":1}})",
         R"($not: unknown field "foo" (paths start with event_type, event_source, source or event_data.))"},
        {R"({"$not":{"$and":[{"event_data.x":{"$in":3}}]}})",
         "$not.$and[0].event_data.x: $in needs an array"},
        {R"({"$not":{"$or":[]}})", "$not: $or needs a non-empty array of filters"},
    };
    for (const error_case& c : cases) EXPECT_EQ(parse_error(c.json), c.message) << c.json;
}

// A repeated key counts once, at its last occurrence, as jsonb stores the filter: an earlier
// occurrence neither applies nor can make the filter invalid.
TEST(FilterParser, RepeatedKeysKeepTheLastOccurrence) {
    for (const char* f :
         {R"({"event_type":"a","event_type":"b"})", R"({"event_type":{"$foo":1},"event_type":"b"})",
          R"({"event_data.x":{"$gt":1,"$gt":2}})", R"({"event_data.x":{"$gt":[1],"$gt":2}})",
          R"({"$or":[{"event_type":"a","event_type":"b"}]})"}) {
        EXPECT_TRUE(parse_filter(f).ok()) << f;
    }
    auto last = parse_filter(R"({"event_type":"b","event_type":{"$foo":1}})");
    ASSERT_FALSE(last.ok());
    EXPECT_EQ(last.message(), R"(event_type: unknown operator "$foo")");
}

TEST(FilterParser, InvalidJsonIsRefused) {
    EXPECT_EQ(parse_error("{").rfind("invalid JSON: ", 0), 0u);
    EXPECT_EQ(parse_error(R"({"a":1} x)").rfind("invalid JSON: ", 0), 0u);
    EXPECT_EQ(parse_error("{\"event_type\":\"\xff\"}").rfind("invalid JSON: ", 0), 0u);
}

// A number jsonb stores but a filter cannot compare (a value beyond a double's range, 1e400)
// is named as such: the JSON is valid, "invalid JSON" sent operators hunting for a typo.
TEST(FilterParser, NumberBeyondRangeIsNamed) {
    for (const char* json : {R"({"event_data.n":{"$gt":1e400}})"}) {
        std::string e = parse_error(json);
        EXPECT_EQ(e.rfind("invalid JSON", 0), std::string::npos) << e;
        EXPECT_NE(e.find("beyond"), std::string::npos) << e;
    }
}

TEST(FilterParser, DeepNestingIsRefused) {
    std::string json;
    for (int k = 0; k < 40; ++k) json += R"({"$not":)";
    json += "{}";
    for (int k = 0; k < 40; ++k) json += "}";
    EXPECT_EQ(
        parse_error(json).find("filter nested too deeply (limit 32 levels)") != std::string::npos,
        true)
        << parse_error(json);
    std::string ok;
    for (int k = 0; k < 30; ++k) ok += R"({"$not":)";
    ok += "{}";
    for (int k = 0; k < 30; ++k) ok += "}";
    EXPECT_TRUE(parse_filter(ok).ok());
}

}  // namespace
}  // namespace pubsub::testing
