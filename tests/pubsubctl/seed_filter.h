// seed_filter: the example filter of SPEC 5 (issue 3's seed), which the `pubsubctl match` test
// and the end-to-end filter test both route against. A constant; thread-safe.
#pragma once

namespace pubsub::test {

inline constexpr const char* seed_filter =
    R"({"event_data.config_name": "sales_*", "event_data.records_loaded": {"$gt": 0}})";

}  // namespace pubsub::test
