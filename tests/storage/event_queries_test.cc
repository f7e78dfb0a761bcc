// The shared read side (storage/event_queries.h): glob and exact LIKE patterns, and one filter
// listed as the API's JSON page and as pubsubctl's rows.
#include "storage/event_queries.h"

#include <gtest/gtest.h>

#include "tests/support/pg_test_env.h"

namespace pubsub {
namespace {

TEST(like_patterns, glob_and_exact_escape_what_like_would_read_as_wildcards) {
    EXPECT_EQ(like_from_glob("imp_*?"), "imp\\_%_");
    EXPECT_EQ(like_from_glob("100%\\"), "100\\%\\\\");
    EXPECT_EQ(like_exact("a_b%c*"), "a\\_b\\%c*");
}

class event_queries_test : public test::pg_schema_test {
  protected:
    void SetUp() override {
        test::pg_schema_test::SetUp();
        ASSERT_TRUE(conn()
                        .exec("INSERT INTO " + schema() +
                              ".tpubsub_events (event_id, event_type, event_source, event_data, "
                              "status, priority) VALUES (1, 'imp_a', 's', '{}', 'pending', 5), "
                              "(2, 'impXa', 's', '{}', 'failed', 9), "
                              "(3, 'other', 'web', '{}', 'pending', 1), "
                              "(4, 'imp_b', 'web', '{}', 'completed', 5)")
                        .ok());
    }
    std::vector<std::string> ids(const pg::query_result& r) {
        std::vector<std::string> out;
        for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.get(i, 0));
        return out;
    }
};

TEST_F(event_queries_test, one_filter_lists_rows_and_pages) {
    event_filter f;
    f.type_like = like_from_glob("imp_*");
    auto rows = list_events_rows(conn(), schema(), f);
    ASSERT_TRUE(rows.ok()) << rows.message();
    EXPECT_EQ(ids(*rows), (std::vector<std::string>{"4", "1"}));
    EXPECT_EQ(rows->name(0), "event_id");
    EXPECT_EQ(rows->columns(), 10);
    EXPECT_EQ(rows->name(9), "run_at");

    f = {};
    f.statuses = {"pending", "failed"};
    f.limit = 2;
    auto page = list_events_json(conn(), schema(), f);
    ASSERT_TRUE(page.ok()) << page.message();
    EXPECT_EQ(page->next_before, 2);  // full page: ids 3 and 2
    f.before = 2;
    page = list_events_json(conn(), schema(), f);
    ASSERT_TRUE(page.ok()) << page.message();
    EXPECT_EQ(page->next_before, std::nullopt);  // id 1 alone
    EXPECT_NE(page->events_json.find("\"event_id\":1"), std::string::npos) << page->events_json;

    f = {};
    f.sort = event_filter::order::queue;
    f.source_like = like_exact("web");
    rows = list_events_rows(conn(), schema(), f);
    ASSERT_TRUE(rows.ok()) << rows.message();
    EXPECT_EQ(ids(*rows), (std::vector<std::string>{"4", "3"}));  // priority 5, then 1

    f = {};
    f.statuses = {"pending,failed"};  // one status with a comma, not two
    rows = list_events_rows(conn(), schema(), f);
    ASSERT_TRUE(rows.ok()) << rows.message();
    EXPECT_EQ(rows->rows(), 0);
}

TEST_F(event_queries_test, show_and_follow) {
    auto detail = show_event_json(conn(), schema(), 2);
    ASSERT_TRUE(detail.ok()) << detail.message();
    ASSERT_TRUE(*detail);
    EXPECT_NE((*detail)->event_json.find("\"status\":\"failed\""), std::string::npos);
    auto absent = show_event_json(conn(), schema(), 99);
    ASSERT_TRUE(absent.ok()) << absent.message();
    EXPECT_FALSE(*absent);
    auto row = show_event_row(conn(), schema(), 2, true);
    ASSERT_TRUE(row.ok()) << row.message();
    ASSERT_EQ(row->rows(), 1);
    EXPECT_EQ(row->name(row->columns() - 1), "deliveries");

    auto newest = newest_event_id(conn(), schema());
    ASSERT_TRUE(newest.ok()) << newest.message();
    EXPECT_EQ(*newest, 4);
    auto after = events_after(conn(), schema(), 1, like_from_glob("imp*"), 10);
    ASSERT_TRUE(after.ok()) << after.message();
    EXPECT_EQ(ids(*after), (std::vector<std::string>{"2", "4"}));
    auto some = events_by_id(conn(), schema(), {3, 1});
    ASSERT_TRUE(some.ok()) << some.message();
    EXPECT_EQ(ids(*some), (std::vector<std::string>{"1", "3"}));
}

// A search in a time range lists the newest event_id first and pages with `before` (the
// events here have no chunk: they are the unsummarised tail, read directly).
TEST_F(event_queries_test, time_ranged_search_keeps_the_newest_first_answers) {
    ASSERT_TRUE(conn()
                    .exec("INSERT INTO " + schema() +
                          ".tpubsub_events (event_id, event_type, event_source, status, "
                          "created_at) SELECT 100 + k, CASE WHEN k % 3 = 0 THEN 'imp_x' ELSE "
                          "'rep_x' END, 'h' || (k % 2), 'completed', timestamptz "
                          "'2026-01-01 00:00:00+00' + make_interval(mins => k) FROM "
                          "generate_series(1, 60) k")
                    .ok());
    event_filter f;
    f.type_like = like_from_glob("*_x");
    f.source_like = like_from_glob("h1");
    f.since = "2026-01-01 00:10:00+00";  // k >= 10
    f.until = "2026-01-01 00:40:00+00";  // k < 40
    f.limit = 5;
    auto rows = list_events_rows(conn(), schema(), f);
    ASSERT_TRUE(rows.ok()) << rows.message();
    EXPECT_EQ(ids(*rows), (std::vector<std::string>{"139", "137", "135", "133", "131"}));
    auto page = list_events_json(conn(), schema(), f);
    ASSERT_TRUE(page.ok()) << page.message();
    EXPECT_EQ(page->next_before, 131);
    f.before = 131;
    f.limit = 100;
    rows = list_events_rows(conn(), schema(), f);
    ASSERT_TRUE(rows.ok()) << rows.message();
    EXPECT_EQ(ids(*rows), (std::vector<std::string>{"129", "127", "125", "123", "121", "119", "117",
                                                    "115", "113", "111"}));
}

TEST_F(event_queries_test, an_exact_type_or_source_matches_its_text_alone) {
    // Exact filters go to the database as equalities: the LIKE escapes must come off exactly.
    ASSERT_TRUE(conn()
                    .exec("INSERT INTO " + schema() +
                          ".tpubsub_events (event_id, event_type, event_source, status) VALUES "
                          "(10, 'a_b', 'x%y', 'completed'), (11, 'aXb', 'xZy', 'completed'), "
                          "(12, 'c\\d', 'x_', 'completed'), (13, 'a_b', 'x_', 'completed')")
                    .ok());
    auto listed = [&](event_filter f) {
        f.since = "2000-01-01";  // a time range, as the page's search has
        auto rows = list_events_rows(conn(), schema(), f);
        EXPECT_TRUE(rows.ok()) << rows.message();
        return rows.ok() ? ids(*rows) : std::vector<std::string>{};
    };
    event_filter f;
    f.type_like = like_exact("a_b");
    EXPECT_EQ(listed(f), (std::vector<std::string>{"13", "10"}));
    f.type_like = like_from_glob("c\\d");
    EXPECT_EQ(listed(f), (std::vector<std::string>{"12"}));
    f = {};
    f.source_like = like_from_glob("x%y");
    EXPECT_EQ(listed(f), (std::vector<std::string>{"10"}));
    f.source_like = like_from_glob("x?y");  // a wildcard: still a LIKE
    EXPECT_EQ(listed(f), (std::vector<std::string>{"11", "10"}));
    f.source_like = like_exact("x_");
    f.type_like = like_exact("a_b");
    EXPECT_EQ(listed(f), (std::vector<std::string>{"13"}));
}

}  // namespace
}  // namespace pubsub
