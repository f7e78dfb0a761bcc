// intake: queued acks at once, durable acks only after the log's commit callback, refusals.
#include "router/intake.h"

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "tests/router/memory_log.h"

namespace pubsub {
namespace {

using test::memory_log;

class fake_ids final : public id_source {
  public:
    result<event_id> next_id() override {
        if (fail_.load()) return status::error("no event ids available: test says no");
        return next_.fetch_add(1) + 1;
    }
    std::atomic<event_id> next_{100};
    std::atomic<bool> fail_{false};
};

class null_sink final : public delivery_sink {
  public:
    void submit(delivery) override {}
};

struct intake_test : ::testing::Test {
    memory_log log;
    null_sink sink;
    fake_ids ids;
    router rt{{}, log, sink};  // never started: enqueued events stay in its queues
    intake in{ids, log, rt};

    event_draft draft(int priority = 7) {
        event_draft d;
        d.type = "import_complete";
        d.source = "generic_import:42";
        d.data_json = R"({"a":1})";
        d.priority = priority;
        return d;
    }
};

TEST_F(intake_test, queued_ack_is_immediate_and_event_is_routed_and_logged) {
    std::optional<result<event_id>> got;
    std::int64_t before = now_us();
    in.submit(draft(), ack_mode::queued, [&](const result<event_id>& r) { got = r; });
    ASSERT_TRUE(got.has_value()) << "queued ack must run before submit() returns";
    ASSERT_TRUE(got->ok()) << got->message();
    EXPECT_EQ(got->value(), 101);
    EXPECT_EQ(rt.depth(7), 1u);
    auto all = log.all();
    ASSERT_EQ(all.size(), 1u);
    const auto& t = all[0];
    EXPECT_EQ(t.status, event_status::pending);
    EXPECT_EQ(t.seq, seq_pending);
    EXPECT_FALSE(t.had_ack);
    EXPECT_EQ(t.ev->id, 101);
    EXPECT_EQ(t.ev->type, "import_complete");
    EXPECT_EQ(t.ev->source, "generic_import:42");
    EXPECT_EQ(t.ev->data_json, R"({"a":1})");
    EXPECT_EQ(t.ev->priority, 7);
    EXPECT_EQ(t.ev->attempt, 1);
    EXPECT_FALSE(t.ev->from_table);
    EXPECT_GE(t.ev->created_us, before);
    EXPECT_EQ(t.at_us, t.ev->created_us);
}

TEST_F(intake_test, durable_ack_waits_for_the_commit_callback) {
    std::atomic<int> calls{0};
    std::optional<result<event_id>> got;
    in.submit(draft(), ack_mode::durable, [&](const result<event_id>& r) {
        got = r;
        ++calls;
    });
    EXPECT_EQ(calls, 0) << "durable ack ran before the commit";
    EXPECT_EQ(rt.depth(), 1u) << "routing must not wait for the database";
    auto all = log.all();
    ASSERT_EQ(all.size(), 1u);
    EXPECT_TRUE(all[0].had_ack);
    EXPECT_EQ(log.held_acks(), 1u);
    log.fire_acks(status());
    ASSERT_EQ(calls, 1);
    ASSERT_TRUE(got->ok()) << got->message();
    EXPECT_EQ(got->value(), all[0].ev->id);
}

TEST_F(intake_test, durable_ack_reports_a_failed_commit) {
    std::optional<result<event_id>> got;
    in.submit(draft(), ack_mode::durable, [&](const result<event_id>& r) { got = r; });
    log.fire_acks(status::error("pubsubd stopped before the event was committed"));
    ASSERT_TRUE(got.has_value());
    ASSERT_FALSE(got->ok());
    EXPECT_EQ(got->message(), "pubsubd stopped before the event was committed");
}

TEST_F(intake_test, refused_when_admit_fails) {
    log.set_admit(status::error("event refused: 10 events are waiting to be written (limit 10)"));
    std::optional<result<event_id>> got;
    in.submit(draft(), ack_mode::durable, [&](const result<event_id>& r) { got = r; });
    ASSERT_TRUE(got.has_value()) << "a refusal is reported at once";
    ASSERT_FALSE(got->ok());
    EXPECT_EQ(got->message(), "event refused: 10 events are waiting to be written (limit 10)");
    EXPECT_TRUE(log.all().empty());
    EXPECT_EQ(rt.depth(), 0u);
    log.set_admit(status());
    got.reset();
    in.submit(draft(), ack_mode::queued, [&](const result<event_id>& r) { got = r; });
    ASSERT_TRUE(got.has_value() && got->ok());
}

TEST_F(intake_test, refused_when_no_ids) {
    ids.fail_ = true;
    std::optional<result<event_id>> got;
    in.submit(draft(), ack_mode::queued, [&](const result<event_id>& r) { got = r; });
    ASSERT_TRUE(got.has_value());
    ASSERT_FALSE(got->ok());
    EXPECT_EQ(got->message(), "no event ids available: test says no");
    EXPECT_TRUE(log.all().empty());
    EXPECT_EQ(rt.depth(), 0u);
}

TEST_F(intake_test, refused_after_close) {
    in.close();
    in.close();  // idempotent
    for (auto mode : {ack_mode::queued, ack_mode::durable}) {
        std::optional<result<event_id>> got;
        in.submit(draft(), mode, [&](const result<event_id>& r) { got = r; });
        ASSERT_TRUE(got.has_value());
        ASSERT_FALSE(got->ok());
        EXPECT_NE(got->message().find("shutting down"), std::string::npos) << got->message();
    }
    EXPECT_TRUE(log.all().empty());
    EXPECT_EQ(rt.depth(), 0u);
}

TEST_F(intake_test, concurrent_submits_get_distinct_ids) {
    constexpr int threads = 4, per_thread = 2000;
    std::vector<std::thread> ts;
    std::vector<std::vector<event_id>> got(threads);
    for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                in.submit(draft(1 + i % 10), i % 2 ? ack_mode::queued : ack_mode::durable,
                          [&, t](const result<event_id>& r) {
                              if (r.ok()) got[static_cast<std::size_t>(t)].push_back(*r);
                          });
            }
        });
    }
    for (auto& t : ts) t.join();
    log.fire_acks(status());
    std::set<event_id> all;
    for (auto& v : got) all.insert(v.begin(), v.end());
    EXPECT_EQ(all.size(), static_cast<std::size_t>(threads * per_thread));
    EXPECT_EQ(rt.depth(), static_cast<std::size_t>(threads * per_thread));
    EXPECT_EQ(log.all().size(), static_cast<std::size_t>(threads * per_thread));
}

}  // namespace
}  // namespace pubsub
