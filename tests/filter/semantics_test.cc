// The language's semantics, each case checked through both the reference interpreter and the
// compiled matcher (test_util.h insists they agree).
#include <gtest/gtest.h>

#include "tests/filter/test_util.h"

namespace pubsub::testing {
namespace {

TEST(FilterSemantics, TopLevelFields) {
    test_event ev{"import_complete", "generic_import:42", R"({"config_name":"sales_eu_daily"})"};
    EXPECT_TRUE(matches(R"({"event_type":"import_complete"})", ev));
    EXPECT_FALSE(matches(R"({"event_type":"file_received"})", ev));
    EXPECT_TRUE(matches(R"({"event_source":"generic_import:42"})", ev));
    EXPECT_TRUE(matches(R"({"source":"generic_import:*"})", ev));
    EXPECT_FALSE(matches(R"({"source":"generic_import:4"})", ev));
    EXPECT_TRUE(matches(R"({})", ev));
    EXPECT_TRUE(
        matches(R"({"event_data.config_name":"sales_eu_daily","source":{"$prefix":"gen"}})", ev));
    EXPECT_FALSE(matches(R"({"event_data.config_name":"sales_eu_daily","source":"x"})", ev));
}

TEST(FilterSemantics, EqualityNeedsTheSameType) {
    EXPECT_TRUE(matches_data(R"({"event_data.x":1})", R"({"x":1})"));
    EXPECT_TRUE(matches_data(R"({"event_data.x":1})", R"({"x":1.0})"));
    EXPECT_TRUE(matches_data(R"({"event_data.x":1.0})", R"({"x":1})"));
    EXPECT_TRUE(matches_data(R"({"event_data.x":100})", R"({"x":1e2})"));
    EXPECT_TRUE(matches_data(R"({"event_data.x":0})", R"({"x":-0.0})"));
    EXPECT_FALSE(matches_data(R"({"event_data.x":1})", R"({"x":"1"})"));
    EXPECT_FALSE(matches_data(R"({"event_data.x":"1"})", R"({"x":1})"));
    EXPECT_FALSE(matches_data(R"({"event_data.x":true})", R"({"x":1})"));
    EXPECT_TRUE(matches_data(R"({"event_data.x":true})", R"({"x":true})"));
    EXPECT_FALSE(matches_data(R"({"event_data.x":false})", R"({"x":true})"));
    EXPECT_TRUE(matches_data(R"({"event_data.x":null})", R"({"x":null})"));
    EXPECT_FALSE(matches_data(R"({"event_data.x":null})", R"({})"));
    EXPECT_FALSE(matches_data(R"({"event_data.x":null})", R"({"x":0})"));
    EXPECT_TRUE(matches_data(R"({"event_data.x":1.5})", R"({"x":1.5})"));
    EXPECT_FALSE(matches_data(R"({"event_data.x":1.5})", R"({"x":1})"));
}

TEST(FilterSemantics, IntegersAreExactTo64Bits) {
    EXPECT_FALSE(
        matches_data(R"({"event_data.x":9007199254740993})", R"({"x":9007199254740992.0})"));
    EXPECT_FALSE(
        matches_data(R"({"event_data.x":9007199254740992.0})", R"({"x":9007199254740993})"));
    EXPECT_TRUE(matches_data(R"({"event_data.x":9007199254740993})", R"({"x":9007199254740993})"));
    EXPECT_TRUE(matches_data(R"({"event_data.x":{"$gt":9007199254740992.0}})",
                             R"({"x":9007199254740993})"));
    EXPECT_TRUE(
        matches_data(R"({"event_data.x":18446744073709551615})", R"({"x":18446744073709551615})"));
    EXPECT_FALSE(
        matches_data(R"({"event_data.x":18446744073709551615})", R"({"x":18446744073709551614})"));
    EXPECT_TRUE(matches_data(R"({"event_data.x":{"$gt":9223372036854775807}})",
                             R"({"x":9223372036854775808})"));
    EXPECT_TRUE(matches_data(R"({"event_data.x":{"$lt":-9223372036854775807}})",
                             R"({"x":-9223372036854775808})"));
    EXPECT_TRUE(matches_data(R"({"event_data.x":{"$lt":1e300}})", R"({"x":18446744073709551615})"));
    EXPECT_TRUE(
        matches_data(R"({"event_data.x":{"$gt":-1e300}})", R"({"x":-9223372036854775808})"));
    EXPECT_TRUE(matches_data(R"({"event_data.x":{"$gt":2.5,"$lt":3}})", R"({"x":2.75})"));
    EXPECT_TRUE(
        matches_data(R"({"event_data.x":9223372036854775808})", R"({"x":9223372036854775808.0})"));
    EXPECT_TRUE(
        matches_data(R"({"event_data.x":{"$gt":1e19}})", R"({"x":12345678901234567890.5})"));
    // Integers beyond 64 bits: the nearest double, in a filter as in an event (jsonb stores a
    // filter's 1e20 as 100000000000000000000, so the daemon reads such literals back).
    EXPECT_TRUE(matches_data(R"({"event_data.x":{"$gt":100000000000000000000}})", R"({"x":1e21})"));
    EXPECT_FALSE(
        matches_data(R"({"event_data.x":{"$gt":100000000000000000000}})", R"({"x":1e19})"));
    EXPECT_TRUE(matches_data(
        R"({"event_data.x":-18446744073709551617,"event_data.s":"9999999999999999999999"})",
        R"({"x":-18446744073709551617,"s":"9999999999999999999999"})"));
    EXPECT_TRUE(matches_data(R"({"event_data.y":1,"event_data.x":{"$gt":1.8e19}})",
                             R"({"y":1,"x":18446744073709551616})"));
    EXPECT_TRUE(matches_data(R"({"event_data.x":1e20})", R"({"x":100000000000000000000})"));
    // Beyond double's range (jsonb stores them): +-infinity and 0, and the other fields of the
    // event are still seen.
    EXPECT_TRUE(
        matches_data(R"({"event_data.y":1,"event_data.x":{"$gt":1e308}})", R"({"x":1e400,"y":1})"));
    EXPECT_TRUE(matches_data(R"({"event_data.y":1,"event_data.x":{"$lt":-1e308}})",
                             R"({"x":-1e400,"y":1})"));
    EXPECT_TRUE(matches_data(R"({"event_data.y":1,"event_data.x":0})", R"({"x":1e-400,"y":1})"));
    EXPECT_FALSE(matches_data(R"({"event_data.x":1})", R"({"x":1e400,"y":1})"));
    // Small numbers beside a big one route as before.
    EXPECT_TRUE(
        matches_data(R"({"event_data.n":5})", R"({"big":123456789012345678901234567890,"n":5})"));
    // -2^63-1 rounds to the double -2^63, which is exactly INT64_MIN.
    EXPECT_TRUE(
        matches_data(R"({"event_data.x":-9223372036854775808})", R"({"x":-9223372036854775809})"));
}

TEST(FilterSemantics, Ordering) {
    EXPECT_TRUE(matches_data(R"({"event_data.n":{"$gt":10}})", R"({"n":11})"));
    EXPECT_FALSE(matches_data(R"({"event_data.n":{"$gt":10}})", R"({"n":10})"));
    EXPECT_TRUE(matches_data(R"({"event_data.n":{"$gte":10}})", R"({"n":10})"));
    EXPECT_TRUE(matches_data(R"({"event_data.n":{"$lt":10}})", R"({"n":9.99})"));
    EXPECT_FALSE(matches_data(R"({"event_data.n":{"$lt":10}})", R"({"n":10})"));
    EXPECT_TRUE(matches_data(R"({"event_data.n":{"$lte":10}})", R"({"n":10.0})"));
    EXPECT_TRUE(matches_data(R"({"event_data.s":{"$gt":"b"}})", R"({"s":"c"})"));
    EXPECT_FALSE(matches_data(R"({"event_data.s":{"$gt":"b"}})", R"({"s":"a"})"));
    EXPECT_TRUE(matches_data(R"({"event_data.s":{"$lte":"b"}})", R"({"s":"b"})"));
    // Mismatched types fail the condition, in both directions.
    EXPECT_FALSE(matches_data(R"({"event_data.n":{"$gt":1}})", R"({"n":"5"})"));
    EXPECT_FALSE(matches_data(R"({"event_data.n":{"$lt":"5"}})", R"({"n":1})"));
    EXPECT_FALSE(matches_data(R"({"event_data.n":{"$gte":0}})", R"({"n":true})"));
    EXPECT_FALSE(matches_data(R"({"event_data.n":{"$lte":0}})", R"({"n":null})"));
    EXPECT_FALSE(matches_data(R"({"event_data.n":{"$lte":0}})", R"({"n":{}})"));
}

TEST(FilterSemantics, NotEqualAndNotIn) {
    EXPECT_TRUE(matches_data(R"({"event_data.x":{"$ne":1}})", R"({"x":2})"));
    EXPECT_FALSE(matches_data(R"({"event_data.x":{"$ne":1}})", R"({"x":1.0})"));
    EXPECT_TRUE(matches_data(R"({"event_data.x":{"$ne":1}})", R"({"x":"1"})"));
    EXPECT_TRUE(matches_data(R"({"event_data.x":{"$ne":1}})", R"({})"));
    EXPECT_TRUE(matches_data(R"({"event_data.x":{"$nin":[1,2]}})", R"({"x":3})"));
    EXPECT_FALSE(matches_data(R"({"event_data.x":{"$nin":[1,2]}})", R"({"x":2})"));
    EXPECT_TRUE(matches_data(R"({"event_data.x":{"$nin":[1,2]}})", R"({})"));
    EXPECT_TRUE(matches_data(R"({"event_data.x":{"$nin":[]}})", R"({"x":1})"));
}

TEST(FilterSemantics, InList) {
    EXPECT_TRUE(matches_data(R"({"event_data.x":{"$in":[1,"a",null]}})", R"({"x":"a"})"));
    EXPECT_TRUE(matches_data(R"({"event_data.x":{"$in":[1,"a",null]}})", R"({"x":null})"));
    EXPECT_TRUE(matches_data(R"({"event_data.x":{"$in":[1,"a",null]}})", R"({"x":1.0})"));
    EXPECT_FALSE(matches_data(R"({"event_data.x":{"$in":[1,"a",null]}})", R"({"x":"1"})"));
    EXPECT_FALSE(matches_data(R"({"event_data.x":{"$in":[1]}})", R"({})"));
    EXPECT_FALSE(matches_data(R"({"event_data.x":{"$in":[]}})", R"({"x":1})"));
}

TEST(FilterSemantics, Exists) {
    EXPECT_TRUE(matches_data(R"({"event_data.x":{"$exists":true}})", R"({"x":null})"));
    EXPECT_TRUE(matches_data(R"({"event_data.x":{"$exists":true}})", R"({"x":{}})"));
    EXPECT_TRUE(matches_data(R"({"event_data.x":{"$exists":true}})", R"({"x":[]})"));
    EXPECT_FALSE(matches_data(R"({"event_data.x":{"$exists":true}})", R"({"y":1})"));
    EXPECT_TRUE(matches_data(R"({"event_data.x":{"$exists":false}})", R"({"y":1})"));
    EXPECT_FALSE(matches_data(R"({"event_data.x":{"$exists":false}})", R"({"x":false})"));
    EXPECT_TRUE(matches_data(R"({"event_data.a.b":{"$exists":false}})", R"({"a":1})"));
}

TEST(FilterSemantics, MissingFieldsFailAllButExistsFalseNeNin) {
    const char* data = R"({"other":1})";
    for (const char* cond :
         {R"("x")", "1", "null", "true", R"({"$eq":1})", R"({"$gt":0})", R"({"$lt":0})",
          R"({"$gte":0})", R"({"$lte":0})", R"({"$in":[1]})", R"({"$prefix":""})",
          R"({"$suffix":""})", R"({"$glob":"*"})", R"("*")", R"({"$exists":true})"}) {
        EXPECT_FALSE(matches_data(std::string(R"({"event_data.x":)") + cond + "}", data)) << cond;
    }
    for (const char* cond : {R"({"$ne":1})", R"({"$nin":[1]})", R"({"$exists":false})"}) {
        EXPECT_TRUE(matches_data(std::string(R"({"event_data.x":)") + cond + "}", data)) << cond;
    }
}

TEST(FilterSemantics, PrefixSuffixGlobOnlyOnStrings) {
    EXPECT_TRUE(matches_data(R"({"event_data.p":{"$prefix":"/in/"}})", R"({"p":"/in/a.csv"})"));
    EXPECT_FALSE(matches_data(R"({"event_data.p":{"$prefix":"/in/"}})", R"({"p":"/out/a"})"));
    EXPECT_TRUE(matches_data(R"({"event_data.p":{"$prefix":""}})", R"({"p":""})"));
    EXPECT_FALSE(matches_data(R"({"event_data.p":{"$prefix":""}})", R"({"p":1})"));
    EXPECT_TRUE(matches_data(R"({"event_data.p":{"$suffix":".csv"}})", R"({"p":"/in/a.csv"})"));
    EXPECT_FALSE(matches_data(R"({"event_data.p":{"$suffix":".csv"}})", R"({"p":"csv"})"));
    EXPECT_FALSE(matches_data(R"({"event_data.p":{"$suffix":"1"}})", R"({"p":1})"));
    EXPECT_FALSE(matches_data(R"({"event_data.p":{"$glob":"*"}})", R"({"p":true})"));
    EXPECT_FALSE(matches_data(R"({"event_data.p":"*"})", R"({"p":null})"));
}

TEST(FilterSemantics, Globs) {
    EXPECT_TRUE(matches_data(R"({"event_data.c":"sales_*"})", R"({"c":"sales_eu_daily"})"));
    EXPECT_TRUE(matches_data(R"({"event_data.c":"sales_*"})", R"({"c":"sales_"})"));
    EXPECT_FALSE(matches_data(R"({"event_data.c":"sales_*"})", R"({"c":"sale"})"));
    EXPECT_TRUE(matches_data(R"({"event_data.c":"*_daily"})", R"({"c":"sales_eu_daily"})"));
    EXPECT_TRUE(matches_data(R"({"event_data.c":"*eu*"})", R"({"c":"sales_eu_daily"})"));
    EXPECT_FALSE(matches_data(R"({"event_data.c":"*us*"})", R"({"c":"sales_eu_daily"})"));
    EXPECT_TRUE(matches_data(R"({"event_data.c":"s?les_*_d*y"})", R"({"c":"sales_eu_daily"})"));
    EXPECT_TRUE(matches_data(R"({"event_data.p":"/in/*.csv"})", R"({"p":"/in/a/b.csv"})"));
    EXPECT_TRUE(matches_data(R"({"event_data.c":"a*a*a*b"})", R"({"c":"aaaaaaaab"})"));
    EXPECT_FALSE(matches_data(R"({"event_data.c":"a*a*a*b"})", R"({"c":"aaaaaaaa"})"));
    EXPECT_TRUE(matches_data(R"({"event_data.c":"**"})", R"({"c":""})"));
    EXPECT_FALSE(matches_data(R"({"event_data.c":"?"})", R"({"c":""})"));
    // ? is one UTF-8 character, not one byte.
    EXPECT_TRUE(matches_data(R"({"event_data.c":"caf?"})", R"({"c":"café"})"));
    EXPECT_FALSE(matches_data(R"({"event_data.c":"caf??"})", R"({"c":"café"})"));
    EXPECT_TRUE(matches_data(R"({"event_data.c":{"$glob":"?€"}})", R"({"c":"€€"})"));
}

TEST(FilterSemantics, GlobEscapes) {
    // "a\*b" has no unescaped wildcard: equality with a*b.
    EXPECT_TRUE(matches_data(R"({"event_data.c":"a\\*b"})", R"({"c":"a*b"})"));
    EXPECT_FALSE(matches_data(R"({"event_data.c":"a\\*b"})", R"({"c":"axb"})"));
    EXPECT_TRUE(matches_data(R"({"event_data.c":"a\\?"})", R"({"c":"a?"})"));
    EXPECT_TRUE(matches_data(R"({"event_data.c":"a\\\\b"})", R"({"c":"a\\b"})"));
    EXPECT_TRUE(matches_data(R"({"event_data.c":"a\\b"})", R"({"c":"a\\b"})"));
    EXPECT_TRUE(matches_data(R"({"event_data.c":"a\\**"})", R"({"c":"a*xyz"})"));
    EXPECT_FALSE(matches_data(R"({"event_data.c":"a\\**"})", R"({"c":"axyz"})"));
    EXPECT_TRUE(matches_data(R"({"event_data.c":{"$glob":"\\?*"}})", R"({"c":"?x"})"));
    // $eq is never a glob.
    EXPECT_TRUE(matches_data(R"({"event_data.c":{"$eq":"a*"}})", R"({"c":"a*"})"));
    EXPECT_FALSE(matches_data(R"({"event_data.c":{"$eq":"a*"}})", R"({"c":"ab"})"));
    EXPECT_TRUE(matches_data(R"({"event_data.c":{"$eq":"a\\*"}})", R"({"c":"a\\*"})"));
}

TEST(FilterSemantics, ArraysMatchAnyElement) {
    const char* data = R"({"tags":["eu","daily",3,null,{"x":1},[4]]})";
    EXPECT_TRUE(matches_data(R"({"event_data.tags":"daily"})", data));
    EXPECT_TRUE(matches_data(R"({"event_data.tags":3})", data));
    EXPECT_TRUE(matches_data(R"({"event_data.tags":null})", data));
    EXPECT_FALSE(matches_data(R"({"event_data.tags":4})", data));
    EXPECT_TRUE(matches_data(R"({"event_data.tags":{"$gt":2}})", data));
    EXPECT_TRUE(matches_data(R"({"event_data.tags":"d*"})", data));
    EXPECT_TRUE(matches_data(R"({"event_data.tags":{"$in":["x","eu"]}})", data));
    EXPECT_FALSE(matches_data(R"({"event_data.tags":{"$ne":"eu"}})", data));
    EXPECT_TRUE(matches_data(R"({"event_data.tags":{"$ne":"us"}})", data));
    EXPECT_FALSE(matches_data(R"({"event_data.tags":{"$nin":["us",3]}})", data));
    EXPECT_TRUE(matches_data(R"({"event_data.tags":{"$nin":["us",4]}})", data));
    EXPECT_FALSE(matches_data(R"({"event_data.tags.x":1})", data));  // no stepping into arrays
    // [] exists, equals nothing, passes $ne.
    EXPECT_FALSE(matches_data(R"({"event_data.t":1})", R"({"t":[]})"));
    EXPECT_TRUE(matches_data(R"({"event_data.t":{"$ne":1}})", R"({"t":[]})"));
    EXPECT_TRUE(matches_data(R"({"event_data.t":{"$exists":true}})", R"({"t":[]})"));
    // Every element may satisfy a different condition of the same field.
    EXPECT_TRUE(matches_data(R"({"event_data.n":{"$gt":5,"$lt":2}})", R"({"n":[1,9]})"));
}

TEST(FilterSemantics, NestedPathsAndObjects) {
    const char* data = R"({"a":{"b":{"c":"deep"},"n":2},"x":{"y":1}})";
    EXPECT_TRUE(matches_data(R"({"event_data.a.b.c":"deep"})", data));
    EXPECT_TRUE(matches_data(R"({"event_data.a.n":2,"event_data.x.y":1})", data));
    EXPECT_FALSE(matches_data(R"({"event_data.a.b.d":"deep"})", data));
    EXPECT_FALSE(matches_data(R"({"event_data.a.b.c.d":{"$exists":true}})", data));
    EXPECT_TRUE(matches_data(R"({"event_data.a":{"$exists":true,"$ne":1}})", data));
    EXPECT_FALSE(matches_data(R"({"event_data.a":{"$eq":null}})", data));
    EXPECT_TRUE(matches_data(R"({"event_data.a":{"$exists":true},"event_data.a.b.c":"d*"})", data));
}

// The last duplicate counts, as jsonb keeps it: routing agrees with the table.
TEST(FilterSemantics, KeysAreUnescapedAndLastDuplicateWins) {
    EXPECT_TRUE(matches_data(R"({"event_data.ab":1})", R"({"a\u0062":1})"));
    EXPECT_FALSE(matches_data(R"({"event_data.k":1})", R"({"k":1,"k":2})"));
    EXPECT_TRUE(matches_data(R"({"event_data.k":2})", R"({"k":1,"k":2})"));
    EXPECT_TRUE(matches_data(R"({"event_data.k.z":2})", R"({"k":{"y":1},"k":{"z":2}})"));
    // What the earlier occurrence held below it is gone, whatever the later one is.
    EXPECT_FALSE(
        matches_data(R"({"event_data.k.y":{"$exists":true}})", R"({"k":{"y":1},"k":{"z":2}})"));
    EXPECT_FALSE(matches_data(R"({"event_data.k.y":1})", R"({"k":{"y":1},"k":5})"));
    EXPECT_TRUE(
        matches_data(R"({"event_data.k":{"$exists":true,"$ne":5}})", R"({"k":5,"k":{"y":1}})"));
    EXPECT_TRUE(matches_data(R"({"event_data.k":3})", R"({"k":[1,2],"k":[3],"j":0})"));
    EXPECT_FALSE(matches_data(R"({"event_data.k":1})", R"({"k":[1,2],"k":[3],"j":0})"));
    EXPECT_TRUE(matches_data(R"({"event_data.o.k":2})", R"({"o":{"k":1,"k":2}})"));
    EXPECT_TRUE(matches_data(R"({"event_data.s":"é\n"})", R"({"s":"\u00e9\n"})"));
    // Keys whose JSON text differs from the key (quotes, backslashes) and prefixes of keys.
    EXPECT_TRUE(matches_data(R"({"event_data.a\"b":1})", R"({"a\"b":1})"));
    EXPECT_TRUE(matches_data(R"({"event_data.a\\n":1})", R"({"a\\n":1})"));
    EXPECT_FALSE(matches_data(R"({"event_data.a\\n":1})", R"({"a\n":1})"));
    EXPECT_FALSE(matches_data(R"({"event_data.ab":1})", R"({"abc":1,"a":1})"));
    EXPECT_TRUE(matches_data(R"({"event_data.ab":1})", R"({"abc":2,"a":2,"ab":1})"));
    EXPECT_TRUE(matches_data(R"({"event_data.abc":2})", R"({"ab\u0063":1,"abc":2})"));
    EXPECT_TRUE(matches_data(R"({"event_data.abc":2})", R"({"abc":1,"ab\u0063":2})"));
}

// A filter that repeats a key means what jsonb stores of it: the last occurrence, at every level.
TEST(FilterSemantics, FiltersRepeatingAKeyKeepTheLastOccurrence) {
    EXPECT_TRUE(matches_data(R"({"event_data.a":1,"event_data.a":2})", R"({"a":2})"));
    EXPECT_FALSE(matches_data(R"({"event_data.a":1,"event_data.a":2})", R"({"a":1})"));
    EXPECT_TRUE(matches_data(R"({"event_data.a":{"$gt":5,"$gt":1}})", R"({"a":2})"));
    EXPECT_TRUE(matches_data(R"({"event_data.a":{"$in":[1],"$in":[2]}})", R"({"a":2})"));
    EXPECT_TRUE(
        matches_data(R"({"$or":[{"event_data.a":1,"event_data.a":2}],"$or":[{"event_data.a":2}]})",
                     R"({"a":2})"));
    EXPECT_FALSE(
        matches_data(R"({"$or":[{"event_data.a":2}],"$or":[{"event_data.a":1}]})", R"({"a":2})"));
    EXPECT_TRUE(matches_data(R"({"$not":{"event_data.a":2,"event_data.a":1}})", R"({"a":2})"));
    EXPECT_TRUE(
        matches_data(R"({"$and":[{"$not":{"event_data.a":{"$lt":3,"$lt":1}}}]})", R"({"a":2})"));
}

TEST(FilterSemantics, DataThatIsNotAnObjectHasNoFields) {
    for (const char* data : {"", "null", "[1]", "1", "\"x\"", "[{\"x\":1}]"}) {
        EXPECT_TRUE(matches_data(R"({"event_data.x":{"$exists":false}})", data)) << data;
        EXPECT_FALSE(matches_data(R"({"event_data.x":{"$exists":true}})", data)) << data;
    }
    EXPECT_TRUE(matches_data(R"({"event_type":"import_complete"})", "garbage"));
}

TEST(FilterSemantics, Combinators) {
    const char* data = R"({"size":10,"ext":"csv"})";
    EXPECT_TRUE(matches_data(R"({"$or":[{"event_data.size":1},{"event_data.ext":"csv"}]})", data));
    EXPECT_FALSE(matches_data(R"({"$or":[{"event_data.size":1},{"event_data.ext":"x"}]})", data));
    EXPECT_TRUE(
        matches_data(R"({"$and":[{"event_data.size":10},{"event_data.ext":"csv"}]})", data));
    EXPECT_FALSE(matches_data(R"({"$and":[{"event_data.size":10},{"event_data.ext":"x"}]})", data));
    EXPECT_TRUE(matches_data(R"({"$not":{"event_data.ext":"x"}})", data));
    EXPECT_FALSE(matches_data(R"({"$not":{"event_data.ext":"csv"}})", data));
    EXPECT_TRUE(matches_data(R"({"$not":{"$not":{"event_data.ext":"csv"}}})", data));
    EXPECT_FALSE(matches_data(R"({"$not":{}})", data));
    EXPECT_TRUE(matches_data(
        R"({"event_data.size":{"$gte":10},"$or":[{"$not":{"event_data.ext":"csv"}},
            {"$and":[{"event_data.size":{"$lt":11}},{"source":"generic_*"}]}]})",
        data));
    EXPECT_FALSE(
        matches_data(R"({"event_data.size":{"$gte":11},"$or":[{"event_data.ext":"csv"}]})", data));
}

TEST(FilterExplain, NamesTheFirstFailedCondition) {
    filter_ptr f = must_parse(R"({"event_data.size":{"$gt":1000},"event_data.name":"*.csv"})");
    std::string data = R"({"size":10,"name":"a.txt"})";
    event_view ev{"file_received", "file_watcher:/in", data};
    EXPECT_EQ(explain_mismatch(*f, ev).value_or(""),
              R"(event_data.size: {"$gt":1000} failed, value 10)");
    data = R"({"size":2000,"name":"a.txt"})";
    ev.data_json = data;
    EXPECT_EQ(explain_mismatch(*f, ev).value_or(""),
              R"(event_data.name: {"$glob":"*.csv"} failed, value "a.txt")");
    data = R"({"size":2000,"name":"a.csv"})";
    ev.data_json = data;
    EXPECT_EQ(explain_mismatch(*f, ev), std::nullopt);
    data = R"({"name":["a","b"]})";
    ev.data_json = data;
    EXPECT_EQ(explain_mismatch(*f, ev).value_or(""),
              R"(event_data.size: {"$gt":1000} failed, field missing)");
    f = must_parse(R"({"event_data.name":"*.csv"})");
    EXPECT_EQ(explain_mismatch(*f, ev).value_or(""),
              R"(event_data.name: {"$glob":"*.csv"} failed, values ["a","b"])");
    f = must_parse(R"({"$or":[{"event_type":"x"},{"$not":{"event_data.name":"a"}}]})");
    EXPECT_EQ(explain_mismatch(*f, ev).value_or(""),
              R"($or: no alternative matched (event_type: {"$eq":"x"} failed, value )"
              R"("file_received"; $not: the inner filter matched))");
}

}  // namespace
}  // namespace pubsub::testing
