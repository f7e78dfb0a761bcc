// file_received event fields, the mtime format and ignore patterns: unit tests (no database).
#include <gtest/gtest.h>

#include <simdjson.h>

#include "ingest/file_watch_event.h"
#include "ingest/file_watch_ignore.h"

namespace pubsub {
namespace {

TEST(file_event, mtime_is_iso8601_utc_with_microseconds) {
    EXPECT_EQ(format_utc_us(0), "1970-01-01T00:00:00.000000Z");
    EXPECT_EQ(format_utc_us(1767323045123456), "2026-01-02T03:04:05.123456Z");
    EXPECT_EQ(format_utc_us(-1), "1969-12-31T23:59:59.999999Z");
}

TEST(file_event, draft_has_every_field) {
    auto d = file_received_draft("/in/sales", "/in/sales/2026/q1.tar.gz", 1234, 1767323045123456);
    EXPECT_EQ(d.type, "file_received");
    EXPECT_EQ(d.source, "file_watcher:/in/sales");
    simdjson::dom::parser parser;
    auto doc = parser.parse(d.data_json);
    ASSERT_EQ(doc.error(), simdjson::SUCCESS) << d.data_json;
    auto str = [&](const char* k) { return std::string(std::string_view(doc[k])); };
    EXPECT_EQ(str("path"), "/in/sales/2026/q1.tar.gz");
    EXPECT_EQ(str("name"), "q1.tar.gz");
    EXPECT_EQ(str("directory"), "/in/sales/2026");
    EXPECT_EQ(str("relative_path"), "2026/q1.tar.gz");
    EXPECT_EQ(str("extension"), "gz");
    EXPECT_EQ(int64_t(doc["size"]), 1234);
    EXPECT_EQ(str("mtime"), "2026-01-02T03:04:05.123456Z");
    EXPECT_EQ(int64_t(doc["mtime_us"]), 1767323045123456);
    EXPECT_EQ(str("watch_dir"), "/in/sales");
}

TEST(file_event, names_are_escaped_and_dotless_names_have_no_extension) {
    auto d = file_received_draft("/w", "/w/say \"hi\"\\now", 0, 0);
    simdjson::dom::parser parser;
    auto doc = parser.parse(d.data_json);
    ASSERT_EQ(doc.error(), simdjson::SUCCESS) << d.data_json;
    EXPECT_EQ(std::string_view(doc["name"]), "say \"hi\"\\now");
    EXPECT_EQ(std::string_view(doc["extension"]), "");
    auto e = parser.parse(file_received_draft("/w", "/w/.profile", 0, 0).data_json);
    EXPECT_EQ(std::string_view(e["extension"]), "");
}

TEST(ignore, defaults_skip_temporary_names) {
    ignore_patterns ig;
    EXPECT_TRUE(ig.ignored(".hidden", ".hidden"));
    EXPECT_TRUE(ig.ignored("x.tmp", "a/x.tmp"));
    EXPECT_TRUE(ig.ignored("x.part", "x.part"));
    EXPECT_TRUE(ig.ignored(".x.swp", ".x.swp"));
    EXPECT_FALSE(ig.ignored("x.csv", "a/x.csv"));
    EXPECT_FALSE(ig.ignored("tmp", "tmp"));
}

TEST(ignore, patterns_with_a_slash_match_the_relative_path) {
    ignore_patterns ig({"archive/*", "*.lock"});
    EXPECT_TRUE(ig.ignored("old", "archive/old"));
    EXPECT_FALSE(ig.ignored("old", "x/archive/old"));
    EXPECT_TRUE(ig.ignored("db.lock", "x/db.lock"));
    EXPECT_FALSE(ig.ignored(".hidden", ".hidden"));  // replaced the defaults
}

}  // namespace
}  // namespace pubsub
