// Searches through the event chunks (storage/event_search.h, used by event_queries.h): the
// range arithmetic, and against real PostgreSQL that a search by time range, type or source
// returns exactly the rows a plain scan of the table returns, newest first and paged with
// `before`, across chunk pages and boundaries, overlapping chunks, a chunk without a filter and
// the unsummarised tail. The witness is a plain SQL query over the table on the same
// connection.
#include "storage/event_search.h"

#include <gtest/gtest.h>

#include "storage/event_chunks.h"
#include "storage/event_queries.h"
#include "tests/support/pg_test_env.h"

namespace pubsub {
namespace {

TEST(id_ranges, merge_overlapping_and_touching_highest_first) {
    EXPECT_EQ(merge_ranges_desc({{1, 5}, {20, 30}, {6, 8}, {3, 4}, {25, 40}, {50, 50}}),
              (std::vector<id_range>{{50, 50}, {20, 40}, {1, 8}}));
    EXPECT_EQ(merge_ranges_desc({}), std::vector<id_range>{});
}

TEST(id_ranges, subtract_what_is_done) {
    const std::vector<id_range> done{{90, 100}, {40, 60}, {10, 12}};
    EXPECT_EQ(subtract_ranges({{95, 120}, {30, 70}, {11, 11}, {1, 5}}, done),
              (std::vector<id_range>{{101, 120}, {61, 70}, {30, 39}, {1, 5}}));
    EXPECT_EQ(subtract_ranges({{1, 200}}, done),
              (std::vector<id_range>{{101, 200}, {61, 89}, {13, 39}, {1, 9}}));
    EXPECT_EQ(subtract_ranges({{41, 59}}, done), std::vector<id_range>{});
    EXPECT_EQ(subtract_ranges({{5, 7}}, {}), (std::vector<id_range>{{5, 7}}));
}

// Events 1..4000, created a second apart with some jitter (so neighbouring chunks overlap in
// time). Chunks: groups of 10 over 1..2000; groups of 256 over 1001..1600 again (overlapping
// the first); one chunk without a filter over 2001..2300; none over 2301..2400; groups of 10
// over 2401..3900; and 3901..4000, the tail, has none.
class event_search_test : public test::pg_schema_test {
  protected:
    void SetUp() override {
        test::pg_schema_test::SetUp();
        ASSERT_TRUE(conn()
                        .exec("INSERT INTO " + schema() +
                              ".tpubsub_events (event_id, event_type, event_source, status, "
                              "created_at) SELECT k, CASE WHEN k % 250 = 7 THEN 'rare.x' WHEN k "
                              "% 301 = 5 THEN 'rare.y' ELSE 'common_' || (k % 3) END, CASE WHEN "
                              "k % 333 = 1 THEN 'solo:1' ELSE 'src' || (k % 5) END, CASE k % 10 "
                              "WHEN 0 THEN 'failed' WHEN 1 THEN 'cancelled' ELSE 'completed' "
                              "END, timestamptz '2026-01-01 00:00:00+00' + make_interval(secs "
                              "=> k + (k % 7) * 3) FROM generate_series(1, 4000) k")
                        .ok());
        add_chunks(1, 2000, 10);
        add_chunks(1001, 1600, 256);
        ASSERT_TRUE(conn()
                        .exec("INSERT INTO " + schema() +
                              ".tpubsub_event_chunks SELECT min(event_id), max(event_id), "
                              "min(created_at), max(created_at), count(*), NULL FROM " +
                              schema() + ".tpubsub_events WHERE event_id BETWEEN 2001 AND 2300")
                        .ok());
        add_chunks(2401, 3900, 10);
    }

    // Chunks of `per` events over ids [from, to], with their filters, as a writer makes them.
    void add_chunks(event_id from, event_id to, int per) {
        auto r = conn().query(
            "SELECT event_id, event_type, event_source, (extract(epoch FROM "
            "created_at) * 1000000)::bigint FROM " +
                schema() +
                ".tpubsub_events WHERE event_id BETWEEN $1::bigint AND "
                "$2::bigint ORDER BY event_id",
            {std::to_string(from), std::to_string(to)});
        ASSERT_TRUE(r.ok()) << r.message();
        std::vector<event_chunk> chunks;
        for (int i = 0; i < r->rows(); i += per) {
            std::vector<chunk_input> group;
            for (int j = i; j < std::min(r->rows(), i + per); ++j) {
                group.push_back({r->get_int(j, 0), r->get(j, 1), r->get(j, 2), r->get_int(j, 3)});
            }
            for (auto& c : build_chunks(group)) chunks.push_back(std::move(c));
        }
        std::string data;
        encode_chunk_rows(chunks, data);
        ASSERT_TRUE(conn().copy_in(chunks_copy_sql(schema()), data).ok());
    }

    // Every page of a listing, `limit` rows at a time, followed with `before`.
    std::vector<event_id> all_pages(event_filter f, std::int64_t limit) {
        f.limit = limit;
        std::vector<event_id> out;
        for (int guard = 0; guard < 10000; ++guard) {
            auto page = list_events_json(conn(), schema(), f);
            auto rows = list_events_rows(conn(), schema(), f);
            EXPECT_TRUE(page.ok() && rows.ok())
                << (page.ok() ? "" : page.message()) << (rows.ok() ? "" : rows.message());
            if (!page.ok() || !rows.ok()) break;
            for (int i = 0; i < rows->rows(); ++i) out.push_back(rows->get_int(i, 0));
            if (!page->next_before) {
                EXPECT_LT(rows->rows(), limit);
                break;
            }
            EXPECT_EQ(rows->rows(), limit);
            EXPECT_EQ(*page->next_before, rows->get_int(rows->rows() - 1, 0));
            f.before = page->next_before;
        }
        return out;
    }

    // The witness: the same condition over the whole table, newest first, without the ids no
    // chunk covers below the newest chunk (2301..2400).
    std::vector<event_id> expected(const std::string& where, bool uncovered_too = false) {
        auto r =
            conn().query("SELECT event_id FROM " + schema() + ".tpubsub_events WHERE (" + where +
                         ")" + (uncovered_too ? "" : " AND event_id NOT BETWEEN 2301 AND 2400") +
                         " ORDER BY event_id DESC");
        EXPECT_TRUE(r.ok()) << r.message();
        std::vector<event_id> out;
        for (int i = 0; r.ok() && i < r->rows(); ++i) out.push_back(r->get_int(i, 0));
        return out;
    }

    void expect_pages(const event_filter& f, const std::string& where, bool uncovered_too = false) {
        const auto want = expected(where, uncovered_too);
        ASSERT_FALSE(want.empty()) << where;
        for (std::int64_t limit : {1, 3, 50, 700, 5000}) {
            if (limit * 40 < std::int64_t(want.size())) continue;  // at most 40 pages
            EXPECT_EQ(all_pages(f, limit), want) << where << " limit " << limit;
        }
    }
};

constexpr const char* day =
    "created_at >= '2026-01-01 00:05:00+00' AND created_at < "
    "'2026-01-01 00:55:00+00'";

TEST_F(event_search_test, a_time_range_alone) {
    event_filter f;
    f.since = "2026-01-01 00:05:00+00";
    f.until = "2026-01-01 00:55:00+00";
    expect_pages(f, day);
    f.until.reset();
    expect_pages(f, "created_at >= '2026-01-01 00:05:00+00'");
}

TEST_F(event_search_test, rare_and_common_types_and_sources_with_and_without_a_range) {
    event_filter f;
    f.type_like = like_exact("rare.x");
    expect_pages(f, "event_type = 'rare.x'");
    f.type_like = like_from_glob("rare.*");
    expect_pages(f, "event_type LIKE 'rare.%'");
    f.since = "2026-01-01 00:05:00+00";
    f.until = "2026-01-01 00:55:00+00";
    expect_pages(f, std::string(day) + " AND event_type LIKE 'rare.%'");
    f.type_like = like_exact("common_1");
    expect_pages(f, std::string(day) + " AND event_type = 'common_1'");
    f.type_like.reset();
    f.source_like = like_exact("solo:1");
    expect_pages(f, std::string(day) + " AND event_source = 'solo:1'");
    f.source_like = like_from_glob("src?");  // a prefix with a one-character wildcard
    f.type_like = like_from_glob("rare.y");
    expect_pages(f, std::string(day) + " AND event_source LIKE 'src_' AND event_type = 'rare.y'");
    f = {};
    f.source_like = like_exact("solo:1");
    f.statuses = {"completed", "cancelled"};
    expect_pages(f, "event_source = 'solo:1' AND status IN ('completed', 'cancelled')");
}

TEST_F(event_search_test, a_leading_wildcard_is_bounded_by_its_range) {
    event_filter f;
    f.since = "2026-01-01 00:05:00+00";
    f.until = "2026-01-01 00:55:00+00";
    f.type_like = like_from_glob("*.x");
    expect_pages(f, std::string(day) + " AND event_type LIKE '%.x'");
    // Without a range there is nothing to narrow: the table read newest first, every row.
    f = {};
    f.type_like = like_from_glob("*.x");
    expect_pages(f, "event_type LIKE '%.x'", true);
}

TEST_F(event_search_test, failed_events_in_a_range_through_the_chunks_and_the_failed_index) {
    event_filter f;
    f.statuses = {"failed"};
    f.since = "2026-01-01 00:05:00+00";
    f.until = "2026-01-01 00:55:00+00";
    expect_pages(f, std::string(day) + " AND status = 'failed'");
    f.type_like = like_exact("common_1");
    expect_pages(f, std::string(day) + " AND status = 'failed' AND event_type = 'common_1'");
    // Without a range, and open statuses: the table read straight, every row.
    f.since.reset();
    f.until.reset();
    expect_pages(f, "status = 'failed' AND event_type = 'common_1'", true);
    f.statuses = {"failed", "pending"};
    f.since = "2026-01-01 00:05:00+00";
    expect_pages(f,
                 "created_at >= '2026-01-01 00:05:00+00' AND status IN ('failed', 'pending') "
                 "AND event_type = 'common_1'",
                 true);
}

TEST_F(event_search_test, the_tail_and_new_chunks_are_read_once) {
    event_filter f;
    f.type_like = like_exact("rare.x");
    // A chunk written after the others over ids read as the tail, and one more over ids that
    // another chunk covers: still each event once.
    add_chunks(3901, 3950, 50);
    add_chunks(3001, 3400, 256);
    expect_pages(f, "event_type = 'rare.x'");
    f.since = "2026-01-01 00:05:00+00";
    expect_pages(f, "created_at >= '2026-01-01 00:05:00+00' AND event_type = 'rare.x'");
}

// The searches' plans are costed far above what they do (their id ranges are parameters), so
// with JIT PostgreSQL compiled them for longer than they ran: every connection turns it off.
TEST_F(event_search_test, connections_run_without_jit) {
    auto r = conn().query("SHOW jit");
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(r->get(0, 0), "off");
}

}  // namespace
}  // namespace pubsub
