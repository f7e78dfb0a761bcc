// bisect and classify_pg_error: plain unit tests (no database). The bisection is driven by a
// fake writer that fails any range holding a bad unit.
#include "storage/bisect.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "storage/pg_errors.h"

namespace pubsub {
namespace {

struct fake_db {
    std::set<std::size_t> bad;
    std::size_t transient_after = static_cast<std::size_t>(-1);  // writes before a transient
    std::size_t writes = 0;
    std::vector<bool> committed, rejected;

    explicit fake_db(std::size_t n) : committed(n), rejected(n) {}
    bisect_ops ops() {
        bisect_ops o;
        o.write = [this](std::size_t lo, std::size_t hi) {
            if (writes++ >= transient_after) return bisect_write{false, true, "gone"};
            for (std::size_t u = lo; u < hi; ++u) {
                if (bad.count(u)) return bisect_write{false, false, "bad " + std::to_string(u)};
            }
            return bisect_write{};
        };
        o.committed = [this](std::size_t lo, std::size_t hi) {
            for (std::size_t u = lo; u < hi; ++u) {
                EXPECT_FALSE(committed[u] || rejected[u]) << "unit " << u << " settled twice";
                committed[u] = true;
            }
        };
        o.rejected = [this](std::size_t u, const std::string& error) {
            EXPECT_EQ(error, "bad " + std::to_string(u)) << "the error names another unit";
            EXPECT_FALSE(committed[u] || rejected[u]) << "unit " << u << " settled twice";
            rejected[u] = true;
        };
        return o;
    }
};

TEST(bisect, isolates_the_bad_units_and_commits_every_other) {
    for (std::set<std::size_t> bad :
         {std::set<std::size_t>{0}, {9999}, {5000}, {1, 2, 3}, {0, 4242, 9999}}) {
        fake_db db(10000);
        db.bad = bad;
        ASSERT_TRUE(bisect_failed_range(0, 10000, "bad " + std::to_string(*bad.begin()), db.ops()));
        for (std::size_t u = 0; u < 10000; ++u) {
            ASSERT_EQ(db.rejected[u], bad.count(u) > 0) << u;
            ASSERT_EQ(db.committed[u], bad.count(u) == 0) << u;
        }
        EXPECT_LE(db.writes, bad.size() * 2 * 14 + 2) << "too many transactions";
    }
}

TEST(bisect, a_transient_error_stops_and_leaves_the_rest_unsettled) {
    fake_db db(100);
    db.bad = {70};
    db.transient_after = 1;  // the first half commits, then the database goes away
    EXPECT_FALSE(bisect_failed_range(0, 100, "bad 70", db.ops()));
    for (std::size_t u = 0; u < 100; ++u) {
        EXPECT_FALSE(db.rejected[u]) << u;
        EXPECT_EQ(db.committed[u], u < 50) << u;
    }
}

TEST(classify_pg_error, data_transient_and_suspect) {
    EXPECT_EQ(classify_pg_error("22P05", true), pg_error_kind::data);  // untranslatable char
    EXPECT_EQ(classify_pg_error("23505", true), pg_error_kind::data);
    EXPECT_EQ(classify_pg_error("54000", true), pg_error_kind::data);
    EXPECT_EQ(classify_pg_error("22023", false), pg_error_kind::transient);  // connection gone
    EXPECT_EQ(classify_pg_error("", true), pg_error_kind::transient);
    EXPECT_EQ(classify_pg_error("40001", true), pg_error_kind::transient);
    EXPECT_EQ(classify_pg_error("57P01", true), pg_error_kind::transient);
    EXPECT_EQ(classify_pg_error("25006", true), pg_error_kind::transient);
    EXPECT_EQ(classify_pg_error("3F000", true), pg_error_kind::transient);  // no schema yet
    EXPECT_EQ(classify_pg_error("42501", true), pg_error_kind::transient);  // privilege
    EXPECT_EQ(classify_pg_error("P0001", true), pg_error_kind::suspect);
}

}  // namespace
}  // namespace pubsub
