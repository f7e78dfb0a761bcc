// explain_mismatch: the first condition that failed, as `pubsubctl match` prints it.
#include <gtest/gtest.h>

#include "tests/filter/test_util.h"

namespace pubsub::testing {
namespace {

// The explanation for a filter and event_data (type import_complete, source generic_import:42);
// "matches" when the filter holds.
std::string why(std::string_view filter_json, const std::string& data) {
    filter_ptr f = must_parse(filter_json);
    if (!f) return "unparsable";
    event_view ev{"import_complete", "generic_import:42", data};
    return explain_mismatch(*f, ev).value_or("matches");
}

TEST(FilterExplain, SeedFilter) {
    const char* seed =
        R"({"event_data.config_name":"sales_*","event_data.records_loaded":{"$gt":0}})";
    EXPECT_EQ(why(seed, R"({"config_name":"sales_eu","records_loaded":0})"),
              R"(event_data.records_loaded: {"$gt":0} failed, value 0)");
    EXPECT_EQ(why(seed, R"({"config_name":"sales_eu"})"),
              R"(event_data.records_loaded: {"$gt":0} failed, field missing)");
    EXPECT_EQ(why(seed, R"({"config_name":"stock_eu","records_loaded":3})"),
              R"(event_data.config_name: {"$glob":"sales_*"} failed, value "stock_eu")");
    EXPECT_EQ(why(seed, R"({"config_name":"sales_eu","records_loaded":"3"})"),
              R"(event_data.records_loaded: {"$gt":0} failed, value "3")");
    EXPECT_EQ(why(seed, R"({"config_name":"sales_eu","records_loaded":3})"), "matches");
}

TEST(FilterExplain, FiltersWithSeveralConditionsNameTheFirstInFilterOrder) {
    const char* f = R"({"event_data.n":{"$gte":10,"$lt":20},"event_data.s":{"$prefix":"a"}})";
    EXPECT_EQ(why(f, R"({"n":5,"s":"b"})"), R"(event_data.n: {"$gte":10} failed, value 5)");
    EXPECT_EQ(why(f, R"({"n":25,"s":"b"})"), R"(event_data.n: {"$lt":20} failed, value 25)");
    EXPECT_EQ(why(f, R"({"n":15,"s":"b"})"), R"(event_data.s: {"$prefix":"a"} failed, value "b")");
    EXPECT_EQ(why(f, R"({"n":15.5,"s":"ab"})"), "matches");
}

TEST(FilterExplain, NegativeOperatorsAndExists) {
    EXPECT_EQ(why(R"({"event_data.status":{"$ne":"failed"}})", R"({"status":"failed"})"),
              R"(event_data.status: {"$ne":"failed"} failed, value "failed")");
    EXPECT_EQ(why(R"({"event_data.status":{"$ne":"failed"}})", "{}"), "matches");
    EXPECT_EQ(why(R"({"event_data.t":{"$nin":["a",1]}})", R"({"t":[2,1]})"),
              R"(event_data.t: {"$nin":["a",1]} failed, values [2,1])");
    EXPECT_EQ(why(R"({"event_data.t":{"$in":["a",1]}})", R"({"t":[]})"),
              R"(event_data.t: {"$in":["a",1]} failed, values [])");
    EXPECT_EQ(why(R"({"event_data.t":{"$exists":false}})", R"({"t":null})"),
              R"(event_data.t: {"$exists":false} failed, value null)");
    EXPECT_EQ(why(R"({"event_data.t":{"$exists":true}})", R"({"u":1})"),
              R"(event_data.t: {"$exists":true} failed, field missing)");
}

TEST(FilterExplain, ObjectsAndNestedPaths) {
    EXPECT_EQ(why(R"({"event_data.a":1})", R"({"a":{"b":1}})"),
              R"(event_data.a: {"$eq":1} failed, value is an object)");
    EXPECT_EQ(why(R"({"event_data.a.b":1})", R"({"a":"x"})"),
              R"(event_data.a.b: {"$eq":1} failed, field missing)");
    EXPECT_EQ(why(R"({"event_data.a.b":1})", R"({"a":{"b":true}})"),
              R"(event_data.a.b: {"$eq":1} failed, value true)");
    EXPECT_EQ(why(R"({"event_data.a.b":1})", R"({"a":{"b":1.0}})"), "matches");
}

TEST(FilterExplain, EventFieldsAndCombinators) {
    EXPECT_EQ(why(R"({"source":{"$suffix":":7"}})", "{}"),
              R"(source: {"$suffix":":7"} failed, value "generic_import:42")");
    EXPECT_EQ(why(R"({"event_type":"file_*"})", "{}"),
              R"(event_type: {"$glob":"file_*"} failed, value "import_complete")");
    EXPECT_EQ(why(R"({"$and":[{"event_data.a":1},{"event_data.b":2}]})", R"({"a":1,"b":3})"),
              R"(event_data.b: {"$eq":2} failed, value 3)");
    EXPECT_EQ(why(R"({"$or":[{"event_data.a":2},{"event_data.b":{"$lt":0}}]})", R"({"a":1})"),
              R"($or: no alternative matched (event_data.a: {"$eq":2} failed, value 1; )"
              R"(event_data.b: {"$lt":0} failed, field missing))");
    EXPECT_EQ(why(R"({"$not":{"event_data.a":1}})", R"({"a":1})"),
              "$not: the inner filter matched");
    EXPECT_EQ(why("{}", R"({"a":1})"), "matches");
}

}  // namespace
}  // namespace pubsub::testing
