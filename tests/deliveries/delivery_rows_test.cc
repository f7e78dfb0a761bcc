// Delivery rows through the write-behind, and the operator actions, against real PostgreSQL:
// the newest version of a delivery wins whatever the order of the batches, a cancelled event
// (and its deliveries) is never overwritten by a handler that finished late, and
// retry_event / cancel_event act only where they apply.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "storage/event_actions.h"
#include "storage/write_behind.h"
#include "tests/support/pg_test_env.h"

namespace pubsub {
namespace {

class delivery_rows : public test::pg_schema_test {
  protected:
    void SetUp() override {
        test::pg_schema_test::SetUp();
        write_behind_options o;
        o.dsn = dsn();
        o.schema = schema();
        o.node_id = "node-a";
        // One lane, so that flush() below is a barrier: lanes commit on their own, and a
        // filler event's commit says nothing of another lane's rows.
        o.connections = 1;
        wb_.emplace(o);
        ASSERT_TRUE(wb_->start().ok());
    }
    void TearDown() override {
        if (wb_) wb_->stop(std::chrono::steady_clock::now() + std::chrono::seconds(10));
        test::pg_schema_test::TearDown();
    }

    // Records t with a durable ack and waits for its commit: everything recorded before is
    // committed too (same or earlier batch).
    void record_and_wait(transition t) {
        std::mutex mu;
        std::condition_variable cv;
        bool done = false;
        status result;
        t.on_durable = [&](const status& s) {
            std::lock_guard lock(mu);
            done = true;
            result = s;
            cv.notify_all();
        };
        wb_->record(std::move(t));
        std::unique_lock lock(mu);
        ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return done; }));
        ASSERT_TRUE(result.ok()) << result.message();
    }
    void flush() { record_and_wait(pending(new_event(next_filler_++))); }

    std::shared_ptr<event> new_event(event_id id) {
        auto ev = std::make_shared<event>();
        ev->id = id;
        ev->type = "t";
        ev->data_json = "{}";
        ev->created_us = now_us();
        return ev;
    }
    static transition pending(event_ptr ev) { return at(std::move(ev), event_status::pending, 1); }
    static transition at(event_ptr ev, event_status s, std::uint32_t seq, std::string error = {}) {
        transition t;
        t.ev = std::move(ev);
        t.status = s;
        t.seq = seq;
        t.at_us = now_us();
        t.error = std::move(error);
        return t;
    }
    static delivery_record row(event_id ev, std::int64_t sub, delivery_status st, int attempts,
                               std::uint32_t version, std::string error = {}) {
        delivery_record r;
        r.event = ev;
        r.subscriber_id = sub;
        r.subscriber_name = "sub" + std::to_string(sub);
        r.status = st;
        r.attempts = attempts;
        r.last_error = std::move(error);
        r.started_us = r.finished_us = now_us();
        if (st == delivery_status::retrying) r.next_attempt_us = now_us() + 60'000'000;
        r.version = version;
        return r;
    }
    std::map<std::int64_t, delivery_row> rows(event_id ev) {
        std::map<std::int64_t, delivery_row> out;
        auto r = load_deliveries(conn(), schema(), ev);
        EXPECT_TRUE(r.ok()) << r.message();
        if (r.ok()) {
            for (auto& d : *r) out[d.subscriber_id] = d;
        }
        return out;
    }
    std::string event_status_of(event_id id) {
        auto r = conn().query(
            "SELECT status FROM " + schema() + ".tpubsub_events WHERE event_id = $1::bigint",
            {std::to_string(id)});
        return r.ok() && r->rows() == 1 ? std::string(r->get(0, 0)) : "(none)";
    }

    std::optional<write_behind> wb_;
    event_id next_filler_ = 1'000'000;
};

TEST_F(delivery_rows, newest_version_wins_whatever_the_batch_order) {
    auto ev = new_event(1);
    record_and_wait(pending(ev));
    wb_->record_delivery(row(1, 7, delivery_status::retrying, 2, 2, "second failure"));
    flush();
    wb_->record_delivery(row(1, 7, delivery_status::retrying, 1, 1, "first failure"));
    flush();
    auto r = rows(1);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[7].attempts, 2);
    EXPECT_EQ(r[7].last_error, "second failure");
    EXPECT_EQ(r[7].subscriber_name, "sub7");
    EXPECT_NE(r[7].next_attempt_us, 0);

    wb_->record_delivery(row(1, 7, delivery_status::completed, 3, 3));
    flush();
    r = rows(1);
    EXPECT_EQ(r[7].status, "completed");
    EXPECT_EQ(r[7].attempts, 3);
    EXPECT_EQ(r[7].next_attempt_us, 0);
    EXPECT_EQ(r[7].last_error, "second failure") << "the latest failure is kept";
}

TEST_F(delivery_rows, cancelled_event_is_not_overwritten_by_a_late_handler) {
    auto ev = new_event(2);
    record_and_wait(pending(ev));
    wb_->record_delivery(row(2, 1, delivery_status::retrying, 1, 1, "boom"));
    flush();
    auto c = cancel_event(conn(), schema(), 2);
    ASSERT_TRUE(c.ok()) << c.message();
    EXPECT_EQ(c->what, event_action_outcome::kind::done);
    EXPECT_EQ(c->deliveries, 1);
    EXPECT_EQ(c->message, "event 2 cancelled (it was pending); 1 scheduled delivery cancelled");

    // What a handler still running when the cancel came would record.
    wb_->record_delivery(row(2, 1, delivery_status::completed, 2, 2));
    wb_->record_delivery(row(2, 9, delivery_status::dead, 1, 3, "late"));
    record_and_wait(at(ev, event_status::processing, 2));
    record_and_wait(at(ev, event_status::completed, 3));
    EXPECT_EQ(event_status_of(2), "cancelled");
    auto r = rows(2);
    ASSERT_EQ(r.size(), 1u) << "no new row for a cancelled event";
    EXPECT_EQ(r[1].status, "cancelled");
}

TEST_F(delivery_rows, actions_apply_only_where_they_make_sense) {
    auto missing = retry_event(conn(), schema(), 424242);
    ASSERT_TRUE(missing.ok());
    EXPECT_EQ(missing->what, event_action_outcome::kind::not_found);
    EXPECT_EQ(missing->message, "no event with id 424242");

    auto done = new_event(3);
    record_and_wait(pending(done));
    record_and_wait(at(done, event_status::completed, 3));
    auto cancel_done = cancel_event(conn(), schema(), 3);
    ASSERT_TRUE(cancel_done.ok());
    EXPECT_EQ(cancel_done->what, event_action_outcome::kind::not_applicable);
    EXPECT_EQ(cancel_done->message,
              "event 3 is completed: only pending or processing events can be cancelled");
    auto retry_done = retry_event(conn(), schema(), 3);
    ASSERT_TRUE(retry_done.ok());
    EXPECT_EQ(retry_done->what, event_action_outcome::kind::not_applicable);

    auto failed = new_event(4);
    record_and_wait(pending(failed));
    wb_->record_delivery(row(4, 1, delivery_status::completed, 1, 1));
    wb_->record_delivery(row(4, 2, delivery_status::dead, 4, 2, "exit 3: nope"));
    record_and_wait(at(failed, event_status::failed, 3, "exit 3: nope"));
    auto retried = retry_event(conn(), schema(), 4);
    ASSERT_TRUE(retried.ok()) << retried.message();
    EXPECT_EQ(retried->what, event_action_outcome::kind::done);
    EXPECT_EQ(retried->deliveries, 1);
    EXPECT_EQ(retried->message,
              "event 4 is pending again: 1 delivery will run again (1 completed delivery is "
              "kept)");
    auto st = conn().query(
        "SELECT status, claimed_by IS NULL, completed_at IS NULL, "
        "error_message FROM " +
        schema() + ".tpubsub_events WHERE event_id = 4");
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(st->get(0, 0), "pending");
    EXPECT_EQ(st->get(0, 1), "t") << "unclaimed: any router may take it";
    EXPECT_EQ(st->get(0, 2), "t");
    EXPECT_EQ(st->get(0, 3), "exit 3: nope") << "the latest failure stays visible";
    auto base = conn().query("SELECT status, retry_base FROM " + schema() +
                             ".tpubsub_deliveries WHERE event_id = 4 AND subscriber_id = 2");
    ASSERT_TRUE(base.ok()) << base.message();
    EXPECT_EQ(base->get(0, 0), "pending");
    EXPECT_EQ(base->get(0, 1), "4") << "a fresh retry budget starts after the 4 attempts made";
    EXPECT_EQ(rows(4)[1].status, "completed");
}

}  // namespace
}  // namespace pubsub
