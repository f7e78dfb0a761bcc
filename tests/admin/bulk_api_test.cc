// Bulk retry and cancel through the real pubsubd's HTTP API (POST /api/events/retry|cancel with
// a filter, dry run first), the audit of every change made through the API (GET /api/audit, and
// the table read over the test's own connection), and GET /api/history's per-second samples.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <thread>

#include "tests/admin/admin_env.h"

namespace pubsub::test {
namespace {

using namespace std::chrono_literals;

std::string line(const std::string& type) {
    return e2e::event_line(type, "src:1", "{}", 5, "durable");
}

std::int64_t number(const std::string& body, const char* key) {
    simdjson::dom::parser p;
    simdjson::padded_string text(body);
    std::int64_t n = -1;
    if (p.parse(text)[key].get(n)) ADD_FAILURE() << "no integer " << key << " in " << body;
    return n;
}

class bulk_api : public admin_test {
  protected:
    std::int64_t count(const std::string& where) {
        auto r = conn().query("SELECT count(*) FROM " + conn().quote_identifier(schema()) +
                              ".tpubsub_events WHERE " + where);
        EXPECT_TRUE(r.ok()) << r.message();
        return r.ok() ? r->get_int(0, 0) : -1;
    }
    // action, rows and actor of the audit entries, newest first, over the test's connection.
    std::vector<std::string> audit_rows() {
        auto r = conn().query("SELECT action || ' ' || rows || ' ' || actor FROM " +
                              conn().quote_identifier(schema()) +
                              ".tpubsub_audit ORDER BY audit_id DESC");
        EXPECT_TRUE(r.ok()) << r.message();
        std::vector<std::string> out;
        for (int i = 0; r.ok() && i < r->rows(); ++i) out.emplace_back(r->get(i, 0));
        return out;
    }
};

TEST_F(bulk_api, RetryAndCancelByFilterWithADryRunAndAnAudit) {
    auto r = conn().query("INSERT INTO " + conn().quote_identifier(schema()) +
                          ".tpubsub_subscribers (subscriber_name, event_type, job_type, "
                          "max_retries) VALUES ('fail_a', 'doomed_a', 'report', 0), "
                          "('fail_b', 'doomed_b', 'report', 0), ('sleeper', 'slow', 'import', 0)");
    ASSERT_TRUE(r.ok()) << r.message();
    start_admin({"--job-command", "import=/bin/sleep 30"});
    ASSERT_FALSE(HasFatalFailure());
    auto ids = emit({line("doomed_a"), line("doomed_a"), line("doomed_a"), line("doomed_b"),
                     line("slow"), line("slow")});
    ASSERT_EQ(ids.size(), 6u);
    for (int i = 0; i < 4; ++i) wait_status(ids[i], "failed");
    for (int i = 4; i < 6; ++i) wait_status(ids[i], "processing");

    // Bad input: 400 naming the field; no token: 401.
    for (auto [body, says] : {std::pair{"{}", "empty filter"},
                              {R"({"type":""})", "type: empty glob"},
                              {R"({"status":"pending"})", "only to failed or cancelled"},
                              {R"({"status":"done"})", "unknown status"},
                              {R"({"since":"nope"})", "since: not a"},
                              {R"({"bogus":1})", "unknown field"},
                              {R"({"ids":["x"]})", "ids: expected"},
                              {"[1]", "must be a JSON object"}}) {
        auto bad = call("POST", "/api/events/retry", body);
        EXPECT_EQ(bad.status, 400) << body << " -> " << bad.body;
        EXPECT_NE(bad.body.find(says), std::string::npos) << body << " -> " << bad.body;
    }
    EXPECT_EQ(call("POST", "/api/events/retry", R"({"status":"failed"})", "").status, 401);

    const std::string filter = R"({"type":"doomed_a*","status":"failed")";
    auto dry = call("POST", "/api/events/retry", filter + R"(,"dry_run":true})");
    ASSERT_EQ(dry.status, 200) << dry.body;
    EXPECT_EQ(number(dry.body, "events"), 3);
    EXPECT_EQ(count("status = 'failed'"), 4) << "a dry run changes nothing";
    EXPECT_TRUE(audit_rows().empty()) << "a dry run is not an operator change";

    auto done = call("POST", "/api/events/retry", filter + "}");
    ASSERT_EQ(done.status, 200) << done.body;
    EXPECT_EQ(number(done.body, "events"), 3);
    EXPECT_EQ(number(done.body, "batches"), 1);
    for (int i = 0; i < 3; ++i) {
        std::string again = wait_status(ids[i], "failed");
        EXPECT_NE(again.find("\"retry_count\":1"), std::string::npos) << again;
    }
    EXPECT_EQ(count("event_type = 'doomed_b' AND retry_count = 0 AND status = 'failed'"), 1);

    auto cancelled = call("POST", "/api/events/cancel",
                          R"({"type":"slow","ids":[)" + std::to_string(ids[4]) + "]}");
    ASSERT_EQ(cancelled.status, 200) << cancelled.body;
    EXPECT_EQ(number(cancelled.body, "events"), 1);
    wait_status(ids[4], "cancelled");
    EXPECT_EQ(count("event_id = " + std::to_string(ids[5]) + " AND status = 'processing'"), 1);

    auto rows = audit_rows();
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].rfind("events.cancel 1 http 127.0.0.1:", 0), 0u) << rows[0];
    EXPECT_EQ(rows[1].rfind("events.retry 3 http 127.0.0.1:", 0), 0u) << rows[1];
    auto listed = get("/api/audit?limit=1");
    ASSERT_EQ(listed.status, 200) << listed.body;
    EXPECT_NE(listed.body.find("\"action\":\"events.cancel\""), std::string::npos) << listed.body;
    EXPECT_EQ(listed.body.find("events.retry"), std::string::npos) << "limit=1: " << listed.body;
    EXPECT_EQ(get("/api/audit?limit=0").status, 400);
}

TEST_F(bulk_api, EverySubscriberChangeAndSingleActionIsAudited) {
    start_admin();
    ASSERT_FALSE(HasFatalFailure());
    const std::string sub = "/api/subscribers/audited";
    EXPECT_EQ(call("POST", "/api/subscribers",
                   R"({"subscriber_name":"audited","event_type":"t","job_type":"noop"})")
                  .status,
              201);
    EXPECT_EQ(call("PUT", sub, R"({"max_retries":5})").status, 200);
    EXPECT_EQ(call("POST", sub + "/disable").status, 200);
    EXPECT_EQ(call("POST", sub + "/enable").status, 200);
    EXPECT_EQ(call("DELETE", sub).status, 200);
    EXPECT_EQ(call("DELETE", sub).status, 404);  // nothing changed: no entry
    auto ids = emit({line("nobody_listens")});
    ASSERT_EQ(ids.size(), 1u);
    wait_status(ids[0], "completed");
    auto r = conn().query(
        "UPDATE " + conn().quote_identifier(schema()) +
        ".tpubsub_events SET status = 'failed' WHERE event_id = " + std::to_string(ids[0]));
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(call("POST", "/api/events/" + std::to_string(ids[0]) + "/retry").status, 200);
    auto rows = audit_rows();
    std::vector<std::string> actions;
    for (const auto& row : rows) {
        EXPECT_NE(row.find(" 1 http 127.0.0.1:"), std::string::npos) << row;
        actions.push_back(row.substr(0, row.find(' ')));
    }
    EXPECT_EQ(actions, (std::vector<std::string>{"events.retry", "subscribers.remove",
                                                 "subscribers.enable", "subscribers.disable",
                                                 "subscribers.update", "subscribers.add"}));
}

TEST_F(bulk_api, HistoryServesPerSecondSamples) {
    start_admin();
    ASSERT_FALSE(HasFatalFailure());
    for (const char* asset : {"/bulk.js", "/charts.js", "/audit.js"}) {
        auto a = get(asset);
        EXPECT_EQ(a.status, 200) << asset;
        EXPECT_EQ(a.body.find("http://"), std::string::npos) << asset << " refers elsewhere";
        EXPECT_EQ(a.body.find("https://"), std::string::npos) << asset << " refers elsewhere";
    }
    auto ids = emit({line("a"), line("b")});
    ASSERT_EQ(ids.size(), 2u);
    std::this_thread::sleep_for(2500ms);
    auto h = get("/api/history?seconds=3600");
    ASSERT_EQ(h.status, 200) << h.body;
    simdjson::dom::parser p;
    simdjson::padded_string text(h.body);
    simdjson::dom::element doc;
    ASSERT_FALSE(p.parse(text).get(doc)) << h.body;
    std::size_t n = 0;
    for (const char* series : {"at_ms", "in_per_s", "out_per_s", "failed_per_s", "queue_depth"}) {
        simdjson::dom::array a;
        ASSERT_FALSE(doc[series].get(a)) << series << " in " << h.body;
        if (n == 0) n = a.size();
        EXPECT_EQ(a.size(), n) << series;
    }
    EXPECT_GE(n, 2u) << h.body;
    double in = 0;
    for (auto v : doc["in_per_s"].get_array()) in += v.get_double().value();
    EXPECT_GT(in, 0) << "the two events show as events in: " << h.body;
    EXPECT_EQ(get("/api/history?seconds=0").status, 400);
    EXPECT_EQ(get("/api/history?seconds=3601").status, 400);
}

}  // namespace
}  // namespace pubsub::test
