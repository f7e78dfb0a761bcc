// Chunk summaries (storage/event_chunks.h): how events are cut into chunks, and that a filter
// written through COPY answers PostgreSQL's get_bit() probes the way the readers expect.
#include "storage/event_chunks.h"

#include <gtest/gtest.h>

#include "tests/support/pg_test_env.h"

namespace pubsub {
namespace {

bool has_bits(const event_chunk& c, const std::vector<int>& bits) {
    for (int b : bits) {
        if (!(static_cast<unsigned char>(c.bloom[std::size_t(b / 8)]) >> (b % 8) & 1)) return false;
    }
    return true;
}

TEST(event_chunks, cut_at_the_size_limit_and_at_id_gaps_in_id_order) {
    std::vector<chunk_input> rows;
    for (event_id id = 600; id >= 1; --id) rows.push_back({id, "t", "s", 1000 + id});
    rows.push_back({5000, "t", "s", 7});  // past the gap: a chunk of its own
    rows.push_back({5000, "t", "s", 7});  // the same event twice counts once
    auto chunks = build_chunks(rows);
    ASSERT_EQ(chunks.size(), 4u);
    EXPECT_EQ(chunks[0].first_id, 1);
    EXPECT_EQ(chunks[0].last_id, 256);
    EXPECT_EQ(chunks[0].n_events, 256);
    EXPECT_EQ(chunks[0].min_created_us, 1001);
    EXPECT_EQ(chunks[0].max_created_us, 1256);
    EXPECT_EQ(chunks[2].first_id, 513);
    EXPECT_EQ(chunks[2].last_id, 600);
    EXPECT_EQ(chunks[3].first_id, 5000);
    EXPECT_EQ(chunks[3].n_events, 1);
    EXPECT_EQ(chunks[3].min_created_us, 7);
}

TEST(event_chunks, cut_where_created_at_spans_more_than_a_minute) {
    const std::int64_t minute = 60'000'000;
    auto chunks = build_chunks(
        {{1, "t", "s", 0}, {2, "t", "s", minute}, {3, "t", "s", minute + 1}, {4, "t", "s", 0}});
    ASSERT_EQ(chunks.size(), 3u);
    EXPECT_EQ(chunks[0].last_id, 2);
    EXPECT_EQ(chunks[1].first_id, 3);
    EXPECT_EQ(chunks[2].first_id, 4);  // back in time by more than a minute
}

TEST(event_chunks, the_filter_holds_values_and_their_prefixes_per_field) {
    auto chunks =
        build_chunks({{1, "import.bulk_3", "batch2:cron", 0}, {2, "report_07", "host01:app3", 0}});
    ASSERT_EQ(chunks.size(), 1u);
    const auto& c = chunks[0];
    ASSERT_EQ(c.bloom.size(), std::size_t(chunk_bloom_bits / 8));
    EXPECT_TRUE(has_bits(c, bloom_bits_exact(chunk_field::type, "import.bulk_3")));
    EXPECT_TRUE(has_bits(c, bloom_bits_exact(chunk_field::source, "host01:app3")));
    EXPECT_TRUE(has_bits(c, bloom_bits_prefix(chunk_field::type, "import.")));
    EXPECT_TRUE(has_bits(c, bloom_bits_for_like(chunk_field::source, "batch%")));
    EXPECT_TRUE(has_bits(c, bloom_bits_for_like(chunk_field::type, "report\\_07")));
    // The field is part of the key, and a prefix is not an exact value.
    EXPECT_FALSE(has_bits(c, bloom_bits_exact(chunk_field::source, "import.bulk_3")));
    EXPECT_FALSE(has_bits(c, bloom_bits_exact(chunk_field::type, "import.")));
    EXPECT_FALSE(has_bits(c, bloom_bits_exact(chunk_field::type, "import.bulk_4")));
    // A prefix longer than what is kept is tested on its kept part.
    const std::string long_type(40, 'x');
    auto l = build_chunks({{1, long_type, "", 0}});
    EXPECT_TRUE(has_bits(l[0], bloom_bits_prefix(chunk_field::type, long_type + "yyy")));
    // A pattern that starts with a wildcard sets no condition.
    EXPECT_TRUE(bloom_bits_for_like(chunk_field::type, "%_07").empty());
}

TEST(event_chunks, a_chunk_of_too_many_values_has_no_filter) {
    std::vector<std::string> names;
    for (int i = 0; i < 256; ++i)
        names.push_back("/data/in/file-" + std::to_string(i * 7919) + ".csv");
    std::vector<chunk_input> rows;
    for (int i = 0; i < 256; ++i)
        rows.push_back({i + 1, names[std::size_t(i)], names[std::size_t(i)], 0});
    auto chunks = build_chunks(rows);
    ASSERT_EQ(chunks.size(), 1u);
    EXPECT_TRUE(chunks[0].bloom.empty());
}

class event_chunks_pg_test : public test::pg_schema_test {};

TEST_F(event_chunks_pg_test, copied_filters_answer_get_bit_probes_and_summaries_cover_rows) {
    ASSERT_TRUE(
        conn()
            .exec("INSERT INTO " + schema() +
                  ".tpubsub_events (event_id, event_type, event_source, created_at) "
                  "SELECT k, CASE WHEN k = 300 THEN 'rare.one' ELSE 'common' END, 'host', "
                  "'2026-01-01 00:00:00+00'::timestamptz + make_interval(secs => k / 100.0) FROM "
                  "generate_series(1, 600) k")
            .ok());
    ASSERT_TRUE(conn().exec("DELETE FROM " + schema() + ".tpubsub_event_chunks").ok());
    ASSERT_TRUE(summarize_events(conn(), schema(), 1, 1000).ok());
    auto probe = [&](const std::vector<int>& bits) {
        std::string cond = "true";
        for (int b : bits) cond += " AND get_bit(values_bloom, " + std::to_string(b) + ") = 1";
        auto r = conn().query(
            "SELECT string_agg(first_id || '-' || last_id, ',' ORDER BY "
            "first_id) FROM " +
            schema() + ".tpubsub_event_chunks WHERE " + cond);
        EXPECT_TRUE(r.ok()) << r.message();
        return r.ok() ? std::string(r->get(0, 0)) : std::string();
    };
    EXPECT_EQ(probe({}), "1-256,257-512,513-600");
    EXPECT_EQ(probe(bloom_bits_exact(chunk_field::type, "rare.one")), "257-512");
    EXPECT_EQ(probe(bloom_bits_for_like(chunk_field::type, "rare.%")), "257-512");
    EXPECT_EQ(probe(bloom_bits_exact(chunk_field::source, "nohost")), "");
    auto times = conn().query(
        "SELECT min_created = '2026-01-01 00:00:02.57+00', "
        "max_created = '2026-01-01 00:00:05.12+00' FROM " +
        schema() + ".tpubsub_event_chunks WHERE first_id = 257");
    ASSERT_TRUE(times.ok()) << times.message();
    EXPECT_EQ(times->get(0, 0), "t");
    EXPECT_EQ(times->get(0, 1), "t");
}

TEST_F(event_chunks_pg_test, gaps_below_the_newest_chunk_are_summarised_once) {
    ASSERT_TRUE(conn()
                    .exec("INSERT INTO " + schema() +
                          ".tpubsub_events (event_id, event_type) SELECT k, 'loaded' FROM "
                          "generate_series(1, 10) k UNION ALL SELECT 20, 'written'")
                    .ok());
    ASSERT_TRUE(conn().exec("DELETE FROM " + schema() + ".tpubsub_event_chunks").ok());
    ASSERT_TRUE(summarize_events(conn(), schema(), 20, 20).ok());  // as a writer would
    auto through = summarize_gaps(conn(), schema(), 0);
    ASSERT_TRUE(through.ok()) << through.message();
    EXPECT_EQ(*through, 20);
    auto r =
        conn().query("SELECT string_agg(first_id || '-' || last_id, ',' ORDER BY first_id) FROM " +
                     schema() + ".tpubsub_event_chunks");
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(r->get(0, 0), "1-10,20-20");
    through = summarize_gaps(conn(), schema(), *through);  // nothing new: no second chunk
    ASSERT_TRUE(through.ok());
    r = conn().query("SELECT count(*) FROM " + schema() + ".tpubsub_event_chunks");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->get(0, 0), "2");
}

}  // namespace
}  // namespace pubsub
