// Rendering of /metrics checked by the strict parser; the parser itself refuses bad texts;
// --http and URL parsing; the heartbeat's info JSON.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "admin/admin_server.h"
#include "admin/heartbeat_info.h"
#include "admin/http_util.h"
#include "admin/prometheus.h"
#include "tests/admin/http_client.h"

namespace pubsub::admin {
namespace {

node_sample sample() {
    node_sample s;
    s.taken_us = 10'000'000;
    s.doors = {{"socket", 7, 1}, {"sql", 3, 0}};
    s.routed.dispatched = 9;
    s.queue_depth[10] = 2;
    s.pools = {{"noop", 1, 0, 0, 9, 0, 0}, {"import", 4, 2, 5, 1, 3, 2}};
    s.wb.rows = 12;
    s.wb.unpersisted_events = 4;
    s.wb.last_commit_us = 7'500'000;
    s.declared_dead = 1;
    s.taken_over = 6;
    latency_histogram h;
    for (int us : {50, 400, 400, 2'000'000, 99'000'000}) h.observe_us(us);
    s.ingest_to_start = h.snapshot();
    s.retention = retention_pruner::totals{4, 1200, 1, 1'765'000'000'250'000, 1'500'000};
    return s;
}

TEST(prometheus, RenderedTextParsesStrictly) {
    auto m = test::parse_prometheus(render_prometheus(sample()));
    ASSERT_TRUE(m.ok()) << m.message();
    EXPECT_EQ(*test::prom_value(*m, "pubsub_events_received_total", {{"door", "socket"}}), 7);
    EXPECT_EQ(*test::prom_value(*m, "pubsub_queue_depth", {{"priority", "10"}}), 2);
    EXPECT_EQ(*test::prom_value(*m, "pubsub_pool_busy", {{"job_type", "import"}}), 2);
    EXPECT_EQ(*test::prom_value(*m, "pubsub_deliveries_retried_total", {{"job_type", "import"}}),
              2);
    EXPECT_EQ(*test::prom_value(*m, "pubsub_write_behind_lag_seconds"), 2.5);
    EXPECT_EQ(*test::prom_value(*m, "pubsub_ingest_to_handler_start_seconds_count"), 5);
    EXPECT_EQ(
        *test::prom_value(*m, "pubsub_ingest_to_handler_start_seconds_bucket", {{"le", "0.0005"}}),
        3);
    EXPECT_EQ(
        *test::prom_value(*m, "pubsub_ingest_to_handler_start_seconds_bucket", {{"le", "+Inf"}}),
        5);
    EXPECT_DOUBLE_EQ(*test::prom_value(*m, "pubsub_ingest_to_handler_start_seconds_sum"),
                     101.00085);
    EXPECT_EQ(*test::prom_value(*m, "pubsub_node_declared_dead_total"), 1);
    EXPECT_EQ(*test::prom_value(*m, "pubsub_events_taken_over_total"), 6);
    EXPECT_EQ(m->at("pubsub_events_taken_over_total").type, "counter");
}

// The retention pruner's counters; a node_sample without a pruner (tools, tests) has none.
TEST(prometheus, RetentionPrunerFigures) {
    auto m = test::parse_prometheus(render_prometheus(sample()));
    ASSERT_TRUE(m.ok()) << m.message();
    EXPECT_EQ(*test::prom_value(*m, "pubsub_retention_cycles_total"), 4);
    EXPECT_EQ(*test::prom_value(*m, "pubsub_retention_events_removed_total"), 1200);
    EXPECT_EQ(*test::prom_value(*m, "pubsub_retention_errors_total"), 1);
    EXPECT_EQ(m->at("pubsub_retention_errors_total").type, "counter");
    EXPECT_DOUBLE_EQ(*test::prom_value(*m, "pubsub_retention_last_success_timestamp_seconds"),
                     1'765'000'000.25);
    EXPECT_DOUBLE_EQ(*test::prom_value(*m, "pubsub_retention_last_duration_seconds"), 1.5);
    node_sample none = sample();
    none.retention.reset();
    m = test::parse_prometheus(render_prometheus(none));
    ASSERT_TRUE(m.ok()) << m.message();
    EXPECT_EQ(m->count("pubsub_retention_cycles_total"), 0u);
}

// The alerting figures: readiness, the table's oldest pending event, dead deliveries (failed
// attempts with no retry left), the build, and the process's own (read from /proc).
TEST(prometheus, AlertFiguresParseStrictly) {
    health_sample h;
    h.ready = false;
    h.oldest_pending_age_s = 42.5;
    h.process = read_process_sample();
    ASSERT_TRUE(h.process.ok);
    auto m = test::parse_prometheus(render_prometheus(sample(), h));
    ASSERT_TRUE(m.ok()) << m.message();
    EXPECT_EQ(*test::prom_value(*m, "pubsub_ready"), 0);
    EXPECT_EQ(*test::prom_value(*m, "pubsub_oldest_pending_age_seconds"), 42.5);
    EXPECT_EQ(*test::prom_value(*m, "pubsub_deliveries_dead_total", {{"job_type", "import"}}), 1);
    EXPECT_EQ(*test::prom_value(*m, "pubsub_deliveries_dead_total", {{"job_type", "noop"}}), 0);
    EXPECT_EQ(m->at("pubsub_build_info").samples.size(), 1u);
    EXPECT_EQ(m->at("pubsub_build_info").samples[0].labels.count("revision"), 1u);
    EXPECT_GT(*test::prom_value(*m, "process_resident_memory_bytes"), 1 << 20);
    EXPECT_GE(*test::prom_value(*m, "process_open_fds"), 3);
    EXPECT_GT(*test::prom_value(*m, "process_start_time_seconds"), 1.7e9);
    EXPECT_GE(*test::prom_value(*m, "process_cpu_seconds_total"), 0);
    EXPECT_EQ(m->at("process_cpu_seconds_total").type, "counter");

    h.oldest_pending_age_s.reset();  // the database did not answer: the family, no sample
    m = test::parse_prometheus(render_prometheus(sample(), h));
    ASSERT_TRUE(m.ok()) << m.message();
    EXPECT_FALSE(test::prom_value(*m, "pubsub_oldest_pending_age_seconds").ok());
}

// Every metric the sample alerting rules name is one /metrics exports (but the persistent
// workers' restarts, which come with the workers).
TEST(prometheus, SampleAlertRulesNameExportedMetrics) {
    std::ifstream in(PUBSUB_ALERTS_FILE);
    ASSERT_TRUE(in) << PUBSUB_ALERTS_FILE;
    std::stringstream text;
    text << in.rdbuf();
    const std::string rules = text.str();
    health_sample h;
    h.oldest_pending_age_s = 1;
    h.process = read_process_sample();
    auto m = test::parse_prometheus(render_prometheus(sample(), h));
    ASSERT_TRUE(m.ok()) << m.message();
    const std::regex metric(R"(\b(?:pubsub|process)_[a-z_0-9]+)");
    int named = 0;
    for (std::sregex_iterator i(rules.begin(), rules.end(), metric), end; i != end; ++i) {
        const std::string name = i->str();
        if (name == "pubsub_worker_restarts_total") continue;
        ++named;
        EXPECT_TRUE(m->count(name)) << name << " is in the alert rules but not in /metrics";
    }
    EXPECT_GE(named, 6);
}

TEST(prometheus, PersistentWorkersPerSubscriberAndWorker) {
    node_sample s = sample();
    worker_status up;
    up.pid = 42;
    up.running = true;
    up.in_flight = 3;
    worker_status down;
    down.slot = 1;
    down.restarts = 4;
    down.last_error = "persistent worker 41 exited (exit 3)";
    s.workers = {{"load \"sales\"", {up, down}}};
    auto m = test::parse_prometheus(render_prometheus(s));
    ASSERT_TRUE(m.ok()) << m.message();
    EXPECT_EQ(*test::prom_value(*m, "pubsub_worker_running",
                                {{"subscriber", "load \"sales\""}, {"worker", "0"}}),
              1);
    EXPECT_EQ(*test::prom_value(*m, "pubsub_worker_in_flight",
                                {{"subscriber", "load \"sales\""}, {"worker", "0"}}),
              3);
    EXPECT_EQ(*test::prom_value(*m, "pubsub_worker_restarts_total",
                                {{"subscriber", "load \"sales\""}, {"worker", "1"}}),
              4);
    heartbeat_info hb;
    std::string text = hb.json(s);
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    ASSERT_FALSE(p.parse(text).get(doc)) << text;
    simdjson::dom::array ws;
    ASSERT_FALSE(doc["workers"].get(ws)) << text;
    ASSERT_EQ(ws.size(), 2u);
    EXPECT_EQ(std::string_view(ws.at(1)["last_error"].get_string().value()),
              "persistent worker 41 exited (exit 3)");
    EXPECT_EQ(ws.at(0)["pid"].get_int64().value(), 42);
    // Without persistent subscribers, no worker families at all.
    EXPECT_EQ(render_prometheus(sample()).find("pubsub_worker_"), std::string::npos);
}

TEST(prometheus, StrictParserRefusesMalformedTexts) {
    const char* bad[] = {
        "x 1\n",                                           // no TYPE
        "# TYPE x counter\nx{a=\"1\"} 1\nx{a=\"1\"} 2\n",  // duplicate series
        "# TYPE x counter\nx -1\n",                        // negative counter
        "# TYPE x gauge\nx{a=1} 1\n",                      // unquoted label
        "# TYPE x gauge\nx 1,5\n",                         // bad value
        "# TYPE x gauge\nx 1",                             // no final newline
        "# TYPE x gauge\ny 1\n",                           // sample of another family
        "# TYPE x gauge\n# TYPE x gauge\nx 1\n",           // TYPE twice
        "# TYPE 1x gauge\n",                               // bad name
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 0\nh_count 1\n",
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 0\nh_count 1\n",
        "# TYPE x gauge\n\nx 1\n",  // empty line
    };
    for (const char* text : bad) EXPECT_FALSE(test::parse_prometheus(text).ok()) << text;
    EXPECT_TRUE(
        test::parse_prometheus("# HELP x a \\\\ b\n# TYPE x gauge\nx{a=\"q\\\"\"} 1.5e3\n").ok());
}

TEST(prometheus, HeartbeatInfoIsJsonWithRates) {
    heartbeat_info hb;
    node_sample a = sample();
    (void)hb.json(a);
    node_sample b = a;
    b.taken_us += 2'000'000;
    b.doors[0].received += 20;
    b.pools[0].succeeded += 10;
    std::string text = hb.json(b);
    simdjson::dom::parser p;
    simdjson::dom::element e;
    ASSERT_FALSE(p.parse(text).get(e)) << text;
    double in = 0, out = 0, lag = 0;
    ASSERT_FALSE(e["events_per_s"]["in"].get(in)) << text;
    ASSERT_FALSE(e["events_per_s"]["out"].get(out)) << text;
    EXPECT_EQ(in, 10);
    EXPECT_EQ(out, 5);
    ASSERT_FALSE(e["write_behind"]["lag_s"].get(lag));
    EXPECT_EQ(lag, 4.5);
    std::int64_t depth = 0;
    ASSERT_FALSE(e["queue_depth"]["10"].get(depth));
    EXPECT_EQ(depth, 2);
    std::int64_t taken = 0;
    ASSERT_FALSE(e["fencing"]["taken_over"].get(taken)) << text;
    EXPECT_EQ(taken, 6);
}

TEST(admin_parsing, ListenAddress) {
    auto p = parse_listen("8080");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->first, "127.0.0.1");
    EXPECT_EQ(p->second, 8080);
    p = parse_listen("0.0.0.0:9");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->first, "0.0.0.0");
    p = parse_listen("[::1]:80");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->first, "::1");
    EXPECT_FALSE(parse_listen("host:").ok());
    EXPECT_FALSE(parse_listen("70000").ok());
    EXPECT_FALSE(parse_listen("http").ok());
}

TEST(admin_parsing, TargetSegmentsAndQuery) {
    parsed_target t;
    ASSERT_TRUE(parse_target("/api/subscribers/a%20b?type=x*&source=s+1&empty=", t));
    ASSERT_EQ(t.segments.size(), 3u);
    EXPECT_EQ(t.segments[2], "a b");
    EXPECT_EQ(t.query["type"], "x*");
    EXPECT_EQ(t.query["source"], "s 1");
    EXPECT_EQ(t.query["empty"], "");
    parsed_target bad;
    EXPECT_FALSE(parse_target("/x?a=%4", bad));
    EXPECT_FALSE(parse_target("/%zz", bad));
}

}  // namespace
}  // namespace pubsub::admin
