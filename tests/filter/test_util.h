// Helpers for the filter tests: parse-or-fail, and a match that runs both the reference
// interpreter and the compiled matcher and insists they agree.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "filter/filter.h"
#include "filter/matcher.h"

namespace pubsub::testing {

inline filter_ptr must_parse(std::string_view json) {
    result<filter_ptr> r = parse_filter(json);
    EXPECT_TRUE(r.ok()) << json << ": " << (r.ok() ? "" : r.message());
    return r.ok() ? *r : nullptr;
}

inline std::string parse_error(std::string_view json) {
    result<filter_ptr> r = parse_filter(json);
    EXPECT_FALSE(r.ok()) << json << " was accepted";
    return r.ok() ? "" : r.message();
}

struct test_event {
    std::string type = "import_complete";
    std::string source = "generic_import:42";
    std::string data = "{}";
};

// Matches through both paths; records a failure when they disagree.
inline bool matches(std::string_view filter_json, const test_event& ev) {
    filter_ptr f = must_parse(filter_json);
    if (!f) return false;
    event_view view{ev.type, ev.source, ev.data};
    const bool ref = reference_match(*f, view);
    compiled_matcher m({matcher_entry{7, "*", f}});
    match_scratch scratch;
    std::vector<std::uint32_t> out;
    m.match(view, scratch, out);
    const bool compiled = !out.empty();
    EXPECT_EQ(ref, compiled) << "reference and compiled disagree: filter " << filter_json
                             << " data " << ev.data;
    EXPECT_EQ(ref, explain_mismatch(*f, view) == std::nullopt);
    return ref;
}

inline bool matches_data(std::string_view filter_json, std::string data) {
    test_event ev;
    ev.data = std::move(data);
    return matches(filter_json, ev);
}

}  // namespace pubsub::testing
