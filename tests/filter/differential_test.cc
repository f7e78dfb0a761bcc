// Differential test: the compiled matcher against the reference interpreter on random
// filters over a small vocabulary, random events, and matchers built from many subscribers at
// once. The seed is fixed (override with PUBSUB_FILTER_SEED) and printed on failure.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <random>

#include "filter/reference.h"
#include "tests/filter/test_util.h"

namespace pubsub::testing {
namespace {

class generator {
  public:
    explicit generator(std::uint64_t seed) : rng_(seed) {}

    std::string filter(int depth = 0) {
        std::string out = "{";
        int fields = pick(4);
        std::vector<std::string> used;
        for (int k = 0; k < fields; ++k) {
            std::string path = one_of(paths_);
            if (std::find(used.begin(), used.end(), path) != used.end()) continue;
            used.push_back(path);
            out += (out.size() > 1 ? "," : "") + quote(path) + ":" + condition();
        }
        if (depth < 2 && pick(4) == 0) out += sep(out) + combinator(depth);
        return out + "}";
    }

    std::string event_data() {
        std::string out = "{";
        for (const char* key : {"a", "b", "arr", "c", "n"}) {
            if (pick(4) == 0) continue;
            const bool c = std::string(key) == "c";
            out += sep(out) + quote(key) + ":" + (c ? nested() : value());
            // A repeated key (the last occurrence counts), also an object after a scalar, a
            // scalar after an object, and an object after an object.
            if (pick(8) == 0) out += "," + quote(key) + ":" + (c ? nested() : value());
        }
        return out + "}";
    }

    std::string type() { return one_of(types_); }
    std::string source() { return one_of(sources_); }
    std::string event_type_of_subscriber() { return pick(4) == 0 ? "*" : type(); }
    int pick(int n) { return static_cast<int>(rng_() % static_cast<std::uint64_t>(n)); }

  private:
    static std::string sep(const std::string& s) { return s.size() > 1 ? "," : ""; }
    static std::string quote(const std::string& s) { return "\"" + s + "\""; }
    std::string one_of(const std::vector<std::string>& v) { return v[pick(int(v.size()))]; }

    std::string scalar() {
        int k = pick(5);
        return one_of(k < 2 ? strings_ : k < 4 ? numbers_ : literals_);
    }
    std::string value() {
        if (pick(5) == 0) {
            std::string arr = "[";
            for (int k = pick(4); k > 0; --k) arr += (arr.size() > 1 ? "," : "") + scalar();
            return arr + (pick(6) == 0 ? (arr.size() > 1 ? ",{}" : "{}") : "") + "]";
        }
        return pick(12) == 0 ? "{}" : scalar();
    }
    std::string nested() {
        if (pick(3) == 0) return value();
        std::string d = "\"d\":" + value();
        if (pick(6) == 0) d += ",\"d\":" + value();  // a repeated key one level down
        return "{" + d + "}";
    }

    std::string condition() {
        if (pick(3) == 0) return pick(2) ? one_of(globs_) : scalar();
        static const std::vector<std::string> ops = {"$eq",     "$ne",     "$gt",     "$gte",
                                                     "$lt",     "$lte",    "$in",     "$nin",
                                                     "$exists", "$prefix", "$suffix", "$glob"};
        std::string out = "{";
        std::vector<std::string> used;
        for (int k = 1 + pick(2); k > 0; --k) {
            std::string o = one_of(ops);
            if (std::find(used.begin(), used.end(), o) != used.end()) continue;
            used.push_back(o);
            out += sep(out) + quote(o) + ":" + operand(o);
        }
        return out + "}";
    }

    std::string operand(const std::string& o) {
        if (o == "$exists") return pick(2) ? "true" : "false";
        if (o == "$in" || o == "$nin") {
            std::string arr = "[";
            for (int k = pick(4); k > 0; --k) arr += (arr.size() > 1 ? "," : "") + scalar();
            return arr + "]";
        }
        if (o == "$prefix" || o == "$suffix") return one_of(affixes_);
        if (o == "$glob") return one_of(globs_);
        if (o == "$eq" || o == "$ne") return scalar();
        return pick(3) == 0 ? one_of(strings_) : one_of(numbers_);
    }

    std::string combinator(int depth) {
        int k = pick(3);
        if (k == 2) return "\"$not\":" + filter(depth + 1);
        std::string out = k == 0 ? "\"$or\":[" : "\"$and\":[";
        for (int n = 1 + pick(3); n > 0; --n)
            out += (out.back() == '[' ? "" : ",") + filter(depth + 1);
        return out + "]";
    }

    std::mt19937_64 rng_;
    std::vector<std::string> types_ = {"import_complete", "file_received", "report_sent"};
    std::vector<std::string> sources_ = {"generic_import:42", "file_watcher:/in", "x"};
    std::vector<std::string> paths_ = {
        "event_type",     "source",       "event_source",   "event_data.a", "event_data.b",
        "event_data.arr", "event_data.c", "event_data.c.d", "event_data.n", "event_data.zz"};
    std::vector<std::string> strings_ = {"\"\"",
                                         "\"x\"",
                                         "\"sales_eu_daily\"",
                                         "\"sales_us\"",
                                         "\"a*b\"",
                                         "\"caf\u00e9\"",
                                         "\"report.csv\"",
                                         "\"data.csv\"",
                                         "\"import_complete\"",
                                         "\"file_watcher:/in\"",
                                         "\"b\""};
    std::vector<std::string> numbers_ = {"0",
                                         "1",
                                         "-1",
                                         "2",
                                         "100",
                                         "9007199254740993",
                                         "9007199254740992.0",
                                         "9223372036854775807",
                                         "18446744073709551615",
                                         "-9223372036854775808",
                                         "1.0",
                                         "1.5",
                                         "-0.0",
                                         "1e300"};
    std::vector<std::string> literals_ = {"true", "false", "null"};
    std::vector<std::string> globs_ = {"\"sales_*\"",       "\"*.csv\"",  "\"*\"",       "\"?\"",
                                       "\"*_*\"",           "\"caf?\"",   "\"a\\\\*b\"", "\"*e*\"",
                                       "\"s?les_*_daily\"", "\"file_*\"", "\"*:/in\""};
    std::vector<std::string> affixes_ = {"\"\"",  "\"sales\"", "\".csv\"",  "\"a\"",
                                         "\"x\"", "\"file_\"", "\"_daily\""};
};

std::uint64_t seed_from_env() {
    const char* s = std::getenv("PUBSUB_FILTER_SEED");
    return s ? std::strtoull(s, nullptr, 10) : 20240611ULL;
}

TEST(FilterDifferential, CompiledMatcherAgreesWithReference) {
    const std::uint64_t seed = seed_from_env();
    SCOPED_TRACE("seed " + std::to_string(seed) + " (rerun with PUBSUB_FILTER_SEED)");
    generator gen(seed);
    std::size_t pairs = 0, matched = 0;
    match_scratch scratch;
    for (int round = 0; round < 60; ++round) {
        const int subscribers = round % 10 == 0 ? 1 + gen.pick(3) : 100 + gen.pick(200);
        std::vector<matcher_entry> entries;
        std::vector<std::string> texts;
        for (int s = 0; s < subscribers; ++s) {
            texts.push_back(gen.filter());
            entries.push_back({static_cast<std::uint32_t>(s), gen.event_type_of_subscriber(),
                               must_parse(texts.back())});
            ASSERT_TRUE(entries.back().filter) << texts.back();
        }
        compiled_matcher m(entries);
        for (int e = 0; e < 40; ++e) {
            const std::string type = gen.type(), source = gen.source();
            std::string data = gen.event_data();
            event_view view{type, source, data};
            view.data_padded = gen.pick(2) == 0;
            if (view.data_padded) data.reserve(data.size() + 64), view.data_json = data;
            filter_detail::reference_event ref(view);
            std::vector<std::uint32_t> expected, got;
            for (const matcher_entry& en : entries) {
                if ((en.event_type == "*" || en.event_type == type) &&
                    filter_detail::reference_match(*en.filter, ref)) {
                    expected.push_back(en.subscriber_index);
                }
            }
            m.match(view, scratch, got);
            std::sort(got.begin(), got.end());
            pairs += entries.size();
            matched += expected.size();
            if (got == expected) continue;
            for (std::uint32_t s : expected) {
                if (!std::binary_search(got.begin(), got.end(), s)) {
                    ADD_FAILURE() << "missed: filter " << texts[s] << " type " << type << " source "
                                  << source << " data " << data;
                }
            }
            for (std::uint32_t s : got) {
                if (!std::binary_search(expected.begin(), expected.end(), s)) {
                    ADD_FAILURE() << "extra or repeated: filter " << texts[s] << " type " << type
                                  << " source " << source << " data " << data;
                }
            }
            return;
        }
    }
    EXPECT_GE(pairs, 100000u);
    EXPECT_GT(matched, pairs / 100);  // the vocabulary must make matches common enough
    std::printf("differential: %zu filter/event pairs, %zu matches\n", pairs, matched);
}

// Globs of every length (up to several records of tokens, beyond the 15 records a candidate
// prefetches) after string operands of odd and even lengths, so the tokens stored in each
// candidate's run start at every alignment; thousands of subscribers share literal prefixes,
// suffixes and grams, so every glob index proposes many candidates.
TEST(FilterDifferential, GlobsInCandidateRunsAgreeWithReference) {
    std::mt19937_64 rng(seed_from_env());
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };
    const char* pieces[] = {"a", "ab", "_x_", "sales", "q", "\\\\*", "\\\\?", "caf\u00e9", "zz"};
    auto text = [&](bool wild) {
        std::string out;
        for (int k = pick(wild ? 12 : 4) + (wild ? 1 : 0); k > 0; --k) {
            if (wild && pick(3) == 0) out += pick(3) ? "*" : "?";
            out += pieces[pick(9)];
            if (pick(40) == 0) out += std::string(70, 'a');  // a run of many records
        }
        return out;
    };
    std::vector<matcher_entry> entries;
    std::vector<std::string> texts;
    for (std::uint32_t s = 0; s < 1500; ++s) {
        std::string f = "{\"event_data.a\":\"" + text(true) + "*\"";
        if (pick(2)) f += ",\"event_data.b\":{\"$in\":[\"" + text(false) + "\",\"b\"]}";
        if (pick(3) == 0)
            f += ",\"$or\":[{\"event_data.b\":\"*" + text(true) + "\"},{\"event_data.n\":1}]";
        texts.push_back(f + "}");
        entries.push_back({s, "t", must_parse(texts.back())});
        ASSERT_TRUE(entries.back().filter) << texts.back();
    }
    compiled_matcher m(entries);
    match_scratch scratch;
    std::size_t matched = 0;
    for (int e = 0; e < 200; ++e) {
        std::string data = "{\"a\":\"" + text(false) + text(false) + "\",\"b\":\"" + text(false) +
                           "\",\"n\":" + std::to_string(pick(2)) + "}";
        event_view view{"t", "s", data};
        filter_detail::reference_event ref(view);
        std::vector<std::uint32_t> expected, got;
        for (const matcher_entry& en : entries) {
            if (filter_detail::reference_match(*en.filter, ref))
                expected.push_back(en.subscriber_index);
        }
        m.match(view, scratch, got);
        std::sort(got.begin(), got.end());
        ASSERT_EQ(got, expected) << data;
        matched += expected.size();
    }
    std::printf("globs in runs: %zu matches\n", matched);
    EXPECT_GT(matched, 200u);  // the pieces must make matches common
}

}  // namespace
}  // namespace pubsub::testing
