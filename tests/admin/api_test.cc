// The admin HTTP API of the real pubsubd against PostgreSQL: every route, authorization (401,
// 403), bad input (400 with the message), unknown ids (404), wrong state (409), malformed JSON.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <thread>

#include "tests/admin/admin_env.h"

namespace pubsub::test {
namespace {

using namespace std::chrono_literals;

// A parsed JSON body; the test fails when it is not JSON.
struct json {
    explicit json(const std::string& text) : padded(text) {
        auto err = parser.parse(padded).get(root);
        EXPECT_FALSE(err) << "not JSON: " << text;
    }
    simdjson::padded_string padded;
    simdjson::dom::parser parser;
    simdjson::dom::element root;
};

std::string error_of(const http_reply& r) {
    json j(r.body);
    std::string_view e;
    if (j.root["error"].get(e)) return "(no error field) " + r.body;
    return std::string(e);
}

std::string line(const std::string& type, const std::string& source = "src:1",
                 const std::string& data = "{}") {
    return e2e::event_line(type, source, data, 5, "durable");
}

TEST_F(admin_test, PageAndAssetsAreServedWithoutExternalReferences) {
    start_admin();
    ASSERT_FALSE(HasFatalFailure());
    auto page = get("/");
    EXPECT_EQ(page.status, 200);
    EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
    for (const char* tab : {"Event Queue", "Subscribers", "Event Log", "Service Status"}) {
        EXPECT_NE(page.body.find(tab), std::string::npos) << tab;
    }
    for (const char* asset : {"/app.js", "/style.css", "/index.html"}) {
        auto a = get(asset);
        EXPECT_EQ(a.status, 200) << asset;
        EXPECT_EQ(a.body.find("http://"), std::string::npos) << asset << " refers elsewhere";
        EXPECT_EQ(a.body.find("https://"), std::string::npos) << asset << " refers elsewhere";
    }
    EXPECT_EQ(get("/nothing.js").status, 404);
    EXPECT_EQ(get("/no/such/route").status, 404);
    EXPECT_EQ(call("POST", "/").status, 405);
    EXPECT_EQ(call("DELETE", "/api/events").status, 405);
    EXPECT_EQ(get("/api/events?type=%zz").status, 400);
    // Bound to loopback: a foreign Host (DNS rebinding) is refused, loopback names are fine.
    auto rebound = http_call(port(), "GET", "/api/events", "", "", "", "evil.example:80");
    ASSERT_TRUE(rebound.ok());
    EXPECT_EQ(rebound->status, 421);
    auto local =
        http_call(port(), "GET", "/healthz", "", "", "", "localhost:" + std::to_string(port()));
    ASSERT_TRUE(local.ok());
    EXPECT_EQ(local->status, 200);
}

// A %-escape that decodes to bytes PostgreSQL cannot take as text (not UTF-8, or NUL) is a bad
// request naming the URL, not a 500 carrying PostgreSQL's "invalid byte sequence" (nor, for a
// NUL, a silently shortened name).
TEST_F(admin_test, UrlThatDecodesToNonUtf8OrNulIsABadRequest) {
    start_admin();
    ASSERT_FALSE(HasFatalFailure());
    for (const char* url :
         {"/api/events?type=%ff", "/api/subscribers/%ff", "/api/subscribers/a%00b",
          "/api/events?type=a%00", "/api/events?status=%c0%80"}) {
        auto r = get(url);
        EXPECT_EQ(r.status, 400) << url << " " << r.body;
        EXPECT_NE(r.body.find("URL"), std::string::npos) << url << " " << r.body;
    }
    EXPECT_EQ(get("/api/events?type=%c3%a9").status, 200);  // UTF-8 is fine
}

// The pool's idle connection can die under it (PostgreSQL restarted, an operator's
// pg_terminate_backend): the next request is answered on a fresh one, not with a 500 carrying
// libpq's "server closed the connection unexpectedly".
TEST_F(admin_test, RequestAfterThePooledConnectionWasKilledIsAnswered) {
    start_admin();
    ASSERT_FALSE(HasFatalFailure());
    ASSERT_EQ(get("/api/events?limit=1").status, 200);
    auto killed = conn().query(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid <> "
        "pg_backend_pid() AND query LIKE $1",
        {"%" + schema() + "%tpubsub_events%ORDER BY%"});
    ASSERT_TRUE(killed.ok()) << killed.message();
    ASSERT_GE(killed->get_int(0, 0), 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the backend exits
    auto r = get("/api/events?limit=1");
    EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(admin_test, HealthzIsOkWithADatabaseAndAHealthyWriteBehind) {
    start_admin();
    ASSERT_FALSE(HasFatalFailure());
    auto h = get("/healthz");
    EXPECT_EQ(h.status, 200) << h.body;
    EXPECT_EQ(h.body, "{\"status\":\"ok\"}");
}

TEST_F(admin_test, HealthzGivesTheReasonWhenTheWriteBehindFails) {
    // The table refuses writes as a read-only standby would (25006, transient): the batch is
    // held and retried, and the write-behind is unhealthy meanwhile.
    const std::string s = conn().quote_identifier(schema());
    status r =
        conn().exec("CREATE FUNCTION " + s +
                    ".no_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE "
                    "EXCEPTION 'no_poison: read-only' USING ERRCODE = '25006'; END $$; "
                    "CREATE TRIGGER no_poison BEFORE INSERT ON " +
                    s + ".tpubsub_events FOR EACH ROW EXECUTE FUNCTION " + s + ".no_poison()");
    ASSERT_TRUE(r.ok()) << r.message();
    start_admin();
    ASSERT_FALSE(HasFatalFailure());
    auto c = e2e::ndjson_client::connect(socket_path());
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c->send_line(e2e::event_line("poison", "", "{}", 5, "queued")).ok());
    ASSERT_TRUE(c->read_reply(10s).ok());
    http_reply h;
    for (auto until = std::chrono::steady_clock::now() + 20s;
         std::chrono::steady_clock::now() < until;) {
        h = get("/healthz");
        if (h.status != 200) break;
        std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(h.status, 503);
    EXPECT_NE(h.body.find("write-behind failing"), std::string::npos) << h.body;
    EXPECT_NE(h.body.find("no_poison"), std::string::npos) << h.body;
    auto m = scrape();
    auto healthy = prom_value(m, "pubsub_write_behind_healthy");
    ASSERT_TRUE(healthy.ok()) << healthy.message();
    EXPECT_EQ(*healthy, 0);
    auto errors = prom_value(m, "pubsub_db_errors_total", {{"component", "write_behind"}});
    ASSERT_TRUE(errors.ok()) << errors.message();
    EXPECT_GE(*errors, 1);
}

// A row PostgreSQL refuses for good (a CHECK, class 23) fails alone: counted in
// pubsub_events_rejected_total, and the write-behind stays healthy.
TEST_F(admin_test, RejectedRowIsCountedAndTheWriteBehindStaysHealthy) {
    auto r =
        conn().query("ALTER TABLE " + conn().quote_identifier(schema()) +
                     ".tpubsub_events ADD CONSTRAINT no_poison CHECK (event_type <> 'poison')");
    ASSERT_TRUE(r.ok()) << r.message();
    start_admin();
    ASSERT_FALSE(HasFatalFailure());
    auto c = e2e::ndjson_client::connect(socket_path());
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c->send_line(e2e::event_line("poison", "", "{}", 5, "durable")).ok());
    auto refused = c->read_reply(10s);
    ASSERT_TRUE(refused.ok()) << refused.message();
    EXPECT_NE(refused->error.find("no_poison"), std::string::npos) << refused->raw;
    auto m = scrape();
    auto rejected = prom_value(m, "pubsub_events_rejected_total");
    ASSERT_TRUE(rejected.ok()) << rejected.message();
    EXPECT_EQ(*rejected, 1);
    auto healthy = prom_value(m, "pubsub_write_behind_healthy");
    ASSERT_TRUE(healthy.ok()) << healthy.message();
    EXPECT_EQ(*healthy, 1);
}

TEST_F(admin_test, MetricsParseStrictlyAndCountersMoveAsEventsFlow) {
    add_noop_subscriber("metrics_noop", "m_event");
    start_admin();
    ASSERT_FALSE(HasFatalFailure());
    auto before = scrape();
    ASSERT_FALSE(before.empty());
    for (const char* family :
         {"pubsub_events_received_total", "pubsub_events_routed_total", "pubsub_queue_depth",
          "pubsub_deliveries_succeeded_total", "pubsub_deliveries_failed_total",
          "pubsub_deliveries_retried_total", "pubsub_pool_busy", "pubsub_pool_threads",
          "pubsub_write_behind_last_batch_rows", "pubsub_write_behind_lag_seconds",
          "pubsub_db_errors_total", "pubsub_ingest_to_handler_start_seconds",
          "pubsub_handler_duration_seconds"}) {
        EXPECT_TRUE(before.count(family)) << family;
    }
    EXPECT_EQ(before["pubsub_ingest_to_handler_start_seconds"].type, "histogram");
    EXPECT_EQ(before["pubsub_queue_depth"].samples.size(), 10u);
    auto threads = prom_value(before, "pubsub_pool_threads", {{"job_type", "noop"}});
    ASSERT_TRUE(threads.ok());
    EXPECT_EQ(*threads, 1);

    std::vector<std::string> lines;
    for (int i = 0; i < 25; ++i) lines.push_back(line("m_event", "m:" + std::to_string(i)));
    auto ids = emit(lines);
    ASSERT_EQ(ids.size(), 25u);
    ASSERT_TRUE(e2e::wait_completed(dsn(), schema(), ids, 20s).ok());

    auto after = scrape();
    auto delta = [&](const std::string& name, std::map<std::string, std::string> labels = {}) {
        auto a = prom_value(before, name, labels), b = prom_value(after, name, labels);
        EXPECT_TRUE(a.ok() && b.ok()) << name;
        return a.ok() && b.ok() ? *b - *a : -1;
    };
    EXPECT_EQ(delta("pubsub_events_received_total", {{"door", "socket"}}), 25);
    EXPECT_EQ(delta("pubsub_events_routed_total"), 25);
    EXPECT_EQ(delta("pubsub_deliveries_succeeded_total", {{"job_type", "noop"}}), 25);
    EXPECT_EQ(delta("pubsub_ingest_to_handler_start_seconds_count"), 25);
    EXPECT_EQ(delta("pubsub_handler_duration_seconds_count"), 25);
    EXPECT_GT(delta("pubsub_write_behind_rows_total"), 0);
}

TEST_F(admin_test, StatusListsThisNodeWithItsHeartbeatInfo) {
    start_admin();
    ASSERT_FALSE(HasFatalFailure());
    emit({line("unmatched_type")});
    // The heartbeat runs every 5 s; the row exists from the start.
    auto r = get("/api/status");
    ASSERT_EQ(r.status, 200) << r.body;
    json j(r.body);
    simdjson::dom::array nodes;
    ASSERT_FALSE(j.root["nodes"].get(nodes));
    ASSERT_EQ(nodes.size(), 1u);
    bool alive = false;
    ASSERT_FALSE(nodes.at(0)["alive"].get(alive));
    EXPECT_TRUE(alive);
    std::int64_t pid = 0;
    ASSERT_FALSE(nodes.at(0)["pid"].get(pid));
    EXPECT_EQ(pid, daemon().pid());
    for (auto until = std::chrono::steady_clock::now() + 15s;
         std::chrono::steady_clock::now() < until;) {
        r = get("/api/status");
        if (r.body.find("\"queue_depth\"") != std::string::npos) break;
        std::this_thread::sleep_for(200ms);
    }
    for (const char* key : {"\"queue_depth\"", "\"events_per_s\"", "\"doors\"", "\"lag_s\"",
                            "\"errors\"", "\"pools\"", "\"events_by_status\""}) {
        EXPECT_NE(r.body.find(key), std::string::npos) << key << " in " << r.body;
    }
}

TEST_F(admin_test, EventsListFiltersAndPages) {
    add_noop_subscriber("list_noop", "*");
    start_admin();
    ASSERT_FALSE(HasFatalFailure());
    std::vector<std::string> lines;
    for (int i = 0; i < 5; ++i)
        lines.push_back(line("sales_loaded", "import:" + std::to_string(i)));
    for (int i = 0; i < 3; ++i) lines.push_back(line("report_sent", "report:" + std::to_string(i)));
    auto ids = emit(lines);
    ASSERT_EQ(ids.size(), 8u);
    ASSERT_TRUE(e2e::wait_completed(dsn(), schema(), ids, 20s).ok());

    auto count = [&](const std::string& query) -> std::size_t {
        auto r = get("/api/events" + query);
        EXPECT_EQ(r.status, 200) << query << ": " << r.body;
        json j(r.body);
        simdjson::dom::array a;
        if (j.root["events"].get(a)) return 999;
        return a.size();
    };
    EXPECT_EQ(count(""), 8u);
    EXPECT_EQ(count("?type=sales_loaded"), 5u);
    EXPECT_EQ(count("?type=sales_*"), 5u);
    EXPECT_EQ(count("?source=report:?"), 3u);
    EXPECT_EQ(count("?status=completed"), 8u);
    EXPECT_EQ(count("?status=pending,processing"), 0u);
    EXPECT_EQ(count("?since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00Z"), 8u);
    EXPECT_EQ(count("?until=2000-01-01T00:00:00Z"), 0u);
    EXPECT_EQ(count("?order=queue"), 8u);

    // Paging: 3 + 3 + 2, newest first, no overlap.
    auto page = get("/api/events?limit=3");
    json p1(page.body);
    std::int64_t next = 0;
    ASSERT_FALSE(p1.root["next_before"].get(next)) << page.body;
    EXPECT_EQ(next, ids[5]);
    EXPECT_EQ(count("?limit=3&before=" + std::to_string(next)), 3u);
    auto last = get("/api/events?limit=3&before=" + std::to_string(ids[2]));
    EXPECT_NE(last.body.find("\"next_before\":null"), std::string::npos) << last.body;

    auto bad = get("/api/events?status=done");
    EXPECT_EQ(bad.status, 400);
    EXPECT_NE(error_of(bad).find("unknown status \"done\""), std::string::npos) << bad.body;
    EXPECT_EQ(get("/api/events?limit=0").status, 400);
    EXPECT_EQ(get("/api/events?limit=x").status, 400);
    EXPECT_EQ(get("/api/events?before=-3").status, 400);
    EXPECT_EQ(get("/api/events?order=random").status, 400);
    auto since = get("/api/events?since=yesterday-ish");
    EXPECT_EQ(since.status, 400);
    EXPECT_NE(error_of(since).find("since: not a timestamp"), std::string::npos) << since.body;
}

TEST_F(admin_test, EventShowHasDataTransitionsAndDeliveries) {
    add_noop_subscriber("show_noop", "shown");
    start_admin();
    ASSERT_FALSE(HasFatalFailure());
    auto ids = emit({line("shown", "s:1", "{\"rows\":42}")});
    ASSERT_EQ(ids.size(), 1u);
    std::string body = wait_status(ids[0], "completed");
    json j(body);
    std::int64_t rows = 0;
    ASSERT_FALSE(j.root["event"]["event_data"]["rows"].get(rows)) << body;
    EXPECT_EQ(rows, 42);
    simdjson::dom::array transitions;
    ASSERT_FALSE(j.root["transitions"].get(transitions));
    ASSERT_EQ(transitions.size(), 3u) << body;
    std::string_view last;
    ASSERT_FALSE(transitions.at(2)["status"].get(last));
    EXPECT_EQ(last, "completed");
    simdjson::dom::array deliveries;
    EXPECT_FALSE(j.root["deliveries"].get(deliveries)) << body;

    auto missing = get("/api/events/987654321");
    EXPECT_EQ(missing.status, 404);
    EXPECT_NE(error_of(missing).find("no event with id 987654321"), std::string::npos);
    EXPECT_EQ(get("/api/events/abc").status, 404);
}

TEST_F(admin_test, RetryAndCancelNeedTheTokenAndFollowTheEventState) {
    add_noop_subscriber("ok_noop", "fine");
    auto r = conn().query("INSERT INTO " + conn().quote_identifier(schema()) +
                          ".tpubsub_subscribers (subscriber_name, event_type, job_type, "
                          "max_retries) VALUES ('failing', 'doomed', 'report', 0), "
                          "('sleeper', 'slow', 'import', 0)");
    ASSERT_TRUE(r.ok()) << r.message();
    // report has no --job-command: its deliveries fail at once. import sleeps.
    start_admin({"--job-command", "import=/bin/sleep 30"});
    ASSERT_FALSE(HasFatalFailure());
    auto ids = emit({line("doomed"), line("fine"), line("slow")});
    ASSERT_EQ(ids.size(), 3u);
    std::string failed = wait_status(ids[0], "failed");
    EXPECT_NE(failed.find("\"status\":\"dead\""), std::string::npos) << failed;
    wait_status(ids[1], "completed");
    wait_status(ids[2], "processing");
    const std::string retry = "/api/events/" + std::to_string(ids[0]) + "/retry";

    auto no_token = call("POST", retry, "", "");
    EXPECT_EQ(no_token.status, 401);
    EXPECT_NE(no_token.www_authenticate.find("Bearer"), std::string::npos);
    EXPECT_EQ(call("POST", retry, "", "wrong-token").status, 401);
    auto not_bearer = http_call(port(), "POST", retry, "", "", "Basic dXNlcjpwYXNz");
    ASSERT_TRUE(not_bearer.ok());
    EXPECT_EQ(not_bearer->status, 401);

    auto retried = call("POST", retry);
    EXPECT_EQ(retried.status, 200) << retried.body;
    std::string again = wait_status(ids[0], "failed");
    EXPECT_NE(again.find("\"retry_count\":1"), std::string::npos) << again;

    auto completed = call("POST", "/api/events/" + std::to_string(ids[1]) + "/retry");
    EXPECT_EQ(completed.status, 409) << completed.body;
    auto cancel_done = call("POST", "/api/events/" + std::to_string(ids[1]) + "/cancel");
    EXPECT_EQ(cancel_done.status, 409) << cancel_done.body;
    EXPECT_EQ(call("POST", "/api/events/987654321/retry").status, 404);
    EXPECT_EQ(call("POST", "/api/events/987654321/cancel").status, 404);
    EXPECT_EQ(call("POST", "/api/events/x/cancel").status, 404);

    auto cancelled = call("POST", "/api/events/" + std::to_string(ids[2]) + "/cancel");
    EXPECT_EQ(cancelled.status, 200) << cancelled.body;
    wait_status(ids[2], "cancelled");
}

TEST_F(admin_test, SubscribersCrudWithFilterValidation) {
    start_admin();
    ASSERT_FALSE(HasFatalFailure());
    const std::string good =
        R"({"subscriber_name":"sales","event_type":"import_complete","job_type":"noop",)"
        R"("event_filter":{"event_data.config_name":"sales_*"},"max_retries":2})";
    EXPECT_EQ(call("POST", "/api/subscribers", good, "").status, 401);
    auto created = call("POST", "/api/subscribers", good);
    ASSERT_EQ(created.status, 201) << created.body;
    EXPECT_EQ(call("POST", "/api/subscribers", good).status, 409);

    auto bad_filter = call("POST", "/api/subscribers",
                           R"({"subscriber_name":"b","event_type":"x","job_type":"noop",)"
                           R"("event_filter":{"event_data.n":{"$near":1}}})");
    EXPECT_EQ(bad_filter.status, 400);
    EXPECT_NE(error_of(bad_filter).find("event_filter: event_data.n"), std::string::npos)
        << bad_filter.body;
    auto text_filter = call("POST", "/api/subscribers",
                            R"({"subscriber_name":"t","event_type":"x","job_type":"noop",)"
                            R"("event_filter":"{\"source\": \"a*\"}"})");
    EXPECT_EQ(text_filter.status, 201) << text_filter.body;
    auto malformed = call("POST", "/api/subscribers", R"({"subscriber_name":)");
    EXPECT_EQ(malformed.status, 400);
    EXPECT_NE(error_of(malformed).find("malformed JSON body"), std::string::npos);
    EXPECT_EQ(call("POST", "/api/subscribers", "[1,2]").status, 400);
    auto unknown = call("POST", "/api/subscribers", R"({"name":"x"})");
    EXPECT_EQ(unknown.status, 400);
    EXPECT_NE(error_of(unknown).find("unknown field \"name\""), std::string::npos);
    auto missing = call("POST", "/api/subscribers", R"({"subscriber_name":"m","job_type":"noop"})");
    EXPECT_EQ(missing.status, 400);
    EXPECT_NE(error_of(missing).find("event_type: required"), std::string::npos);
    auto job = call("POST", "/api/subscribers",
                    R"({"subscriber_name":"j","event_type":"x","job_type":"fax"})");
    EXPECT_EQ(job.status, 400);
    EXPECT_NE(error_of(job).find("unknown job type \"fax\""), std::string::npos);
    auto custom = call("POST", "/api/subscribers",
                       R"({"subscriber_name":"c","event_type":"x","job_type":"custom"})");
    EXPECT_EQ(custom.status, 400);
    auto negative = call("POST", "/api/subscribers",
                         R"({"subscriber_name":"n","event_type":"x","job_type":"noop",)"
                         R"("max_retries":-1})");
    EXPECT_EQ(negative.status, 400);
    EXPECT_EQ(call("POST", "/api/subscribers",
                   R"({"subscriber_name":"w","event_type":5,"job_type":"noop"})")
                  .status,
              400);

    auto list = get("/api/subscribers");
    ASSERT_EQ(list.status, 200);
    json all(list.body);
    simdjson::dom::array subs;
    ASSERT_FALSE(all.root["subscribers"].get(subs));
    EXPECT_EQ(subs.size(), 2u);
    auto one = get("/api/subscribers/sales");
    ASSERT_EQ(one.status, 200) << one.body;
    EXPECT_NE(one.body.find("\"max_retries\":2"), std::string::npos) << one.body;
    EXPECT_EQ(get("/api/subscribers/nobody").status, 404);

    auto updated = call("PUT", "/api/subscribers/sales",
                        R"({"event_filter":{"event_data.config_name":"eu_*"},"timeout_s":60})");
    ASSERT_EQ(updated.status, 200) << updated.body;
    EXPECT_NE(updated.body.find("eu_*"), std::string::npos) << updated.body;
    EXPECT_NE(updated.body.find("\"timeout_s\":60"), std::string::npos) << updated.body;
    auto bad_update = call("PUT", "/api/subscribers/sales", R"({"event_filter":{"$or":5}})");
    EXPECT_EQ(bad_update.status, 400);
    EXPECT_NE(error_of(bad_update).find("event_filter"), std::string::npos);
    EXPECT_EQ(call("PUT", "/api/subscribers/nobody", R"({"timeout_s":5})").status, 404);
    EXPECT_EQ(call("PUT", "/api/subscribers/sales", R"({"timeout_s":5)").status, 400);
    EXPECT_EQ(call("PUT", "/api/subscribers/sales", R"({"timeout_s":5})", "").status, 401);

    EXPECT_EQ(call("POST", "/api/subscribers/sales/disable").status, 200);
    EXPECT_NE(get("/api/subscribers/sales").body.find("\"is_active\":false"), std::string::npos);
    EXPECT_EQ(call("POST", "/api/subscribers/sales/enable").status, 200);
    EXPECT_NE(get("/api/subscribers/sales").body.find("\"is_active\":true"), std::string::npos);
    EXPECT_EQ(call("POST", "/api/subscribers/nobody/enable").status, 404);
    EXPECT_EQ(call("POST", "/api/subscribers/sales/disable", "", "").status, 401);

    EXPECT_EQ(call("DELETE", "/api/subscribers/sales", "", "").status, 401);
    EXPECT_EQ(call("DELETE", "/api/subscribers/sales").status, 200);
    EXPECT_EQ(call("DELETE", "/api/subscribers/sales").status, 404);
}

TEST_F(admin_test, SubscriberRunModeAndWorkers) {
    start_admin();
    ASSERT_FALSE(HasFatalFailure());
    auto created = call("POST", "/api/subscribers",
                        R"({"subscriber_name":"w","event_type":"x","job_type":"custom",)"
                        R"("script_path":"w.py","run_mode":"persistent","workers":4})");
    ASSERT_EQ(created.status, 201) << created.body;
    auto one = get("/api/subscribers/w");
    EXPECT_NE(one.body.find(R"("run_mode":"persistent","workers":4)"), std::string::npos)
        << one.body;
    auto noop = call("POST", "/api/subscribers",
                     R"({"subscriber_name":"n","event_type":"x","job_type":"noop",)"
                     R"("run_mode":"persistent"})");
    EXPECT_EQ(noop.status, 400);
    EXPECT_NE(error_of(noop).find("run_mode: persistent needs"), std::string::npos) << noop.body;
    auto mode = call("PUT", "/api/subscribers/w", R"({"run_mode":"daemon"})");
    EXPECT_EQ(mode.status, 400);
    EXPECT_NE(error_of(mode).find("run_mode: unknown run mode \"daemon\""), std::string::npos);
    auto many = call("PUT", "/api/subscribers/w", R"({"workers":65})");
    EXPECT_EQ(many.status, 400);
    EXPECT_EQ(error_of(many), "workers: must be 1 to 64, got 65");
    auto to_noop = call("PUT", "/api/subscribers/w", R"({"job_type":"noop"})");
    EXPECT_EQ(to_noop.status, 400) << to_noop.body;
    auto back = call("PUT", "/api/subscribers/w", R"({"run_mode":"process","workers":1})");
    ASSERT_EQ(back.status, 200) << back.body;
    EXPECT_NE(back.body.find(R"("run_mode":"process","workers":1)"), std::string::npos);
}

TEST_F(admin_test, FilterValidationAnswersWithTheServersMessage) {
    start_admin();
    ASSERT_FALSE(HasFatalFailure());
    auto ok = call("POST", "/api/filters/validate", R"({"event_filter":{"source":"a*"}})", "");
    EXPECT_EQ(ok.status, 200);
    EXPECT_EQ(ok.body, "{\"valid\":true}");
    auto text =
        call("POST", "/api/filters/validate", R"({"event_filter":"{\"a\": {\"$gt\": "})", "");
    EXPECT_EQ(text.status, 200);
    EXPECT_NE(text.body.find("\"valid\":false"), std::string::npos) << text.body;
    auto op = call("POST", "/api/filters/validate",
                   R"({"event_filter":{"event_data.x":{"$what":1}}})", "");
    EXPECT_NE(op.body.find("$what"), std::string::npos) << op.body;
    EXPECT_EQ(call("POST", "/api/filters/validate", "{", "").status, 400);
    EXPECT_EQ(call("POST", "/api/filters/validate", R"({"filter":{}})", "").status, 400);
}

// SPEC 7.1 in the subscriber routes: a key given twice counts at its last occurrence, as jsonb
// keeps it, and what PostgreSQL cannot store is refused naming the field, as at the socket door,
// instead of failing in the database with its message.
TEST_F(admin_test, SubscriberBodiesKeepTheLastKeyAndRefuseWhatCannotBeStored) {
    start_admin();
    ASSERT_FALSE(HasFatalFailure());
    const std::string cannot = "\\u0000 is not allowed (PostgreSQL cannot store it)";
    auto validate = [&](const std::string& body) {
        return call("POST", "/api/filters/validate", body, "");
    };
    EXPECT_EQ(validate(R"({"event_filter":{"$what":1},"event_filter":{"source":"a*"}})").body,
              "{\"valid\":true}");
    EXPECT_NE(validate(R"({"event_filter":{"source":"a*"},"event_filter":{"$what":1}})").body,
              "{\"valid\":true}");
    auto nul = validate(R"({"event_filter":{"event_data.s":"a\u0000b"}})");
    EXPECT_EQ(error_of(nul), "event_filter.event_data.s: " + cannot) << nul.body;
    auto nul_text = validate(R"({"event_filter":"{\"event_data.s\":\"\\u0000\"}"})");
    EXPECT_EQ(error_of(nul_text), "event_data.s: " + cannot) << nul_text.body;
    auto surrogate = validate(R"({"event_filter":{"event_data.s":"\ud800"}})");
    EXPECT_NE(error_of(surrogate).find("event_filter.event_data.s: "), std::string::npos)
        << surrogate.body;

    auto twice = call("POST", "/api/subscribers",
                      R"({"subscriber_name":"dk","event_type":"x","job_type":"noop",)"
                      R"("event_filter":{"$what":1},"event_filter":{"event_data.a":1,)"
                      R"("event_data.a":2},"config_id":null,"config_id":7})");
    ASSERT_EQ(twice.status, 201) << twice.body;
    auto stored = get("/api/subscribers/dk");
    EXPECT_NE(stored.body.find(R"("event_filter":{"event_data.a": 2})"), std::string::npos)
        << stored.body;
    EXPECT_NE(stored.body.find(R"("config_id":7)"), std::string::npos) << stored.body;

    auto name = call("POST", "/api/subscribers",
                     R"({"subscriber_name":"a\u0000b","event_type":"x","job_type":"noop"})");
    EXPECT_EQ(name.status, 400) << name.body;
    EXPECT_EQ(error_of(name), "subscriber_name: " + cannot) << name.body;
    auto type = call("PUT", "/api/subscribers/dk", R"({"event_type":"\udc00x"})");
    EXPECT_EQ(type.status, 400) << type.body;
    EXPECT_NE(error_of(type).find("event_type: "), std::string::npos) << type.body;
    auto text =
        call("PUT", "/api/subscribers/dk", R"({"event_filter":"{\"source\":\"\\u0000\"}"})");
    EXPECT_EQ(text.status, 400) << text.body;
    EXPECT_EQ(error_of(text), "event_filter: source: " + cannot) << text.body;
    // A long unknown key is shown shortened, not sent back whole.
    auto unknown = call("POST", "/api/subscribers", "{\"" + std::string(50000, 'k') + "\":1}");
    EXPECT_EQ(unknown.status, 400);
    EXPECT_LT(error_of(unknown).size(), 400u);
    EXPECT_NE(error_of(unknown).find("k...k"), std::string::npos) << unknown.body.substr(0, 300);
}

TEST_F(admin_test, WithoutATokenChangesAreRefusedUnlessExplicitlyAllowed) {
    start_admin({}, false);
    ASSERT_FALSE(HasFatalFailure());
    const std::string body = R"({"subscriber_name":"s","event_type":"x","job_type":"noop"})";
    auto refused = call("POST", "/api/subscribers", body, "");
    EXPECT_EQ(refused.status, 403);
    EXPECT_NE(error_of(refused).find("--http-token"), std::string::npos);
    EXPECT_EQ(get("/api/subscribers").status, 200);  // reading needs no token
    EXPECT_EQ(call("POST", "/api/subscribers", body, "anything").status, 403);
}

TEST_F(admin_test, AllowUnauthenticatedLetsChangesThrough) {
    start_admin({"--http-allow-unauthenticated"}, false);
    ASSERT_FALSE(HasFatalFailure());
    auto created = call("POST", "/api/subscribers",
                        R"({"subscriber_name":"s","event_type":"x","job_type":"noop"})", "");
    EXPECT_EQ(created.status, 201) << created.body;
}

}  // namespace
}  // namespace pubsub::test
