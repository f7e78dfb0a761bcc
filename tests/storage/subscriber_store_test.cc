// subscriber_store: insert, load and remove on a fresh schema.
#include "storage/subscriber_store.h"

#include <gtest/gtest.h>

#include "tests/support/pg_test_env.h"

namespace pubsub {
namespace {

using subscriber_store_test = test::pg_schema_test;

subscriber full_sub() {
    subscriber s;
    s.name = "inbox-sales";
    s.event_type = "email_received";
    s.filter_json = R"({"event_data.to": "sales@*"})";
    s.job = job_type::custom;
    s.config_id = 42;
    s.script_path = "scripts/sales.py";
    s.is_active = false;
    s.max_retries = 7;
    s.timeout_s = 12;
    return s;
}

TEST_F(subscriber_store_test, insert_then_load_round_trips) {
    auto id1 = insert_subscriber(conn(), schema(), full_sub());
    ASSERT_TRUE(id1.ok()) << id1.message();
    subscriber minimal;
    minimal.name = "all";
    minimal.event_type = "*";
    auto id2 = insert_subscriber(conn(), schema(), minimal);
    ASSERT_TRUE(id2.ok()) << id2.message();
    EXPECT_NE(*id1, *id2);

    auto subs = load_subscribers(conn(), schema());
    ASSERT_TRUE(subs.ok()) << subs.message();
    ASSERT_EQ(subs->size(), 2u);
    const subscriber& a = (*subs)[0];
    EXPECT_EQ(a.id, *id1);
    EXPECT_EQ(a.name, "inbox-sales");
    EXPECT_EQ(a.event_type, "email_received");
    EXPECT_EQ(a.filter_json, R"({"event_data.to": "sales@*"})");
    EXPECT_EQ(a.job, job_type::custom);
    ASSERT_TRUE(a.config_id.has_value());
    EXPECT_EQ(*a.config_id, 42);
    EXPECT_EQ(a.script_path, "scripts/sales.py");
    EXPECT_FALSE(a.is_active);
    EXPECT_EQ(a.max_retries, 7);
    EXPECT_EQ(a.timeout_s, 12);
    const subscriber& b = (*subs)[1];
    EXPECT_EQ(b.id, *id2);
    EXPECT_EQ(b.event_type, "*");
    EXPECT_EQ(b.filter_json, "{}");
    EXPECT_EQ(b.job, job_type::noop);
    EXPECT_FALSE(b.config_id.has_value());
    EXPECT_EQ(b.script_path, "");
    EXPECT_TRUE(b.is_active);
    EXPECT_EQ(b.max_retries, 3);
    EXPECT_EQ(b.timeout_s, 300);
}

TEST_F(subscriber_store_test, duplicate_name_and_bad_values_are_refused) {
    ASSERT_TRUE(insert_subscriber(conn(), schema(), full_sub()).ok());
    auto dup = insert_subscriber(conn(), schema(), full_sub());
    ASSERT_FALSE(dup.ok());
    EXPECT_NE(dup.message().find("inbox-sales"), std::string::npos) << dup.message();
    subscriber bad = full_sub();
    bad.name = "bad-retries";
    bad.max_retries = -1;
    EXPECT_FALSE(insert_subscriber(conn(), schema(), bad).ok());
    bad.name = "bad-filter";
    bad.max_retries = 1;
    bad.filter_json = "{not json";
    EXPECT_FALSE(insert_subscriber(conn(), schema(), bad).ok());
    auto subs = load_subscribers(conn(), schema());
    ASSERT_TRUE(subs.ok());
    EXPECT_EQ(subs->size(), 1u);
}

TEST_F(subscriber_store_test, remove_by_name_or_id) {
    auto id1 = insert_subscriber(conn(), schema(), full_sub());
    subscriber other = full_sub();
    other.name = "other";
    auto id2 = insert_subscriber(conn(), schema(), other);
    ASSERT_TRUE(id1.ok() && id2.ok());
    auto gone = remove_subscriber(conn(), schema(), "inbox-sales");
    ASSERT_TRUE(gone.ok()) << gone.message();
    EXPECT_TRUE(*gone);
    auto again = remove_subscriber(conn(), schema(), "inbox-sales");
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(*again);
    auto by_id = remove_subscriber(conn(), schema(), std::to_string(*id2));
    ASSERT_TRUE(by_id.ok());
    EXPECT_TRUE(*by_id);
    auto subs = load_subscribers(conn(), schema());
    ASSERT_TRUE(subs.ok());
    EXPECT_TRUE(subs->empty());
}

TEST_F(subscriber_store_test, load_from_a_missing_schema_is_an_error) {
    auto subs = load_subscribers(conn(), "no_such_schema_here");
    ASSERT_FALSE(subs.ok());
    EXPECT_NE(subs.message().find("cannot load subscribers"), std::string::npos);
}

}  // namespace
}  // namespace pubsub
