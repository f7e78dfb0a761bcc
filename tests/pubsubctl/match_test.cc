// pubsubctl match against a real PostgreSQL: which active subscribers an event reaches, and the
// first failed condition (or the event_type) for the others.
#include <gtest/gtest.h>

#include "storage/subscriber_store.h"
#include "tests/pubsubctl/run_ctl.h"
#include "tests/pubsubctl/seed_filter.h"

namespace pubsub::test {
namespace {

class match_test : public ctl_test {
  protected:
    void SetUp() override {
        ctl_test::SetUp();
        if (HasFatalFailure()) return;
        add("sales", "import_complete", seed_filter);
        add("every_import", "import_complete", "{}");
        add("files", "file_received", R"({"event_data.extension":"csv"})");
        add("anything_failed", "*", R"({"event_data.status":"failed"})");
        add("dormant", "import_complete", "{}", false);
    }
    void add(const std::string& name, const std::string& type, const std::string& filter,
             bool active = true) {
        subscriber s;
        s.name = name;
        s.event_type = type;
        s.filter_json = filter;
        s.is_active = active;
        auto id = insert_subscriber(conn(), schema(), s);
        ASSERT_TRUE(id.ok()) << id.message();
    }
    static bool has_line(const std::string& out, const std::string& line) {
        return out.find(line + "\n") != std::string::npos;
    }
};

TEST_F(match_test, ReachesAndExplainsMisses) {
    ctl_run r = ctl({"match", "--event",
                     R"({"event_type":"import_complete","event_source":"generic_import:1",)"
                     R"("event_data":{"config_name":"sales_eu","records_loaded":0}})"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(has_line(r.out,
                         "event import_complete from generic_import:1 reaches 1 of 4 "
                         "active subscribers"))
        << r.out;
    EXPECT_TRUE(has_line(r.out, "  reaches  every_import (id 2, noop)")) << r.out;
    EXPECT_TRUE(has_line(r.out, R"(  misses   sales (id 1): event_data.records_loaded: )"
                                R"({"$gt":0} failed, value 0)"))
        << r.out;
    EXPECT_TRUE(has_line(r.out, R"(  misses   files (id 3): event_type: subscriber wants )"
                                R"("file_received", event is "import_complete")"))
        << r.out;
    EXPECT_TRUE(has_line(r.out, R"(  misses   anything_failed (id 4): event_data.status: )"
                                R"({"$eq":"failed"} failed, field missing)"))
        << r.out;
    EXPECT_EQ(r.out.find("dormant"), std::string::npos) << r.out;  // inactive: not considered
}

TEST_F(match_test, EventFromStdinAndJsonOutput) {
    ctl_run r = ctl({"match", "--json"},
                    R"({"event_type":"import_complete","event_data":)"
                    "\n"
                    R"({"config_name":"sales_us","records_loaded":5,"status":"failed"}})");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out,
              R"({"reached":[{"subscriber_id":1,"subscriber_name":"sales"},)"
              R"({"subscriber_id":2,"subscriber_name":"every_import"},)"
              R"({"subscriber_id":4,"subscriber_name":"anything_failed"}],)"
              R"("not_reached":[{"subscriber_id":3,"subscriber_name":"files","reason":)"
              R"("event_type: subscriber wants \"file_received\", event is \"import_complete\""}]})"
              "\n");
}

TEST_F(match_test, GlobMissAndInvalidStoredFilter) {
    // A filter the parser refuses, written behind pubsubctl's back: the router skips it.
    ASSERT_TRUE(conn()
                    .exec("UPDATE " + schema() +
                          R"(.tpubsub_subscribers SET event_filter = '{"event_data.x":{"$bad":1}}')"
                          " WHERE subscriber_name = 'every_import'")
                    .ok());
    ctl_run r = ctl({"match", "-e",
                     R"({"event_type":"import_complete","event_data":)"
                     R"({"config_name":"stock_eu","records_loaded":3}})"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(has_line(r.out, R"(  misses   sales (id 1): event_data.config_name: )"
                                R"({"$glob":"sales_*"} failed, value "stock_eu")"))
        << r.out;
    EXPECT_TRUE(has_line(r.out, R"(  misses   every_import (id 2): invalid event_filter (the )"
                                R"(router skips it): event_data.x: unknown operator "$bad")"))
        << r.out;
}

TEST_F(match_test, InvalidEvent) {
    ctl_run r = ctl({"match", "--event", R"({"event_data":{}})"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, "pubsubctl: invalid event: missing field \"event_type\"\n");
    r = ctl({"match"}, "not json");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("pubsubctl: invalid event: malformed JSON"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace pubsub::test
