// event_store::load_open_events: pending and processing rows, oldest first, as resumable events.
#include "storage/event_store.h"

#include <gtest/gtest.h>

#include "storage/row_state.h"
#include "tests/support/pg_test_env.h"

namespace pubsub {
namespace {

using event_store_test = test::pg_schema_test;

TEST_F(event_store_test, loads_pending_and_processing_oldest_first) {
    ASSERT_TRUE(conn()
                    .exec("INSERT INTO " + schema() +
                          ".tpubsub_events (event_id, event_type, event_source, event_data, "
                          "status, priority, created_at, retry_count, error_message) VALUES "
                          "(5, 'a', 's5', '{\"x\": [1, 2]}', 'processing', 9, "
                          "'2024-01-02 03:04:05.123456+00', 2, 'exit 1'), "
                          "(3, 'b', 's3', '{}', 'pending', 5, now(), 0, NULL), "
                          "(4, 'c', '', '{}', 'completed', 5, now(), 0, NULL), "
                          "(6, 'd', '', '{}', 'failed', 5, now(), 3, 'exit 1'), "
                          "(7, 'e', '', '{}', 'cancelled', 5, now(), 0, NULL), "
                          "(8, 'f', 'late', '{}', 'pending', 1, now(), 0, NULL), "
                          "(9, 'g', '', '{}', 'processing', 5, now(), 0, NULL)")
                    .ok());
    auto open = load_open_events(conn(), schema(), 100);
    ASSERT_TRUE(open.ok()) << open.message();
    ASSERT_EQ(open->size(), 4u);
    EXPECT_EQ((*open)[0]->id, 3);
    EXPECT_EQ((*open)[1]->id, 5);
    EXPECT_EQ((*open)[2]->id, 8);
    EXPECT_EQ((*open)[3]->id, 9);
    const event& e = *(*open)[1];
    EXPECT_EQ(e.type, "a");
    EXPECT_EQ(e.source, "s5");
    EXPECT_EQ(e.data_json, R"({"x": [1, 2]})");
    EXPECT_GE(e.data_json.capacity(), e.data_json.size() + 64);
    EXPECT_EQ(e.priority, 9);
    EXPECT_EQ(e.attempt, 3);  // waiting for its third attempt after two failures
    EXPECT_TRUE(e.from_table);
    EXPECT_EQ(persisted_seq(e), 0u);
    EXPECT_EQ(e.created_us, 1704164645123456);
    EXPECT_EQ((*open)[0]->attempt, 1);
    EXPECT_EQ((*open)[3]->attempt, 2) << "its first run was under way: the resumed one is the 2nd";

    auto limited = load_open_events(conn(), schema(), 2);
    ASSERT_TRUE(limited.ok());
    ASSERT_EQ(limited->size(), 2u);
    EXPECT_EQ((*limited)[1]->id, 5);
}

TEST_F(event_store_test, empty_table_and_missing_schema) {
    auto open = load_open_events(conn(), schema(), 10);
    ASSERT_TRUE(open.ok()) << open.message();
    EXPECT_TRUE(open->empty());
    auto bad = load_open_events(conn(), "no_such_schema_here", 10);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.message().find("cannot load open events"), std::string::npos);
}

}  // namespace
}  // namespace pubsub
