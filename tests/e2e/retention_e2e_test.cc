// End-to-end: the real pubsubd's background pruner (SPEC 7.4 retention). Events are written
// straight into the table with their completed_at in the past; the witness is the table read
// over the test's own connection: the expired completed event and its delivery rows go shortly
// after start, a failed one stays (failed=0 keeps forever), open and young events stay; after the
// config file's retention changes (completed=1m) and a SIGHUP, the 5-minute-old completed event
// goes too, with an expired cancelled event added meanwhile (default cancelled=7d).
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <thread>

#include "tests/e2e/e2e_env.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;

class retention_e2e : public e2e_test {
  protected:
    std::string ids(const char* table) {
        auto r = conn().query(
            "SELECT coalesce(string_agg(event_id::text, ',' ORDER BY event_id), "
            "'') FROM " +
            schema() + "." + table + " WHERE event_id < 1000");
        return r.ok() ? std::string(r->get(0, 0)) : r.message();
    }
    bool wait_ids(const char* table, const std::string& want, std::chrono::seconds timeout) {
        for (auto until = std::chrono::steady_clock::now() + timeout;
             std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(50ms)) {
            if (ids(table) == want) return true;
        }
        return false;
    }
    void exec(const std::string& sql) { ASSERT_TRUE(conn().exec(sql).ok()) << sql; }
};

TEST_F(retention_e2e, TheDaemonPrunesExpiredFinishedEventsInTheBackground) {
    const std::string ev = schema() + ".tpubsub_events";
    exec("INSERT INTO " + ev +
         " (event_id, event_type, status, completed_at) VALUES "
         "(1, 't', 'completed', now() - interval '2 hours'), "
         "(2, 't', 'completed', now() - interval '5 minutes'), "
         "(3, 't', 'failed', now() - interval '400 days'), "
         "(4, 't', 'cancelled', now() - interval '6 days'), "
         "(5, 't', 'processing', NULL); INSERT INTO " +
         schema() +
         ".tpubsub_deliveries (event_id, subscriber_id, status) "
         "SELECT id, s, 'completed' FROM generate_series(1, 5) id, generate_series(1, 2) s; "
         "UPDATE " +
         ev + " SET created_at = completed_at WHERE completed_at IS NOT NULL");
    const auto config = tmp().path() / "pubsubd.toml";
    std::ofstream(config) << "retention = [\"completed=1h\", \"failed=0\"]\n";
    start_daemon({"--config", config.string()});
    EXPECT_TRUE(wait_ids("tpubsub_events", "2,3,4,5", 15s)) << ids("tpubsub_events");
    EXPECT_EQ(ids("tpubsub_deliveries"), "2,2,3,3,4,4,5,5");

    exec("INSERT INTO " + ev +
         " (event_id, event_type, status, completed_at) VALUES "
         "(6, 't', 'cancelled', now() - interval '8 days'); UPDATE " +
         ev + " SET created_at = completed_at WHERE event_id = 6");
    std::ofstream(config) << "retention = [\"completed=1m\", \"failed=0\"]\n";
    ASSERT_TRUE(daemon().signal(SIGHUP).ok());  // the new policy, and a prune cycle now
    EXPECT_TRUE(wait_ids("tpubsub_events", "3,4,5", 15s)) << ids("tpubsub_events");
    EXPECT_EQ(ids("tpubsub_deliveries"), "3,3,4,4,5,5");
    EXPECT_EQ(stop_daemon(), std::optional<int>(0)) << daemon().log_tail();
}

}  // namespace
}  // namespace pubsub::e2e
