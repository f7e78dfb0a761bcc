// End-to-end: events sent through every door of the real pubsubd (the socket, unkeyed and
// keyed, and create_event) end up summarised in tpubsub_event_chunks (storage/event_chunks.h),
// so that time-ranged and type searches find them. Witness: the tables read over the test's own
// connection, probed with get_bit() at the filter positions the readers use.
#include <gtest/gtest.h>

#include "storage/event_chunks.h"
#include "tests/e2e/e2e_env.h"

namespace pubsub::e2e {
namespace {

// Rows, and how many of them a chunk covers.
using counts = std::pair<std::int64_t, std::int64_t>;

using namespace std::chrono_literals;

class chunks_e2e : public e2e_test {
  protected:
    // Rows of `type` from `source`, and how many of them lie inside a chunk whose id and
    // created_at ranges hold them and whose filter has their type's and source's bits.
    counts covered(const std::string& type, const std::string& source) {
        std::string bits;
        for (int b : bloom_bits_exact(chunk_field::type, type)) {
            bits += " AND get_bit(c.values_bloom, " + std::to_string(b) + ") = 1";
        }
        for (int b : bloom_bits_exact(chunk_field::source, source)) {
            bits += " AND get_bit(c.values_bloom, " + std::to_string(b) + ") = 1";
        }
        const std::string where = " FROM " + qs() + ".tpubsub_events e WHERE e.event_type = '" +
                                  type + "' AND e.event_source = '" + source + "'";
        return {count("SELECT count(*)" + where),
                count("SELECT count(*)" + where + " AND EXISTS (SELECT 1 FROM " + qs() +
                      ".tpubsub_event_chunks c WHERE e.event_id BETWEEN c.first_id AND "
                      "c.last_id AND e.created_at BETWEEN c.min_created AND c.max_created" +
                      bits + ")")};
    }
};

TEST_F(chunks_e2e, EventsOfEveryDoorLieInAChunkWithTheirTypeAndSource) {
    add_noop_subscriber("n", "chunk.plain");
    start_daemon();
    ASSERT_FALSE(HasFatalFailure());
    auto c = ndjson_client::connect(socket_path());
    ASSERT_TRUE(c.ok()) << c.message();
    constexpr int plain = 600, keyed = 40, by_sql = 30;
    std::string burst;
    for (int i = 0; i < plain; ++i) {
        burst += R"({"event_type":"chunk.plain","event_source":"sock:a","event_data":{"i":)" +
                 std::to_string(i) + "}}\n";
    }
    for (int i = 0; i < keyed; ++i) {
        burst += R"({"event_type":"chunk.keyed","event_source":"sock:k","idempotency_key":"k)" +
                 std::to_string(i) + "\"}\n";
    }
    // A repeated key is answered with the first event's id and writes no row.
    burst += R"({"event_type":"chunk.keyed","event_source":"sock:k","idempotency_key":"k0"})"
             "\n";
    ASSERT_TRUE(c->send(burst).ok());
    std::vector<std::int64_t> ids;
    for (int i = 0; i < plain + keyed + 1; ++i) {
        auto r = c->read_reply(20s);
        ASSERT_TRUE(r.ok() && r->ok) << (r.ok() ? r->raw : r.message());
        if (i < plain + keyed) ids.push_back(r->event_id);
    }
    for (int i = 0; i < by_sql; ++i) {
        ids.push_back(count("SELECT " + qs() + ".create_event('chunk.sql', 'sql:s', '{}')"));
    }
    auto done = wait_completed(dsn(), schema(), ids, 30s);
    ASSERT_TRUE(done.ok()) << done.message() << "\n" << daemon().log_tail();
    EXPECT_EQ(covered("chunk.plain", "sock:a"), counts(plain, plain));
    EXPECT_EQ(covered("chunk.keyed", "sock:k"), counts(keyed, keyed));
    EXPECT_EQ(covered("chunk.sql", "sql:s"), counts(by_sql, by_sql));
    // No chunk names a value no event has.
    std::string bits = "true";
    for (int b : bloom_bits_exact(chunk_field::type, "chunk.none")) {
        bits += " AND get_bit(values_bloom, " + std::to_string(b) + ") = 1";
    }
    EXPECT_EQ(count("SELECT count(*) FROM " + qs() + ".tpubsub_event_chunks WHERE " + bits), 0);
    EXPECT_EQ(stop_daemon(), std::optional<int>(0));
}

}  // namespace
}  // namespace pubsub::e2e
