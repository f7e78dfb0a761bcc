// id_allocator: ids from the schema's sequence, unique across allocators and threads.
#include "storage/id_allocator.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

#include "tests/support/pg_test_env.h"

namespace pubsub {
namespace {

class id_allocator_test : public test::pg_schema_test {
  protected:
    id_allocator_options options(int block) {
        id_allocator_options o;
        o.dsn = dsn();
        o.schema = schema();
        o.block_size = block;
        return o;
    }
};

TEST_F(id_allocator_test, unique_across_two_allocators_and_threads) {
    constexpr int threads = 4, per_thread = 5000;
    id_allocator a(options(100)), b(options(37));
    ASSERT_TRUE(a.start().ok());
    ASSERT_TRUE(b.start().ok());
    std::vector<std::vector<event_id>> got(threads);
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&, t] {
            auto& mine = got[static_cast<std::size_t>(t)];
            for (int i = 0; i < per_thread; ++i) {
                auto id = ((t + i) % 2 ? a : b).next_id();
                ASSERT_TRUE(id.ok()) << id.message();
                mine.push_back(*id);
            }
        });
    }
    for (auto& t : ts) t.join();
    std::set<event_id> all;
    for (auto& v : got) {
        for (std::size_t i = 1; i < v.size(); ++i) EXPECT_NE(v[i], v[i - 1]);
        all.insert(v.begin(), v.end());
    }
    EXPECT_EQ(all.size(), static_cast<std::size_t>(threads * per_thread));
    EXPECT_GT(*all.begin(), 0);
    a.stop_now();
    b.stop_now();
    // The SQL door (column default) draws from the same sequence: no collision either.
    auto r = conn().query("INSERT INTO " + schema() +
                          ".tpubsub_events (event_type) VALUES ('x') RETURNING event_id");
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(all.count(r->get_int(0, 0)), 0u);
}

TEST_F(id_allocator_test, ids_of_one_thread_increase) {
    id_allocator a(options(10));
    ASSERT_TRUE(a.start().ok());
    event_id prev = 0;
    for (int i = 0; i < 100; ++i) {
        auto id = a.next_id();
        ASSERT_TRUE(id.ok()) << id.message();
        EXPECT_GT(*id, prev);
        prev = *id;
    }
}

TEST_F(id_allocator_test, start_fails_clearly_without_a_database) {
    id_allocator_options o = options(10);
    o.dsn = "host=/nonexistent/pubsub-test-socket-dir dbname=nothing";
    id_allocator a(o);
    status s = a.start();
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("/nonexistent/pubsub-test-socket-dir"), std::string::npos)
        << s.message();
    a.stop_now();
}

TEST_F(id_allocator_test, start_fails_clearly_without_the_sequence) {
    id_allocator_options o = options(10);
    o.schema = "no_such_schema_for_ids";
    id_allocator a(o);
    status s = a.start();
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("cannot reserve event ids"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace pubsub
