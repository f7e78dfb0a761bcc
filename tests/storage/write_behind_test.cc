// write_behind against real PostgreSQL: coalesced batches from many threads, durable acks only
// after the row is visible to another connection, out-of-order transitions, and the failure
// policy (refuse past max_unpersisted_events or the memory budget, unhealthy with the error,
// recover and write all), rows PostgreSQL refuses (they fail alone, the rest commits) and
// transient errors (nothing fails).
#include "storage/write_behind.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "router/delivery.h"
#include "storage/event_store.h"
#include "storage/migrations.h"
#include "storage/row_batch.h"
#include "tests/storage/write_behind_helpers.h"
#include "tests/support/pg_test_env.h"

namespace pubsub {
namespace {

using steady = std::chrono::steady_clock;
using test::hang_guard;

auto deadline_in(std::chrono::seconds s) { return steady::now() + s; }

std::shared_ptr<event> new_event(event_id id, std::string type = "t") {
    auto ev = std::make_shared<event>();
    ev->id = id;
    ev->priority = 1 + static_cast<int>(id % 10);
    ev->type = std::move(type);
    ev->source = "test:" + std::to_string(id);
    ev->data_json = "{\"n\":" + std::to_string(id) + "}";
    ev->created_us = now_us();
    return ev;
}

using test::ack_counter;
using test::make_t;

// Polls pred every few ms until true or the hang guard (not a timing assertion).
template <class Pred>
bool eventually(Pred pred) {
    auto end = steady::now() + hang_guard;
    while (steady::now() < end) {
        if (pred()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return pred();
}

class write_behind_test : public test::pg_schema_test {
  protected:
    write_behind_options options() {
        write_behind_options o;
        o.dsn = dsn();
        o.schema = schema();
        o.reconnect_min = std::chrono::milliseconds(5);
        o.reconnect_max = std::chrono::milliseconds(50);
        return o;
    }
    std::int64_t count(const std::string& where) {
        auto r =
            conn().query("SELECT count(*) FROM " + schema() + ".tpubsub_events WHERE " + where);
        EXPECT_TRUE(r.ok()) << r.message();
        return r.ok() ? r->get_int(0, 0) : -1;
    }
    std::string row(event_id id, const std::string& cols) {
        auto r = conn().query("SELECT " + cols + " FROM " + schema() +
                              ".tpubsub_events WHERE event_id = " + std::to_string(id));
        EXPECT_TRUE(r.ok()) << r.message();
        if (!r.ok() || r->rows() != 1) return "<no row>";
        std::string out;
        for (int c = 0; c < r->columns(); ++c) {
            if (c) out += '|';
            out += r->is_null(0, c) ? std::string("NULL") : std::string(r->get(0, c));
        }
        return out;
    }
};

TEST_F(write_behind_test, ten_thousand_events_from_threads_end_completed) {
    constexpr int threads = 4, n = 10000;
    write_behind wb(options());
    ASSERT_TRUE(wb.start().ok());
    std::vector<std::shared_ptr<event>> evs;
    for (int i = 1; i <= n; ++i) evs.push_back(new_event(i));
    // Thread t records the pending transitions of slice t and the later transitions of slice
    // t+1, so one event's transitions come from two threads.
    std::vector<std::thread> ts;
    std::atomic<int> pendings_done{0};
    for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&, t] {
            for (int i = t; i < n; i += threads) {
                EXPECT_TRUE(wb.admit().ok());
                wb.record(
                    make_t(evs[static_cast<std::size_t>(i)], event_status::pending, seq_pending));
            }
            pendings_done.fetch_add(1);
            while (pendings_done.load() < threads) std::this_thread::yield();
            for (int i = (t + 1) % threads; i < n; i += threads) {
                const auto& ev = evs[static_cast<std::size_t>(i)];
                wb.record(make_t(ev, event_status::processing, seq_processing));
                wb.record(make_t(ev, event_status::completed, seq_final));
            }
        });
    }
    for (auto& t : ts) t.join();
    wb.stop(deadline_in(std::chrono::seconds(60)));
    auto st = wb.stats();
    EXPECT_TRUE(st.healthy) << st.last_error;
    EXPECT_EQ(st.transitions, 3u * n);
    EXPECT_EQ(st.unpersisted_events, 0u);
    EXPECT_EQ(st.failures, 0u);
    EXPECT_GE(st.batches, 1u);
    EXPECT_LE(st.rows, 3u * n);
    EXPECT_EQ(count("true"), n);
    EXPECT_EQ(count("status = 'completed'"), n);
    EXPECT_EQ(count("created_at <= processed_at AND processed_at <= completed_at"), n);
    EXPECT_EQ(count("error_message IS NULL AND retry_count = 0"), n);
    EXPECT_EQ(row(42, "event_type, event_source, event_data::text, priority"),
              "t|test:42|{\"n\": 42}|3");
}

// Each durable callback checks, from its own connection, that its row is already visible.
TEST_F(write_behind_test, durable_ack_only_after_row_is_visible_elsewhere) {
    constexpr int n = 300;
    auto other = pg::connection::open(dsn());
    ASSERT_TRUE(other.ok()) << other.message();
    std::mutex other_mu;  // the callbacks run on the writer thread; the lock is belt and braces
    std::atomic<int> invisible{0}, acked{0}, failed{0};
    write_behind wb(options());
    ASSERT_TRUE(wb.start().ok());
    for (int i = 1; i <= n; ++i) {
        auto ev = new_event(i);
        std::string sql = "SELECT status FROM " + schema() +
                          ".tpubsub_events WHERE event_id = " + std::to_string(i);
        wb.record(make_t(ev, event_status::pending, seq_pending, [&, sql](const status& s) {
            if (!s.ok()) {
                ++failed;
                return;
            }
            std::lock_guard lock(other_mu);
            auto r = other->query(sql);
            if (!r.ok() || r->rows() != 1) ++invisible;
            ++acked;
        }));
        if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_TRUE(eventually([&] { return acked.load() + failed.load() == n; }));
    EXPECT_EQ(failed, 0);
    EXPECT_EQ(invisible, 0) << "an ack ran before its row was committed";
    wb.stop(deadline_in(std::chrono::seconds(30)));
    EXPECT_EQ(count("status = 'pending'"), n);
}

// Final and processing transitions arriving before the pending one, in the same batch and in
// separate batches: the row ends in the final state and the late pending's ack still runs.
TEST_F(write_behind_test, transitions_before_their_pending_end_in_the_final_state) {
    write_behind wb(options());
    ASSERT_TRUE(wb.start().ok());
    ack_counter acks;
    // Event 1: everything in one go, reversed.
    // The timestamps follow the logical order; only the arrival order is reversed.
    auto e1 = new_event(1);
    transition c1 = make_t(e1, event_status::completed, seq_final);
    transition p1 = make_t(e1, event_status::processing, seq_processing);
    transition q1 = make_t(e1, event_status::pending, seq_pending, acks.make());
    q1.at_us = e1->created_us;
    p1.at_us = e1->created_us + 10;
    c1.at_us = e1->created_us + 20;
    wb.record(std::move(c1));
    wb.record(std::move(p1));
    wb.record(std::move(q1));
    ASSERT_TRUE(acks.wait(1));
    // Event 2: the final committed alone first, then a late processing and a late pending.
    auto e2 = new_event(2);
    wb.record(make_t(e2, event_status::failed, seq_final, acks.make(), "it broke"));
    ASSERT_TRUE(acks.wait(2));
    wb.record(make_t(e2, event_status::processing, seq_processing));
    wb.record(make_t(e2, event_status::pending, seq_pending, acks.make()));
    ASSERT_TRUE(acks.wait(3));
    // Event 3: processing committed first, then pending, then the final.
    auto e3 = new_event(3);
    wb.record(make_t(e3, event_status::processing, seq_processing, acks.make()));
    ASSERT_TRUE(acks.wait(4));
    wb.record(make_t(e3, event_status::pending, seq_pending, acks.make()));
    wb.record(make_t(e3, event_status::completed, seq_final, acks.make()));
    ASSERT_TRUE(acks.wait(6));
    wb.stop(deadline_in(std::chrono::seconds(30)));
    EXPECT_EQ(acks.ok(), 6);
    EXPECT_EQ(acks.failed(), 0);
    EXPECT_EQ(row(1, "status"), "completed");
    EXPECT_EQ(row(2, "status, error_message"), "failed|it broke");
    EXPECT_EQ(row(3, "status"), "completed");
    EXPECT_EQ(count("created_at <= processed_at AND processed_at <= completed_at"), 3);
    EXPECT_EQ(wb.stats().unpersisted_events, 0u);
}

// An event resumed from the table (from_table) is updated in place: created_at and data kept.
// The row is claimed by the writer's node: a node writes only the rows it owns.
TEST_F(write_behind_test, resumed_event_is_updated_not_reinserted) {
    auto ins = conn().query("INSERT INTO " + schema() +
                                ".tpubsub_events (event_type, event_source, event_data, priority, "
                                "created_at, retry_count, claimed_by) VALUES ('r', 'src', "
                                "'{\"k\": 1}', 8, now() - interval '1 hour', 1, $1) RETURNING "
                                "event_id",
                            {options().node_id});
    ASSERT_TRUE(ins.ok()) << ins.message();
    event_id id = ins->get_int(0, 0);
    std::string created_before = row(id, "created_at");
    auto open = load_open_events(conn(), schema(), 10);
    ASSERT_TRUE(open.ok()) << open.message();
    ASSERT_EQ(open->size(), 1u);
    event_ptr ev = (*open)[0];
    write_behind wb(options());
    ASSERT_TRUE(wb.start().ok());
    ack_counter acks;
    wb.record(make_t(ev, event_status::processing, seq_processing));
    transition fin = make_t(ev, event_status::completed, seq_final, acks.make());
    fin.retry_count = 1;
    wb.record(std::move(fin));
    ASSERT_TRUE(acks.wait(1));
    wb.stop(deadline_in(std::chrono::seconds(30)));
    EXPECT_EQ(row(id, "status, event_type, event_source, event_data::text, priority, retry_count"),
              "completed|r|src|{\"k\": 1}|8|1");
    EXPECT_EQ(row(id, "created_at"), created_before);
    EXPECT_EQ(count("processed_at <= completed_at AND created_at <= processed_at"), 1);
    EXPECT_EQ(wb.stats().unpersisted_events, 0u);
}

// BUG (storage/row_batch.cc encode_stage_rows + merge_sql UPDATE): an event that goes straight
// from pending to a final state (no matching subscriber) gets processed_at = completed_at when
// both transitions land in the same batch, but processed_at stays NULL when its pending row was
// committed in an earlier batch (the fill-in applies to new rows only). The stored result thus
// depends on batch timing, and the comment's promise "created_at <= processed_at <=
// completed_at true for every row" does not hold. Expected to fail until fixed (e.g. UPDATE
// ... processed_at = coalesce(st.processed_at, e.processed_at, st.completed_at)).
TEST_F(write_behind_test, unmatched_event_gets_processed_at_whatever_the_batching) {
    write_behind wb(options());
    ASSERT_TRUE(wb.start().ok());
    ack_counter acks;
    auto same_batch = new_event(1);
    wb.record(make_t(same_batch, event_status::pending, seq_pending));
    wb.record(make_t(same_batch, event_status::completed, seq_final, acks.make(),
                     "no matching subscriber"));
    ASSERT_TRUE(acks.wait(1));
    auto two_batches = new_event(2);
    wb.record(make_t(two_batches, event_status::pending, seq_pending, acks.make()));
    ASSERT_TRUE(acks.wait(2));
    wb.record(make_t(two_batches, event_status::completed, seq_final, acks.make(),
                     "no matching subscriber"));
    ASSERT_TRUE(acks.wait(3));
    wb.stop(deadline_in(std::chrono::seconds(30)));
    EXPECT_EQ(row(1, "status, error_message, processed_at IS NOT NULL"),
              "completed|no matching subscriber|t");
    EXPECT_EQ(row(2, "status, error_message, processed_at IS NOT NULL"),
              "completed|no matching subscriber|t");
}

TEST_F(write_behind_test, unreachable_database_refuses_past_the_bound_and_is_unhealthy) {
    write_behind_options o = options();
    o.dsn = "host=/nonexistent/pubsub-test-socket-dir dbname=nothing connect_timeout=2";
    o.max_unpersisted_events = 5;
    std::atomic<int> error_logs{0};
    o.log = [&](log_level level, const std::string&) {
        if (level == log_level::error) ++error_logs;
    };
    write_behind wb(o);
    ASSERT_TRUE(wb.start().ok());
    EXPECT_TRUE(wb.admit().ok());
    ack_counter acks;
    for (int i = 1; i <= 5; ++i) {
        ASSERT_TRUE(wb.admit().ok()) << "refused at event " << i;
        wb.record(make_t(new_event(i), event_status::pending, seq_pending, acks.make()));
    }
    status refused = wb.admit();
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.message().find("limit 5"), std::string::npos) << refused.message();
    ASSERT_TRUE(eventually([&] { return !wb.stats().healthy; }));
    auto st = wb.stats();
    EXPECT_FALSE(st.last_error.empty());
    EXPECT_NE(st.last_error.find("/nonexistent/pubsub-test-socket-dir"), std::string::npos)
        << st.last_error;
    EXPECT_GE(st.failures, 1u);
    EXPECT_EQ(st.unpersisted_events, 5u);
    refused = wb.admit();
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.message().find("database error: "), std::string::npos) << refused.message();
    EXPECT_GE(error_logs.load(), 1);
    // Already-admitted transitions of held events are still taken (record never fails).
    wb.record(make_t(new_event(1), event_status::processing, seq_processing));
    EXPECT_EQ(acks.ok() + acks.failed(), 0) << "nothing can be durable yet";
    wb.stop(steady::now());
    ASSERT_TRUE(acks.wait(5));
    EXPECT_EQ(acks.failed(), 5);
    EXPECT_NE(acks.last_error().find("stopped before the event was committed"), std::string::npos)
        << acks.last_error();
}

// The database answers but the schema does not exist yet: every batch fails, events are held,
// admit() refuses at the bound; once the schema is created everything held is written.
TEST_F(write_behind_test, held_events_are_written_once_the_database_recovers) {
    const std::string late = "late_" + std::to_string(getpid()) + "_" +
                             std::to_string(::testing::UnitTest::GetInstance()->random_seed());
    (void)conn().exec("DROP SCHEMA IF EXISTS " + late + " CASCADE");
    write_behind_options o = options();
    o.schema = late;
    o.max_unpersisted_events = 20;
    write_behind wb(o);
    ASSERT_TRUE(wb.start().ok());
    ack_counter acks;
    std::vector<std::shared_ptr<event>> evs;
    for (int i = 1; i <= 20; ++i) {
        ASSERT_TRUE(wb.admit().ok()) << "refused at event " << i;
        evs.push_back(new_event(i));
        wb.record(make_t(evs.back(), event_status::pending, seq_pending, acks.make()));
    }
    for (int i = 0; i < 10; ++i) {  // half of them also progress while the database is down
        wb.record(
            make_t(evs[static_cast<std::size_t>(i)], event_status::processing, seq_processing));
        wb.record(make_t(evs[static_cast<std::size_t>(i)], event_status::completed, seq_final));
    }
    ASSERT_TRUE(eventually([&] { return !wb.stats().healthy; }));
    EXPECT_FALSE(wb.admit().ok());
    EXPECT_FALSE(wb.stats().last_error.empty());
    EXPECT_EQ(acks.ok() + acks.failed(), 0);

    auto applied = apply_migrations(conn(), late);
    ASSERT_TRUE(applied.ok()) << applied.message();
    ASSERT_TRUE(acks.wait(20));
    EXPECT_EQ(acks.ok(), 20);
    ASSERT_TRUE(eventually([&] { return wb.admit().ok(); }));
    auto st = wb.stats();
    EXPECT_TRUE(st.healthy);
    EXPECT_EQ(st.last_error, "");
    EXPECT_EQ(st.unpersisted_events, 0u);
    wb.stop(deadline_in(std::chrono::seconds(30)));
    auto q = conn().query("SELECT status, count(*) FROM " + late +
                          ".tpubsub_events GROUP BY status ORDER BY status");
    ASSERT_TRUE(q.ok()) << q.message();
    ASSERT_EQ(q->rows(), 2);
    EXPECT_EQ(q->get(0, 0), "completed");
    EXPECT_EQ(q->get_int(0, 1), 10);
    EXPECT_EQ(q->get(1, 0), "pending");
    EXPECT_EQ(q->get_int(1, 1), 10);
    (void)conn().exec("DROP SCHEMA IF EXISTS " + late + " CASCADE");
}

TEST_F(write_behind_test, stop_flushes_everything_and_is_idempotent) {
    write_behind_options o = options();
    o.linger = std::chrono::microseconds(10'000'000);  // only the stop cuts the batch
    write_behind wb(o);
    ASSERT_TRUE(wb.start().ok());
    ack_counter acks;
    for (int i = 1; i <= 100; ++i) {
        wb.record(make_t(new_event(i), event_status::pending, seq_pending, acks.make()));
    }
    wb.stop(deadline_in(std::chrono::seconds(30)));
    wb.stop(deadline_in(std::chrono::seconds(30)));
    EXPECT_EQ(acks.ok(), 100);
    EXPECT_EQ(count("status = 'pending'"), 100);
}

// The test seam of the rejection path: PostgreSQL itself refuses a row the router let through.
// A trigger on this schema's tpubsub_events raises `errcode` for rows whose event_data has the
// key "poison" (on INSERT, or on UPDATE to `completed` when on_update).
void plant_poison_trigger(pg::connection& c, const std::string& schema, const std::string& errcode,
                          bool on_update) {
    std::string cond = on_update ? "NEW.status = 'completed' AND NEW.event_data ? 'poison'"
                                 : "NEW.event_data ? 'poison'";
    status s = c.exec("CREATE FUNCTION " + schema +
                      ".poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF " + cond +
                      " THEN RAISE EXCEPTION 'poisoned event %', NEW.event_id USING ERRCODE = '" +
                      errcode + "'; END IF; RETURN NEW; END $$; CREATE TRIGGER poison BEFORE " +
                      (on_update ? "UPDATE" : "INSERT") + " ON " + schema +
                      ".tpubsub_events FOR EACH ROW EXECUTE FUNCTION " + schema + ".poison()");
    ASSERT_TRUE(s.ok()) << s.message();
}

std::shared_ptr<event> poisoned_event(event_id id) {
    auto ev = new_event(id);
    ev->data_json = "{\"poison\":true}";
    return ev;
}

// One bad row among 10,000 (class 22, raised on INSERT): exactly its ack fails, naming the event
// and PostgreSQL's message; the 9,999 others are committed (counted over another connection),
// and events recorded afterwards commit as usual. Its later transitions are not written.
TEST_F(write_behind_test, planted_bad_row_fails_alone_and_the_rest_commits) {
    plant_poison_trigger(conn(), schema(), "22023", false);
    constexpr int n = 10000, bad = 5000;
    write_behind_options o = options();
    std::vector<event_id> told;
    std::mutex told_mu;
    o.on_rejected = [&](event_id id) {
        std::lock_guard lock(told_mu);
        told.push_back(id);
    };
    write_behind wb(o);
    ASSERT_TRUE(wb.start().ok());
    ack_counter acks;
    std::mutex errors_mu;
    std::vector<std::string> errors;
    std::atomic<int> ok{0};
    auto ack = [&](const status& s) {
        if (s.ok()) {
            ++ok;
        } else {
            std::lock_guard lock(errors_mu);
            errors.push_back(s.message());
        }
    };
    std::shared_ptr<event> poisoned;
    for (int i = 1; i <= n; ++i) {
        auto ev = i == bad ? poisoned_event(i) : new_event(i);
        if (i == bad) poisoned = ev;
        wb.record(make_t(ev, event_status::pending, seq_pending, ack));
    }
    ASSERT_TRUE(eventually([&] {
        std::lock_guard lock(errors_mu);
        return ok.load() + static_cast<int>(errors.size()) == n;
    }));
    {
        std::lock_guard lock(errors_mu);
        ASSERT_EQ(errors.size(), 1u);
        EXPECT_NE(errors[0].find("event 5000 rejected by PostgreSQL"), std::string::npos)
            << errors[0];
        EXPECT_NE(errors[0].find("poisoned event 5000"), std::string::npos) << errors[0];
    }
    EXPECT_EQ(ok.load(), n - 1);
    EXPECT_EQ(count("true"), n - 1);
    EXPECT_EQ(count("event_id = 5000"), 0);
    // Later transitions of the rejected event are not written and poison nothing.
    wb.record(make_t(poisoned, event_status::processing, seq_processing));
    wb.record(make_t(poisoned, event_status::completed, seq_final, acks.make()));
    for (int i = n + 1; i <= n + 100; ++i) {
        wb.record(make_t(new_event(i), event_status::pending, seq_pending, acks.make()));
    }
    ASSERT_TRUE(acks.wait(101));
    EXPECT_EQ(acks.ok(), 100);
    EXPECT_NE(acks.last_error().find("rejected by PostgreSQL earlier"), std::string::npos)
        << acks.last_error();
    EXPECT_EQ(count("true"), n + 99);
    auto st = wb.stats();
    EXPECT_EQ(st.rejected, 1u);
    EXPECT_TRUE(st.healthy) << st.last_error;
    EXPECT_EQ(st.unpersisted_events, 0u);
    EXPECT_EQ(st.budget_bytes, 0u);
    wb.stop(deadline_in(std::chrono::seconds(30)));
    std::lock_guard lock(told_mu);
    EXPECT_EQ(told, std::vector<event_id>{bad});
}

// The row exists and refuses a later transition (an UPDATE to `completed`), with an error
// outside the data classes (P0001, a trigger's plain RAISE): it recurs on a fresh connection, so
// it is a data error too. That event ends `failed` with the reason; the others complete.
TEST_F(write_behind_test, refused_update_of_a_later_transition_fails_only_that_event) {
    plant_poison_trigger(conn(), schema(), "P0001", true);
    write_behind wb(options());
    ASSERT_TRUE(wb.start().ok());
    ack_counter acks;
    std::vector<std::shared_ptr<event>> evs;
    for (int i = 1; i <= 200; ++i) {
        evs.push_back(i == 77 ? poisoned_event(i) : new_event(i));
        wb.record(make_t(evs.back(), event_status::pending, seq_pending, acks.make()));
    }
    ASSERT_TRUE(acks.wait(200));
    EXPECT_EQ(acks.ok(), 200);
    for (const auto& ev : evs) {
        wb.record(make_t(ev, event_status::processing, seq_processing));
        wb.record(make_t(ev, event_status::completed, seq_final, acks.make()));
    }
    ASSERT_TRUE(acks.wait(400));
    EXPECT_EQ(acks.ok(), 399);
    EXPECT_NE(acks.last_error().find("event 77 rejected by PostgreSQL: poisoned event 77"),
              std::string::npos)
        << acks.last_error();
    EXPECT_EQ(count("status = 'completed'"), 199);
    EXPECT_EQ(row(77, "status, error_message LIKE '%rejected by PostgreSQL%'"), "failed|t");
    EXPECT_EQ(wb.stats().rejected, 1u);
    wb.stop(deadline_in(std::chrono::seconds(30)));
}

// Transient errors fail no row: a trigger raising 25006 (read-only, as after a failover) while
// a switch row exists, then the writer's backend terminated (57P01, connection lost). Every
// ack succeeds once the database accepts writes again.
TEST_F(write_behind_test, transient_errors_fail_no_row_and_everything_commits_after) {
    status s = conn().exec(
        "CREATE TABLE " + schema() + ".read_only (x int); INSERT INTO " + schema() +
        ".read_only VALUES (1); CREATE FUNCTION " + schema() +
        ".ro() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF EXISTS (SELECT 1 FROM " + schema() +
        ".read_only) THEN RAISE EXCEPTION 'read-only for now' USING ERRCODE = '25006'; END IF; "
        "RETURN NEW; END $$; CREATE TRIGGER ro BEFORE INSERT ON " +
        schema() + ".tpubsub_events FOR EACH ROW EXECUTE FUNCTION " + schema() + ".ro()");
    ASSERT_TRUE(s.ok()) << s.message();
    write_behind_options o = options();
    const std::string app = "wb_" + schema();
    o.dsn += " application_name=" + app;
    write_behind wb(o);
    ASSERT_TRUE(wb.start().ok());
    ack_counter acks;
    for (int i = 1; i <= 500; ++i) {
        wb.record(make_t(new_event(i), event_status::pending, seq_pending, acks.make()));
    }
    ASSERT_TRUE(eventually([&] { return wb.stats().failures >= 3; }));
    EXPECT_FALSE(wb.stats().healthy);
    EXPECT_NE(wb.stats().last_error.find("read-only for now"), std::string::npos);
    EXPECT_EQ(acks.ok() + acks.failed(), 0);
    ASSERT_TRUE(conn().exec("DELETE FROM " + schema() + ".read_only").ok());
    ASSERT_TRUE(acks.wait(500));
    EXPECT_EQ(acks.ok(), 500);
    // Now kill the writers' connections (one per lane) between batches and keep writing.
    auto killed = conn().query(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = "
        "$1",
        {app});
    ASSERT_TRUE(killed.ok()) << killed.message();
    EXPECT_EQ(killed->get_int(0, 0), static_cast<std::int64_t>(o.connections));
    for (int i = 501; i <= 1000; ++i) {
        wb.record(make_t(new_event(i), event_status::pending, seq_pending, acks.make()));
    }
    ASSERT_TRUE(acks.wait(1000));
    EXPECT_EQ(acks.ok(), 1000);
    EXPECT_EQ(count("true"), 1000);
    auto st = wb.stats();
    EXPECT_EQ(st.rejected, 0u);
    EXPECT_TRUE(st.healthy) << st.last_error;
    wb.stop(deadline_in(std::chrono::seconds(30)));
}

// Lanes fail on their own: while one lane's events (even ids) draw a transient error, the other
// lane's commit and are acknowledged; the held ones commit once the database takes them, each
// with its later transition (completed) after its first (pending), whichever lane a batch is on.
TEST_F(write_behind_test, a_lane_that_cannot_write_holds_only_its_own_events) {
    status s = conn().exec(
        "CREATE TABLE " + schema() + ".hold_even (x int); INSERT INTO " + schema() +
        ".hold_even VALUES (1); CREATE FUNCTION " + schema() +
        ".he() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.event_id % 2 = 0 AND EXISTS "
        "(SELECT 1 FROM " +
        schema() +
        ".hold_even) THEN RAISE EXCEPTION 'even ids wait' USING ERRCODE = '25006'; END IF; "
        "RETURN NEW; END $$; CREATE TRIGGER he BEFORE INSERT ON " +
        schema() + ".tpubsub_events FOR EACH ROW EXECUTE FUNCTION " + schema() + ".he()");
    ASSERT_TRUE(s.ok()) << s.message();
    write_behind_options o = options();
    o.connections = 2;  // lane 0: even ids, lane 1: odd ids
    write_behind wb(o);
    ASSERT_TRUE(wb.start().ok());
    ack_counter odd, even;
    std::vector<event_ptr> evs;
    for (event_id id = 1; id <= 400; ++id) {
        evs.push_back(new_event(id));
        wb.record(
            make_t(evs.back(), event_status::pending, seq_pending, (id % 2 ? odd : even).make()));
    }
    ASSERT_TRUE(odd.wait_ok(200));
    ASSERT_TRUE(eventually([&] { return wb.stats().failures >= 2; }));
    EXPECT_EQ(even.ok() + even.failed(), 0);
    EXPECT_FALSE(wb.stats().healthy);
    EXPECT_EQ(count("true"), 200);
    EXPECT_EQ(count("event_id % 2 = 0"), 0);
    for (auto& ev : evs) wb.record(make_t(ev, event_status::completed, seq_pending + 1));
    ASSERT_TRUE(eventually([&] { return count("status = 'completed'") == 200; }));
    ASSERT_TRUE(conn().exec("DELETE FROM " + schema() + ".hold_even").ok());
    ASSERT_TRUE(even.wait_ok(200));
    wb.stop(deadline_in(std::chrono::seconds(30)));
    EXPECT_EQ(count("status = 'completed'"), 400);
    EXPECT_TRUE(wb.stats().healthy) << wb.stats().last_error;
    EXPECT_EQ(wb.stats().unpersisted_events, 0u);
}

// The merge's UPDATE of rows that exist never scans the stage once per event row. Statistics
// taken when the table held 100 rows of another node make the planner believe the batch's id
// range holds one row of ours; hash and merge joins are turned off so that it must loop, as it
// chose to in the keyed bench, where the loop scanning the stage per event row took 2-12 s a
// batch. With the stage's index the loop probes it.
TEST_F(write_behind_test, merge_update_never_scans_the_stage_per_row) {
    const std::string ev = schema() + ".tpubsub_events";
    ASSERT_TRUE(conn().exec(stage_table_sql()).ok());
    status s = conn().exec(
        "INSERT INTO " + ev +
        " (event_id, event_type, status, claimed_by) SELECT g, 't', 'completed', 'other' FROM "
        "generate_series(1, 100) g; ANALYZE " +
        ev + "; INSERT INTO " + ev +
        " (event_id, event_type, status, claimed_by) SELECT g, 't', 'pending', 'node-x' FROM "
        "generate_series(101, 5100) g");
    ASSERT_TRUE(s.ok()) << s.message();
    const std::string merge = merge_sql(schema(), conn().quote_literal("node-x"));
    const std::string cut = "SET LOCAL enable_seqscan = off; ";
    const auto at = merge.find(cut);
    ASSERT_NE(at, std::string::npos) << merge;
    ASSERT_TRUE(conn().exec("BEGIN").ok());
    s = conn().exec(
        "INSERT INTO pg_temp.pubsub_stage (event_id, is_new, status, retry_count) "
        "SELECT g, false, 'completed', 0 FROM generate_series(101, 5100, 25) g; " +
        merge.substr(0, at + cut.size()) +
        "; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off");
    ASSERT_TRUE(s.ok()) << s.message();
    auto plan = conn().query("EXPLAIN " + merge.substr(at + cut.size()) +
                             " AND e.event_id BETWEEN 101 AND 5100");
    ASSERT_TRUE(plan.ok()) << plan.message();
    std::string text;
    for (int i = 0; i < plan->rows(); ++i) text += std::string(plan->get(i, 0)) + "\n";
    (void)conn().exec("ROLLBACK");
    EXPECT_NE(text.find("Nested Loop"), std::string::npos) << text;
    EXPECT_EQ(text.find("Seq Scan on pubsub_stage"), std::string::npos) << text;
}

// A row that always draws a "transient" SQLSTATE (a trigger raising 40001, 57014 or 25006
// for one row only) must not hold up the others forever: once the error recurs with the server
// answering, the batch is bisected; other rows commit, so the database does take writes and the
// row that keeps failing alone fails. (When no row commits, as with a read-only server, nothing
// fails: see the test above.)
TEST_F(write_behind_test, row_that_always_draws_a_transient_error_fails_alone) {
    for (const char* code : {"40001", "57014", "25006"}) {
        SCOPED_TRACE(code);
        ASSERT_TRUE(conn()
                        .exec("DROP TRIGGER IF EXISTS poison ON " + schema() +
                              ".tpubsub_events; DROP FUNCTION IF EXISTS " + schema() +
                              ".poison(); TRUNCATE " + schema() + ".tpubsub_events")
                        .ok());
        plant_poison_trigger(conn(), schema(), code, false);
        write_behind wb(options());
        ASSERT_TRUE(wb.start().ok());
        ack_counter acks;
        for (int i = 1; i <= 1000; ++i) {
            wb.record(make_t(i == 400 ? poisoned_event(i) : new_event(i), event_status::pending,
                             seq_pending, acks.make()));
        }
        ASSERT_TRUE(acks.wait(1000));
        EXPECT_EQ(acks.ok(), 999);
        EXPECT_NE(acks.last_error().find("event 400 rejected by PostgreSQL: poisoned event 400"),
                  std::string::npos)
            << acks.last_error();
        EXPECT_EQ(count("true"), 999);
        EXPECT_TRUE(wb.stats().healthy) << wb.stats().last_error;
        wb.stop(deadline_in(std::chrono::seconds(30)));
    }
}

// The other side of the probe: an operator locks the whole table while the writer runs with a
// short statement_timeout (57014 for every row, the server answering). The probe starts while
// the lock is held and the lock ends in the middle of it; no row may fail for that.
TEST_F(write_behind_test, table_lock_with_statement_timeout_fails_no_row) {
    write_behind_options o = options();
    o.dsn += " options='-c statement_timeout=100'";
    write_behind wb(o);
    ASSERT_TRUE(wb.start().ok());
    ack_counter acks;
    ASSERT_TRUE(conn().exec("BEGIN; LOCK TABLE " + schema() + ".tpubsub_events").ok());
    for (int i = 1; i <= 1000; ++i) {
        wb.record(make_t(new_event(i), event_status::pending, seq_pending, acks.make()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    ASSERT_TRUE(conn().exec("COMMIT").ok());
    ASSERT_TRUE(acks.wait(1000));
    EXPECT_EQ(acks.ok(), 1000) << acks.last_error();
    EXPECT_EQ(count("true"), 1000);
    EXPECT_EQ(wb.stats().rejected, 0u);
    wb.stop(deadline_in(std::chrono::seconds(30)));
}

// The byte budget: while nothing can be written, events are admitted until their bytes fill
// the budget, then refused naming --max-unpersisted-bytes; the held ones commit once the
// database is back (the schema appears) and the budget is empty again.
TEST_F(write_behind_test, byte_budget_refuses_beyond_it_and_held_events_commit_later) {
    const std::string late = "late_b_" + std::to_string(getpid());
    (void)conn().exec("DROP SCHEMA IF EXISTS " + late + " CASCADE");
    write_behind_options o = options();
    o.schema = late;
    const std::size_t each = approx_bytes(*new_event(1));
    memory_budget budget(each * 3);
    o.budget = &budget;
    write_behind wb(o);
    ASSERT_TRUE(wb.start().ok());
    ack_counter acks;
    int admitted = 0;
    for (int i = 1; i <= 10 && wb.admit().ok(); ++i) {
        wb.record(make_t(new_event(i), event_status::pending, seq_pending, acks.make()));
        ++admitted;
    }
    EXPECT_EQ(admitted, 3);
    status refused = wb.admit();
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.message().find("--max-unpersisted-bytes " + std::to_string(each * 3)),
              std::string::npos)
        << refused.message();
    EXPECT_EQ(wb.stats().budget_bytes, each * 3);
    auto applied = apply_migrations(conn(), late);
    ASSERT_TRUE(applied.ok()) << applied.message();
    ASSERT_TRUE(acks.wait(3));
    EXPECT_EQ(acks.ok(), 3);
    EXPECT_EQ(budget.used(), 0u);
    EXPECT_TRUE(wb.admit().ok());
    wb.stop(deadline_in(std::chrono::seconds(30)));
    (void)conn().exec("DROP SCHEMA IF EXISTS " + late + " CASCADE");
}

}  // namespace
}  // namespace pubsub
