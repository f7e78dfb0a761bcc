// subscribers update|enable|disable|list --json through pubsubctl, and the store functions
// behind them (update_subscriber, set_subscriber_active), against a real PostgreSQL.
#include <gtest/gtest.h>

#include <sstream>

#include "storage/subscriber_store.h"
#include "tests/pubsubctl/run_ctl.h"

namespace pubsub::test {
namespace {

class subscribers_test : public ctl_test {
  protected:
    std::int64_t add(const std::string& name, const std::string& filter = "{}") {
        subscriber s;
        s.name = name;
        s.event_type = "import_complete";
        s.filter_json = filter;
        s.job = job_type::import;
        s.config_id = 7;
        auto id = insert_subscriber(conn(), schema(), s);
        EXPECT_TRUE(id.ok()) << id.message();
        return id.ok() ? *id : 0;
    }
    subscriber load(const std::string& name) {
        auto subs = load_subscribers(conn(), schema());
        EXPECT_TRUE(subs.ok()) << subs.message();
        for (const subscriber& s : *subs) {
            if (s.name == name) return s;
        }
        ADD_FAILURE() << "no subscriber " << name;
        return {};
    }
};

TEST_F(subscribers_test, StoreUpdateChangesOnlyTheGivenFields) {
    add("a", R"({"event_data.x":1})");
    subscriber_patch p;
    p.max_retries = 9;
    p.filter_json = R"({"event_data.config_name":"sales_*"})";
    auto r = update_subscriber(conn(), schema(), "a", p);
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_TRUE(*r);
    subscriber s = load("a");
    EXPECT_EQ(s.max_retries, 9);
    EXPECT_EQ(s.filter_json, R"({"event_data.config_name": "sales_*"})");
    EXPECT_EQ(s.event_type, "import_complete");
    EXPECT_EQ(s.job, job_type::import);
    EXPECT_EQ(s.config_id, 7);
    EXPECT_EQ(s.timeout_s, 300);
    EXPECT_TRUE(s.is_active);
}

TEST_F(subscribers_test, StoreUpdateByIdAndNotFound) {
    std::int64_t id = add("a");
    subscriber_patch p;
    p.event_type = "file_received";
    auto r = update_subscriber(conn(), schema(), std::to_string(id), p);
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_TRUE(*r);
    EXPECT_EQ(load("a").event_type, "file_received");
    r = update_subscriber(conn(), schema(), "nobody", p);
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_FALSE(*r);
    r = update_subscriber(conn(), schema(), std::to_string(id + 100), subscriber_patch{});
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_FALSE(*r);
}

TEST_F(subscribers_test, StoreUpdateRefusesInvalidFilterAndCustomWithoutScript) {
    add("a");
    subscriber_patch p;
    p.filter_json = R"({"event_data.size":{"$gtx":1}})";
    auto r = update_subscriber(conn(), schema(), "a", p);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.message(), R"(invalid event_filter: event_data.size: unknown operator "$gtx")");
    p = {};
    p.job = job_type::custom;
    r = update_subscriber(conn(), schema(), "a", p);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.message().find("custom needs a script_path"), std::string::npos) << r.message();
    EXPECT_EQ(load("a").job, job_type::import);  // rolled back
    p.script_path = "hook.sh";
    r = update_subscriber(conn(), schema(), "a", p);
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(load("a").job, job_type::custom);
    // The connection is still usable after a refused update (the transaction was closed).
    p = {};
    p.max_retries = -1;
    r = update_subscriber(conn(), schema(), "a", p);
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(load_subscribers(conn(), schema()).ok());
}

TEST_F(subscribers_test, StoreSetActive) {
    add("a");
    auto r = set_subscriber_active(conn(), schema(), "a", false);
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_TRUE(*r);
    EXPECT_FALSE(load("a").is_active);
    r = set_subscriber_active(conn(), schema(), "a", true);
    ASSERT_TRUE(r.ok() && *r);
    EXPECT_TRUE(load("a").is_active);
    r = set_subscriber_active(conn(), schema(), "b", true);
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_FALSE(*r);
}

TEST_F(subscribers_test, CtlUpdate) {
    add("a");
    ctl_run r =
        ctl({"subscribers", "update", "a", "--filter", R"({"event_data.records_loaded":{"$gt":0}})",
             "--timeout-s", "60", "--job-type", "report"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "subscriber a updated\n");
    subscriber s = load("a");
    EXPECT_EQ(s.timeout_s, 60);
    EXPECT_EQ(s.job, job_type::report);
    EXPECT_EQ(s.max_retries, 3);
    EXPECT_EQ(s.filter_json, R"({"event_data.records_loaded": {"$gt": 0}})");
}

TEST_F(subscribers_test, CtlUpdateErrors) {
    add("a");
    ctl_run r = ctl({"subscribers", "update", "a", "--filter", R"({"event_data.x":{"$in":3}})"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, "pubsubctl: invalid --filter: event_data.x: $in needs an array\n");
    r = ctl({"subscribers", "update", "nobody", "--max-retries", "1"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, "pubsubctl: no subscriber named or numbered nobody\n");
    r = ctl({"subscribers", "update", "a", "--job-type", "bogus"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("unknown --job-type"), std::string::npos) << r.err;
    r = ctl({"subscribers", "add", "--name", "b", "--event-type", "x", "--job-type", "noop",
             "--filter", R"({"":1})"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("invalid --filter: "), std::string::npos) << r.err;
    // What PostgreSQL cannot store is named as at the doors, not left to the database.
    const std::string cannot = "\\u0000 is not allowed (PostgreSQL cannot store it)\n";
    r = ctl({"subscribers", "add", "--name", "n", "--event-type", "x", "--job-type", "noop",
             "--filter", R"({"event_data.s":"a\u0000"})"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, "pubsubctl: invalid --filter: event_data.s: " + cannot);
    r = ctl({"subscribers", "update", "a", "--filter", R"({"source":{"$in":["\u0000"]}})"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, "pubsubctl: invalid --filter: source.$in[0]: " + cannot);
    // Bytes that are not UTF-8 (argv may hold any) are named by their flag.
    r = ctl({"subscribers", "add", "--name", "n\xff", "--event-type", "x", "--job-type", "noop"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, "pubsubctl: --name is not valid UTF-8 (PostgreSQL cannot store it)\n");
    r = ctl({"subscribers", "update", "a", "--event-type", "\xc3("});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, "pubsubctl: --event-type is not valid UTF-8 (PostgreSQL cannot store it)\n");
}

TEST_F(subscribers_test, CtlRunModeAndWorkers) {
    ctl_run r = ctl({"subscribers", "add", "--name", "w", "--event-type", "x", "--job-type",
                     "custom", "--script", "w.py", "--mode", "persistent", "--workers", "3"});
    ASSERT_EQ(r.code, 0) << r.err;
    subscriber s = load("w");
    EXPECT_EQ(s.mode, run_mode::persistent);
    EXPECT_EQ(s.workers, 3);
    add("a");
    EXPECT_EQ(load("a").mode, run_mode::process);
    EXPECT_EQ(load("a").workers, 1);
    r = ctl({"subscribers", "update", "a", "--mode", "persistent", "--workers", "2"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(load("a").mode, run_mode::persistent);
    EXPECT_EQ(load("a").workers, 2);
    r = ctl({"subscribers", "update", "a", "--mode", "forever"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, "pubsubctl: unknown --mode \"forever\" (process, persistent)\n");
    r = ctl({"subscribers", "update", "a", "--workers", "0"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, "pubsubctl: --workers: must be 1 to 64, got 0\n");
    r = ctl({"subscribers", "add", "--name", "n", "--event-type", "x", "--job-type", "noop",
             "--mode", "persistent"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("--mode: persistent needs a job type that runs a program"),
              std::string::npos)
        << r.err;
    // The stored job type counts when only the mode changes.
    r = ctl({"subscribers", "update", "a", "--job-type", "noop"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("run_mode: persistent needs"), std::string::npos) << r.err;
    EXPECT_EQ(load("a").job, job_type::import);
}

TEST_F(subscribers_test, CtlEnableDisable) {
    std::int64_t id = add("a");
    ctl_run r = ctl({"subscribers", "disable", "a"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "subscriber a disabled\n");
    EXPECT_FALSE(load("a").is_active);
    r = ctl({"subscribers", "enable", std::to_string(id)});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(load("a").is_active);
    r = ctl({"subscribers", "enable", "nobody"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, "pubsubctl: no subscriber named or numbered nobody\n");
}

TEST_F(subscribers_test, CtlListJson) {
    add("a", R"({"event_data.x":1})");
    ctl_run r = ctl({"subscribers", "list", "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out.front(), '[');
    EXPECT_NE(r.out.find(R"("subscriber_name":"a")"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(R"("event_filter":{"event_data.x": 1})"), std::string::npos) << r.out;
}

// The listing says whether a subscriber is paused, as a table and as JSON.
TEST_F(subscribers_test, CtlListShowsThePause) {
    add("a");
    add("b");
    ASSERT_EQ(ctl({"subscribers", "pause", "a"}).code, 0);
    ctl_run r = ctl({"subscribers", "list", "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto a_at = r.out.find(R"("subscriber_name":"a")");
    const auto b_at = r.out.find(R"("subscriber_name":"b")");
    ASSERT_TRUE(a_at != std::string::npos && b_at != std::string::npos) << r.out;
    EXPECT_LT(r.out.find(R"("paused":"t")", a_at), b_at) << r.out;
    EXPECT_NE(r.out.find(R"("paused":"f")", b_at), std::string::npos) << r.out;
    r = ctl({"subscribers", "list"});
    ASSERT_EQ(r.code, 0) << r.err;
    std::istringstream lines(r.out);
    std::string header, first, second;
    std::getline(lines, header);
    std::getline(lines, first);
    std::getline(lines, second);
    auto column = [&](const std::string& row) {  // the cell under the header's "paused"
        auto at = header.find("paused");
        return at == std::string::npos || row.size() <= at ? std::string() : row.substr(at, 1);
    };
    EXPECT_EQ(column(first), "t") << r.out;
    EXPECT_EQ(column(second), "f") << r.out;
    ASSERT_EQ(ctl({"subscribers", "resume", "a"}).code, 0);
    r = ctl({"subscribers", "list", "--json"});
    EXPECT_EQ(r.out.find(R"("paused":"t")"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace pubsub::test
