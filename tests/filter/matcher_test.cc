// compiled_matcher specifics: grouping by event type, dedup, padding paths, scratch reuse.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "filter/reference.h"
#include "router/event_view.h"
#include "tests/filter/test_util.h"

namespace pubsub::testing {
namespace {

std::vector<std::uint32_t> run(const compiled_matcher& m, const event_view& ev) {
    match_scratch scratch;
    std::vector<std::uint32_t> out;
    m.match(ev, scratch, out);
    std::sort(out.begin(), out.end());
    return out;
}

TEST(CompiledMatcher, GroupsByEventTypeAndStar) {
    compiled_matcher m({
        {0, "import_complete", nullptr},
        {1, "import_complete", must_parse(R"({"event_data.n":{"$gt":5}})")},
        {2, "*", nullptr},
        {3, "*", must_parse(R"({"event_type":"file_*"})")},
        {4, "file_received", must_parse("{}")},
    });
    std::string data = R"({"n":6})";
    EXPECT_EQ(run(m, {"import_complete", "s", data}), (std::vector<std::uint32_t>{0, 1, 2}));
    EXPECT_EQ(run(m, {"file_received", "s", data}), (std::vector<std::uint32_t>{2, 3, 4}));
    EXPECT_EQ(run(m, {"file_other", "s", data}), (std::vector<std::uint32_t>{2, 3}));
    EXPECT_EQ(run(m, {"report_sent", "s", data}), (std::vector<std::uint32_t>{2}));
}

TEST(CompiledMatcher, EmptyMatcherMatchesNothing) {
    compiled_matcher m({});
    EXPECT_TRUE(run(m, {"x", "y", "{}"}).empty());
}

TEST(CompiledMatcher, EachSubscriberAtMostOnce) {
    compiled_matcher m({
        {9, "t", must_parse(R"({"event_data.v":{"$in":[1,2,3,1]}})")},
        {8, "t", must_parse(R"({"event_data.v":{"$gt":0},"event_data.w":{"$exists":true}})")},
        {7, "t", must_parse(R"({"event_data.v":{"$ne":5}})")},
    });
    std::string data = R"({"v":[1,2,3,1],"w":[]})";
    EXPECT_EQ(run(m, {"t", "s", data}), (std::vector<std::uint32_t>{7, 8, 9}));
}

// The hashed indexes keep each subscriber's run in the bucket of every key it is posted under
// ($in: one run per value), several keys to a bucket: buckets of one to hundreds of runs, a
// subscriber proposed through several of its values (fewer and more than 16 candidates),
// against the reference.
TEST(CompiledMatcher, RunsInBucketsOfEveryKeyComeOutOnce) {
    std::mt19937 rng(7);
    auto value = [&] { return std::to_string(rng() % 300); };
    std::vector<matcher_entry> entries;
    for (std::uint32_t s = 0; s < 6000; ++s) {
        std::string f;
        switch (s % 4) {
            case 0:
                f = R"({"event_data.v":{"$in":[)" + value() + "," + value() + "," + value() + "]}}";
                break;
            case 1:
                f = R"({"event_data.v":)" + value() + R"(,"event_data.w":{"$exists":true}})";
                break;
            case 2:
                f = R"({"event_data.w":{"$prefix":"p)" + value() + R"("}})";
                break;
            default:
                f = R"({"event_data.w":"*_)" + value() + R"(_end"})";
        }
        entries.push_back({s, "t", must_parse(f)});
    }
    compiled_matcher m(entries);
    match_scratch scratch;
    for (int e = 0; e < 300; ++e) {
        std::string v = "[";
        for (int k = e % 7; k > 0; --k) v += (v.size() > 1 ? "," : "") + value();
        v += (v.size() > 1 ? "," : "") + value() + "," + value() + "]";
        const std::string data =
            R"({"v":)" + v + R"(,"w":"p)" + value() + "_" + value() + R"(_end"})";
        event_view view{"t", "s", data};
        filter_detail::reference_event ref(view);
        std::vector<std::uint32_t> expected;
        for (const matcher_entry& en : entries) {
            if (filter_detail::reference_match(*en.filter, ref))
                expected.push_back(en.subscriber_index);
        }
        std::vector<std::uint32_t> got;
        m.match(view, scratch, got);
        std::sort(got.begin(), got.end());
        ASSERT_EQ(got, expected) << data;
    }
}

TEST(CompiledMatcher, PaddedAndCopiedPathsAgree) {
    compiled_matcher m({{1, "*", must_parse(R"({"event_data.a":"x*"})")}});
    event e;
    e.type = "t";
    e.data_json = R"({"a":"xyz"})";
    e.data_json.reserve(e.data_json.size() + 64);
    event_view padded = make_event_view(e);
    EXPECT_TRUE(padded.data_padded);
    EXPECT_EQ(run(m, padded), (std::vector<std::uint32_t>{1}));
    event_view copied{e.type, e.source, e.data_json};
    EXPECT_EQ(run(m, copied), (std::vector<std::uint32_t>{1}));
    event small;
    small.data_json = "{}";
    small.data_json.shrink_to_fit();
    EXPECT_FALSE(make_event_view(small).data_padded);
}

TEST(CompiledMatcher, ScratchIsReusableAcrossMatchersAndEvents) {
    compiled_matcher big({{0, "*", must_parse(R"({"event_data.a":1})")},
                          {1, "*", must_parse(R"({"event_data.b.c":2})")},
                          {2, "*", must_parse(R"({"event_data.a":{"$exists":false}})")}});
    compiled_matcher small({{5, "*", must_parse(R"({"event_data.b.c":{"$gte":2}})")}});
    match_scratch scratch;
    std::vector<std::uint32_t> out;
    std::string d1 = R"({"a":1,"b":{"c":2}})", d2 = R"({"b":{"c":3}})";
    for (int round = 0; round < 3; ++round) {
        out.clear();
        big.match({"t", "s", d1}, scratch, out);
        std::sort(out.begin(), out.end());
        EXPECT_EQ(out, (std::vector<std::uint32_t>{0, 1}));
        out.clear();
        small.match({"t", "s", d2}, scratch, out);
        EXPECT_EQ(out, (std::vector<std::uint32_t>{5}));
        out.clear();
        big.match({"t", "s", d2}, scratch, out);
        EXPECT_EQ(out, (std::vector<std::uint32_t>{2}));
    }
}

TEST(CompiledMatcher, SharedAnchorsAndAllIndexKinds) {
    std::vector<matcher_entry> entries;
    const char* filters[] = {
        R"({"event_data.ext":"csv","event_data.name":"sales_*"})",
        R"({"event_data.ext":"csv","event_data.name":"*_2024.csv"})",
        R"({"event_data.ext":"csv","event_data.name":"*2024*"})",
        R"({"event_data.path":{"$prefix":"/in/"},"event_data.size":{"$gt":100}})",
        R"({"event_data.path":{"$suffix":".csv"},"event_data.size":{"$lte":100}})",
        R"({"event_data.size":{"$gte":1000}})",
        R"({"event_data.size":{"$lt":1000}})",
        R"({"event_data.name":{"$exists":true}})",
        R"({"event_data.name":{"$glob":"sales_eu_2024.csv"}})",
        R"({"event_data.size":{"$gt":"a"}})",
    };
    for (std::uint32_t k = 0; k < std::size(filters); ++k) {
        entries.push_back({k, "file_received", must_parse(filters[k])});
    }
    compiled_matcher m(entries);
    std::string data =
        R"({"ext":"csv","name":"sales_eu_2024.csv","path":"/in/sales_eu_2024.csv","size":100})";
    EXPECT_EQ(run(m, {"file_received", "w", data}),
              (std::vector<std::uint32_t>{0, 1, 2, 4, 6, 7, 8}));
}

// The extractor has three readers (a strict scan for easy documents, simdjson's DOM, then
// on-demand for what the DOM refuses); each spelling below sends the same event to another.
TEST(CompiledMatcher, EveryReaderSeesTheSameFields) {
    const std::string deep = std::string(100, '[') + std::string(100, ']');
    const std::vector<std::string> spellings = {
        R"({"a":"x","n":5,"c":{"d":[1,"y",{}]},"e":[]})",
        " \t\n{ \"a\" : \"x\" , \"n\" : 5 , \"c\" : { \"d\" : [ 1 , \"y\" , { } ] } } \r\n",
        R"({"\u0061":"x","n":5,"c":{"d":[1,"\u0079",{}]},"q":"say \"hi\""})",
        R"({"a":"x","n":5.0e0,"c":{"d":[1,"y",{}]},"z":"caf)"
        "\xc3\xa9"
        R"("})",
        R"({"a":"x","n":5,"c":{"d":[1,"y",{}]},"big":123456789012345678901234567890})",
        R"({"\u0061":"x","n":5,"c":{"d":[1,"y"]},"big":-123456789012345678901234567890})",
        R"({"a":"no","a":"x","n":6,"n":5,"c":1,"c":{"d":[1,"y",{}]}})",
        R"({"a":"no","c":{"d":[1,"y",{}]},"a":"x","n":6,"c":{"d":7},"n":5,"c":{"d":[1,"y",{}]}})",
        R"({"\u0061":"no","a":"x","n":6,"c":{"d":7},"n":5,"c":{"d":[1,"y",{}]}})",
        R"({"\u0061":"no","a":"x","n":5,"c":{"d":[1,"y",{}]},"big":1e400})",
        R"({"a":"x","deep":)" + deep + R"(,"n":5,"c":{"d":[1,"y",{}]}})",
    };
    const std::vector<std::string> hold = {
        R"({"event_data.a":"x","event_data.n":5,"event_data.c.d":"y"})",
        R"({"event_data.c.d":1,"event_data.n":{"$gt":4.5,"$lte":5}})",
        R"({"event_data.c":{"$exists":true},"event_data.a":{"$prefix":"x"}})",
        R"({"event_data.zz":{"$exists":false},"event_data.c.d":{"$ne":2}})",
    };
    const std::vector<std::string> fail = {
        R"({"event_data.a":"no"})",
        R"({"event_data.n":6})",
        R"({"event_data.c":1})",
        R"({"event_data.c.d":{"$exists":false}})",
    };
    for (const std::string& data : spellings) {
        test_event ev;
        ev.data = data;
        for (const std::string& f : hold) EXPECT_TRUE(matches(f, ev)) << f << " on " << data;
        for (const std::string& f : fail) EXPECT_FALSE(matches(f, ev)) << f << " on " << data;
    }
    // Not an object: every event_data path is missing, whichever reader looks.
    for (const char* data : {"[1]", "5", "\"s\"", "null", " [ {\"a\":\"x\"} ] "}) {
        test_event ev;
        ev.data = data;
        EXPECT_TRUE(matches(R"({"event_data.a":{"$exists":false}})", ev)) << data;
        EXPECT_FALSE(matches(R"({"event_data.a":"x"})", ev)) << data;
    }
}

}  // namespace
}  // namespace pubsub::testing
