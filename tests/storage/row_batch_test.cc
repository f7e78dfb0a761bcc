// row_batch: coalescing of transitions into one row per event, stale transitions, restore/merge,
// and the COPY encoding. Pure unit tests (no database).
#include "storage/row_batch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "router/delivery.h"

namespace pubsub {
namespace {

std::shared_ptr<event> new_event(event_id id) {
    auto ev = std::make_shared<event>();
    ev->id = id;
    ev->priority = 6;
    ev->type = "t";
    ev->source = "s";
    ev->data_json = R"({"a":1})";
    ev->created_us = 1'000'000;
    return ev;
}

transition make_t(const event_ptr& ev, event_status s, std::uint32_t seq, std::int64_t at,
                  durable_callback ack = {}, std::string error = {}) {
    transition t;
    t.ev = ev;
    t.status = s;
    t.seq = seq;
    t.at_us = at;
    t.error = std::move(error);
    t.on_durable = std::move(ack);
    return t;
}

// Adds t and returns the ack handed back for immediate use (empty when none).
durable_callback add(row_batch& b, transition t, std::int64_t now = 5) {
    durable_callback ready;
    b.add(std::move(t), now, ready);
    return ready;
}

TEST(row_batch, one_row_per_event_whatever_its_transitions) {
    row_batch b;
    auto ev = new_event(1);
    int acked = 0;
    EXPECT_FALSE(add(
        b, make_t(ev, event_status::pending, seq_pending, 100, [&](const status&) { ++acked; })));
    EXPECT_FALSE(add(b, make_t(ev, event_status::processing, seq_processing, 200)));
    EXPECT_FALSE(add(b, make_t(ev, event_status::completed, seq_final, 300)));
    ASSERT_EQ(b.size(), 1u);
    auto rows = b.take(10);
    ASSERT_EQ(rows.size(), 1u);
    const auto& r = rows[0];
    EXPECT_EQ(r.ev, ev);
    EXPECT_EQ(r.seq, seq_final);
    EXPECT_EQ(r.status, event_status::completed);
    EXPECT_EQ(r.processed_us, 200);
    EXPECT_EQ(r.completed_us, 300);
    EXPECT_TRUE(r.has_pending);
    EXPECT_EQ(r.acks.size(), 1u);
    EXPECT_TRUE(r.is_new());
    EXPECT_TRUE(b.empty());
    EXPECT_EQ(acked, 0) << "row_batch never calls acks of rows it holds";
}

TEST(row_batch, highest_seq_wins_in_any_arrival_order) {
    row_batch b;
    auto ev = new_event(2);
    (void)add(b, make_t(ev, event_status::failed, seq_final, 300, {}, "boom"));
    (void)add(b, make_t(ev, event_status::processing, seq_processing, 200));
    (void)add(b, make_t(ev, event_status::pending, seq_pending, 100));
    auto rows = b.take(10);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].status, event_status::failed);
    EXPECT_EQ(rows[0].error, "boom");
    EXPECT_EQ(rows[0].processed_us, 200);
    EXPECT_EQ(rows[0].completed_us, 300);
    EXPECT_TRUE(rows[0].has_pending);
}

TEST(row_batch, stale_transitions_change_nothing_and_ack_at_once) {
    row_batch b;
    auto ev = new_event(3);
    set_persisted_seq(*ev, seq_processing);  // processing already committed
    int acked = 0;
    auto ready = add(b, make_t(ev, event_status::pending, seq_pending, 100,
                               [&](const status& s) { acked += s.ok() ? 1 : 100; }));
    ASSERT_TRUE(ready) << "the ack of a stale transition is handed back";
    ready(status());
    EXPECT_EQ(acked, 1);
    EXPECT_TRUE(b.empty());
    EXPECT_EQ(b.take_stale_pending(), 1);
    EXPECT_EQ(b.take_stale_pending(), 0);
    // A stale non-pending transition is not counted as a pending one.
    EXPECT_FALSE(add(b, make_t(ev, event_status::processing, seq_processing, 200)));
    EXPECT_EQ(b.take_stale_pending(), 0);
    EXPECT_TRUE(b.empty());
    // A newer one is held, and the row is an update (already written).
    (void)add(b, make_t(ev, event_status::completed, seq_final, 300));
    auto rows = b.take(10);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_FALSE(rows[0].is_new());
    EXPECT_FALSE(rows[0].has_pending);
}

TEST(row_batch, resumed_events_are_never_new_and_have_no_pending) {
    row_batch b;
    auto ev = new_event(4);
    ev->from_table = true;
    (void)add(b, make_t(ev, event_status::pending, seq_pending, 100));
    auto rows = b.take(10);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_FALSE(rows[0].is_new());
    EXPECT_FALSE(rows[0].has_pending);
}

TEST(row_batch, take_respects_max_and_tracks_oldest) {
    row_batch b;
    for (int i = 1; i <= 10; ++i) {
        (void)add(b, make_t(new_event(i), event_status::pending, seq_pending, 1), 1000 + i);
    }
    EXPECT_EQ(b.oldest_us(), 1001);
    auto first = b.take(4);
    EXPECT_EQ(first.size(), 4u);
    EXPECT_EQ(b.size(), 6u);
    std::int64_t oldest_left = 0;
    for (int i = 1; i <= 10; ++i) {
        bool taken = false;
        for (auto& r : first) taken = taken || r.ev->id == i;
        if (!taken && oldest_left == 0) oldest_left = 1000 + i;
    }
    EXPECT_EQ(b.oldest_us(), oldest_left);
    auto rest = b.take(100);
    EXPECT_EQ(rest.size(), 6u);
    EXPECT_TRUE(b.empty());
    EXPECT_EQ(b.oldest_us(), 0);
}

// A write failed: the rows go back and merge with what was added meanwhile.
TEST(row_batch, restore_merges_with_newer_transitions) {
    row_batch b;
    auto ev = new_event(5);
    auto other = new_event(6);
    (void)add(b, make_t(ev, event_status::pending, seq_pending, 100, [](const status&) {}), 10);
    (void)add(b, make_t(other, event_status::pending, seq_pending, 100), 11);
    auto taken = b.take(10);
    ASSERT_EQ(taken.size(), 2u);
    (void)add(b, make_t(ev, event_status::processing, seq_processing, 200, [](const status&) {}),
              20);
    b.restore(std::move(taken));
    ASSERT_EQ(b.size(), 2u);
    EXPECT_EQ(b.oldest_us(), 10);
    auto rows = b.take(10);
    for (auto& r : rows) {
        if (r.ev->id == 5) {
            EXPECT_EQ(r.status, event_status::processing);
            EXPECT_EQ(r.seq, seq_processing);
            EXPECT_EQ(r.processed_us, 200);
            EXPECT_TRUE(r.has_pending);
            EXPECT_EQ(r.acks.size(), 2u);
            EXPECT_EQ(r.first_seen_us, 10);
        } else {
            EXPECT_EQ(r.status, event_status::pending);
        }
    }
}

// The restored row may be the newer one (a final taken, then a late processing added).
TEST(row_batch, restore_keeps_the_highest_seq) {
    row_batch b;
    auto ev = new_event(7);
    (void)add(b, make_t(ev, event_status::completed, seq_final, 300, {}, "note"), 10);
    auto taken = b.take(10);
    (void)add(b, make_t(ev, event_status::processing, seq_processing, 200), 20);
    b.restore(std::move(taken));
    auto rows = b.take(10);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].status, event_status::completed);
    EXPECT_EQ(rows[0].seq, seq_final);
    EXPECT_EQ(rows[0].error, "note");
    EXPECT_EQ(rows[0].processed_us, 200);
    EXPECT_EQ(rows[0].completed_us, 300);
}

std::vector<std::string> split(const std::string& line, char sep) {
    std::vector<std::string> out(1);
    for (char c : line) {
        if (c == sep) {
            out.emplace_back();
        } else {
            out.back() += c;
        }
    }
    return out;
}

TEST(row_batch, encode_new_and_updated_rows) {
    row_batch b;
    auto fresh = new_event(10);
    fresh->data_json = "{\"t\":\"a\\tb\"}";  // a JSON escape: the backslash must be doubled
    fresh->source = "tab\there";
    (void)add(b, make_t(fresh, event_status::pending, seq_pending, 1'000'000));
    auto done = new_event(11);
    set_persisted_seq(*done, seq_pending);
    (void)add(b, make_t(done, event_status::failed, seq_final, 2'000'000, {}, "bad\nthing"));
    auto rows = b.take(10);
    std::sort(rows.begin(), rows.end(),
              [](const pending_row& x, const pending_row& y) { return x.ev->id < y.ev->id; });
    std::string out;
    encode_stage_rows(rows, out);
    auto lines = split(out, '\n');
    ASSERT_EQ(lines.size(), 3u) << out;
    EXPECT_EQ(lines[2], "");
    auto f = split(lines[0], '\t');
    ASSERT_EQ(f.size(), 13u) << lines[0];
    EXPECT_EQ(f[0], "10");
    EXPECT_EQ(f[1], "t");
    EXPECT_EQ(f[2], "t");
    EXPECT_EQ(f[3], "tab\\there");
    EXPECT_EQ(f[4], "{\"t\":\"a\\\\tb\"}");
    EXPECT_EQ(f[5], "pending");
    EXPECT_EQ(f[6], "6");
    EXPECT_NE(f[7], "\\N");  // created_at
    EXPECT_EQ(f[8], "\\N");
    EXPECT_EQ(f[9], "\\N");
    EXPECT_EQ(f[10], "\\N");
    EXPECT_EQ(f[11], "0");
    EXPECT_EQ(f[12], "\\N");  // run_at
    auto u = split(lines[1], '\t');
    ASSERT_EQ(u.size(), 13u) << lines[1];
    EXPECT_EQ(u[0], "11");
    EXPECT_EQ(u[1], "f");
    EXPECT_EQ(u[2], "\\N");
    EXPECT_EQ(u[5], "failed");
    EXPECT_EQ(u[7], "\\N");  // created_at is never updated
    EXPECT_NE(u[9], "\\N");  // completed_at
    EXPECT_EQ(u[10], "bad\\nthing");
}

// A new event's run_at is written with its row; a row whose key another event holds is not
// written at all.
TEST(row_batch, encode_run_at_and_leave_out_duplicates) {
    row_batch b;
    auto later = new_event(20);
    later->run_at_us = 5'000'000;
    (void)add(b, make_t(later, event_status::pending, seq_pending, 1'000'000));
    auto dup = new_event(21);
    (void)add(b, make_t(dup, event_status::pending, seq_pending, 1'000'000));
    auto rows = b.take(10);
    for (auto& r : rows) {
        if (r.ev->id == 21) r.duplicate_of = 7;
    }
    std::string fresh, existing;
    EXPECT_EQ(encode_split_rows(rows, "node", fresh, existing), 1u);
    EXPECT_TRUE(existing.empty());
    auto f = split(split(fresh, '\n')[0], '\t');
    ASSERT_EQ(f.size(), 13u) << fresh;
    EXPECT_EQ(f[0], "20");
    EXPECT_EQ(f[11], "1970-01-01 00:00:05.000000+00");
    EXPECT_EQ(f[12], "node");
    std::string staged;
    encode_stage_rows(rows, staged);
    EXPECT_EQ(split(staged, '\n').size(), 2u) << staged;
}

TEST(row_batch, the_merge_reads_existing_rows_by_their_id_range) {
    auto row_of = [](event_id id, bool exists, event_id duplicate_of = 0) {
        auto ev = new_event(id);
        ev->from_table = exists;
        pending_row row;
        row.ev = ev;
        row.duplicate_of = duplicate_of;
        return row;
    };
    std::vector<pending_row> rows;
    rows.push_back(row_of(1, false));  // new: COPYed, not updated
    rows.push_back(row_of(40, true));
    rows.push_back(row_of(9, true, 3));  // a duplicate: not written at all
    rows.push_back(row_of(25, true));
    rows.push_back(row_of(100, false));
    EXPECT_EQ(existing_rows_range(rows), " AND e.event_id BETWEEN 25 AND 40");
    rows.erase(rows.begin() + 1);
    rows.erase(rows.begin() + 2);
    EXPECT_EQ(existing_rows_range(rows), "");
}

}  // namespace
}  // namespace pubsub
