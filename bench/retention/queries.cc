#include "bench/retention/queries.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <vector>

#include "bench/retention/fill.h"
#include "storage/event_bulk.h"
#include "storage/event_chunks.h"
#include "storage/event_queries.h"
#include "storage/status_queries.h"

namespace pubsub::bench {

namespace {

struct timed_query {
    const char* name;
    std::function<status(pg::connection&, std::mt19937_64&)> run;
};

// One-day windows [since, until) ending 0..28 days ago, as timestamptz text.
std::vector<std::pair<std::string, std::string>> day_windows(pg::connection& c, int days) {
    std::vector<std::pair<std::string, std::string>> out;
    auto r = c.query("SELECT (now() - make_interval(days => d + " + std::to_string(days) +
                     "))::text, (now() - make_interval(days => d))::text FROM generate_series(0, "
                     "28 - " +
                     std::to_string(days) + ") d");
    if (!r.ok()) return out;
    for (int i = 0; i < r->rows(); ++i) out.emplace_back(r->get(i, 0), r->get(i, 1));
    return out;
}

template <class T>
status done(const result<T>& r) {
    return r.ok() ? status() : r.error();
}

std::vector<timed_query> the_queries(pg::connection& c, const std::string& schema) {
    auto day = day_windows(c, 1), week = day_windows(c, 7);
    auto max_id = newest_event_id(c, schema);
    const std::int64_t top = max_id.ok() ? *max_id : 1;
    auto pick = [](const auto& v, std::mt19937_64& g) { return v[g() % v.size()]; };
    auto list = [schema](event_filter f) {
        return [schema, f](pg::connection& cn, std::mt19937_64&) {
            return done(list_events_json(cn, schema, f));
        };
    };
    using setter = std::function<void(event_filter&, std::mt19937_64&)>;
    // A search in one of `windows`, picked at random, with the conditions `set` adds.
    auto within = [schema, pick](const std::vector<std::pair<std::string, std::string>>& windows,
                                 setter set) {
        return [=](pg::connection& cn, std::mt19937_64& g) {
            event_filter f;
            auto w = pick(windows, g);
            f.since = w.first;
            f.until = w.second;
            set(f, g);
            return done(list_events_json(cn, schema, f));
        };
    };
    auto search = [=](setter set) { return within(day, std::move(set)); };
    auto week_search = [=](setter set) { return within(week, std::move(set)); };
    auto type_no = [](std::mt19937_64& g) {
        char b[3];
        std::snprintf(b, sizeof b, "%02d", int(g() % 20));
        return std::string(b);
    };
    event_filter queue;
    queue.statuses = {"pending", "processing"};
    queue.sort = event_filter::order::queue;
    queue.limit = 200;
    event_filter failed;
    failed.statuses = {"failed"};
    failed.limit = 20;
    event_filter newest;
    newest.limit = 100;
    std::vector<timed_query> q;
    q.push_back({"page: queue (open, priority order, 200)", list(queue)});
    q.push_back({"page: recently failed (20)", list(failed)});
    q.push_back({"api: newest page (100)", list(newest)});
    q.push_back({"api: a page before a random id (100)", [=](pg::connection& cn, auto& g) {
                     event_filter f;
                     f.before = 1 + std::int64_t(g() % std::uint64_t(top));
                     return done(list_events_json(cn, schema, f));
                 }});
    q.push_back({"search: type exact, 1 day", search([=](event_filter& f, auto& g) {
                     f.type_like = like_exact("import_" + type_no(g));
                 })});
    q.push_back({"search: type prefix import_*, 1 day",
                 search([](event_filter& f, auto&) { f.type_like = like_from_glob("import_*"); })});
    q.push_back({"search: source exact, 1 day", search([=](event_filter& f, auto& g) {
                     f.source_like = like_exact("host" + type_no(g) + ":app3");
                 })});
    q.push_back({"search: source prefix host1*, 1 day",
                 search([](event_filter& f, auto&) { f.source_like = like_from_glob("host1*"); })});
    q.push_back({"search: type leading wildcard *_07, 1 day",
                 search([](event_filter& f, auto&) { f.type_like = like_from_glob("*_07"); })});
    q.push_back(
        {"search: failed, 1 day", search([](event_filter& f, auto&) { f.statuses = {"failed"}; })});
    q.push_back(
        {"search: failed of a type, 7 days (rare)", week_search([](event_filter& f, auto& g) {
             f.statuses = {"failed"};
             f.type_like = like_exact("report_" + std::to_string(20 + g() % 25));
         })});
    // Rare values (fill.h): an exact type or source in 25,000 events, a prefix in 5,000.
    q.push_back({"search: rare type exact, 7 days", week_search([](event_filter& f, auto& g) {
                     f.type_like = like_exact("import.bulk_" + std::to_string(g() % 5));
                 })});
    q.push_back(
        {"search: rare type prefix import.*, 7 days",
         week_search([](event_filter& f, auto&) { f.type_like = like_from_glob("import.*"); })});
    q.push_back({"search: rare source exact, 7 days", week_search([](event_filter& f, auto& g) {
                     f.source_like = like_exact("batch" + std::to_string(g() % 5) + ":cron");
                 })});
    q.push_back(
        {"search: rare source prefix batch*, 7 days",
         week_search([](event_filter& f, auto&) { f.source_like = like_from_glob("batch*"); })});
    q.push_back({"search: type exact, 7 days", week_search([=](event_filter& f, auto& g) {
                     f.type_like = like_exact("import_" + type_no(g));
                 })});
    // The Event Log's "retry all matching (N)" / "cancel all matching (N)": a dry run of each
    // for the log's search, on every refresh of its rows (admin/web/bulk.js).
    auto matching = [=](bulk_action a,
                        std::optional<std::vector<std::pair<std::string, std::string>>> windows,
                        std::function<void(bulk_selection&, std::mt19937_64&)> set) {
        return [=](pg::connection& cn, std::mt19937_64& g) {
            bulk_selection sel;
            if (windows) {
                auto w = pick(*windows, g);
                sel.since = w.first;
                sel.until = w.second;
            }
            set(sel, g);
            bulk_options o;
            o.dry_run = true;
            return done(run_bulk(cn, schema, a, sel, o));
        };
    };
    q.push_back({"page count: retry, failed",
                 matching(bulk_action::retry, std::nullopt,
                          [](bulk_selection& s, auto&) { s.statuses = {"failed"}; })});
    q.push_back({"page count: retry, failed, 1 day",
                 matching(bulk_action::retry, day,
                          [](bulk_selection& s, auto&) { s.statuses = {"failed"}; })});
    q.push_back({"page count: retry, type, 7 days",
                 matching(bulk_action::retry, week, [=](bulk_selection& s, auto& g) {
                     s.type_glob = "import_" + type_no(g);
                 })});
    q.push_back({"page count: cancel, type, 7 days",
                 matching(bulk_action::cancel, week, [=](bulk_selection& s, auto& g) {
                     s.type_glob = "import_" + type_no(g);
                 })});
    q.push_back({"page count: retry, type (no range)",
                 matching(bulk_action::retry, std::nullopt, [=](bulk_selection& s, auto& g) {
                     s.type_glob = "import_" + type_no(g);
                 })});
    q.push_back({"page count: retry, source (no range)",
                 matching(bulk_action::retry, std::nullopt, [=](bulk_selection& s, auto& g) {
                     s.source_glob = "host" + type_no(g) + ":app3";
                 })});
    q.push_back({"page count: retry, rare type (no range)",
                 matching(bulk_action::retry, std::nullopt, [](bulk_selection& s, auto& g) {
                     s.type_glob = "import.bulk_" + std::to_string(g() % 5);
                 })});
    q.push_back({"page count: retry, type *_07, 1 day",
                 matching(bulk_action::retry, day,
                          [](bulk_selection& s, auto&) { s.type_glob = "*_07"; })});
    q.push_back({"api: one event with deliveries", [=](pg::connection& cn, auto& g) {
                     return done(show_event_json(cn, schema, 1 + std::int64_t(g() % top)));
                 }});
    q.push_back({"api: /api/status summary",
                 [=](pg::connection& cn, auto&) { return done(status_summary_json(cn, schema)); }});
    q.push_back({"pubsubctl status: events by status",
                 [=](pg::connection& cn, auto&) { return done(events_by_status(cn, schema)); }});
    q.push_back({"pubsubctl events list --status failed", [=](pg::connection& cn, auto&) {
                     event_filter f;
                     f.statuses = {"failed"};
                     f.limit = 50;
                     return done(list_events_rows(cn, schema, f));
                 }});
    q.push_back({"pubsubctl events list --type X (no range)", [=](pg::connection& cn, auto& g) {
                     event_filter f;
                     f.type_like = like_exact("import_" + type_no(g));
                     f.limit = 50;
                     return done(list_events_rows(cn, schema, f));
                 }});
    q.push_back({"pubsubctl events list --type (rare, no range)", [=](pg::connection& cn, auto& g) {
                     event_filter f;
                     f.type_like = like_exact("import.bulk_" + std::to_string(g() % 5));
                     f.limit = 50;
                     return done(list_events_rows(cn, schema, f));
                 }});
    q.push_back({"pubsubctl tail: events after newest-1000", [=](pg::connection& cn, auto&) {
                     return done(events_after(cn, schema, top - 1000, std::nullopt, 1000));
                 }});
    q.push_back({"probe: oldest pending age", [=](pg::connection& cn, auto&) {
                     return done(oldest_pending_age_s(cn, schema));
                 }});
    return q;
}

}  // namespace

int run_queries(pg::connection& c, const std::string& schema, const queries_options& o) {
    if (!o.reuse) {
        fill_mix mix;
        mix.failed = 10;
        mix.cancelled = 50;
        mix.pending = 100;
        mix.processing = 50;  // of the newest 1%: 10,000 pending, 5,000 processing at 10M
        mix.span_s = 30 * 86400.0;
        auto t0 = std::chrono::steady_clock::now();
        if (auto s = fill_events(c, schema, o.rows, mix); !s.ok()) {
            std::fprintf(stderr, "fill: %s\n", s.message().c_str());
            return 1;
        }
        (void)c.exec("VACUUM ANALYZE " + c.quote_identifier(schema) + ".tpubsub_events, " +
                     c.quote_identifier(schema) + ".tpubsub_event_chunks");
        std::printf("filled %lld events in %.0f s\n", static_cast<long long>(o.rows),
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    if (o.reuse && o.summarize) {
        const std::string s = c.quote_identifier(schema);
        auto t0 = std::chrono::steady_clock::now();
        auto top = newest_event_id(c, schema);
        status st = top.ok() ? c.exec("TRUNCATE " + s + ".tpubsub_event_chunks") : top.error();
        if (st.ok()) st = summarize_events(c, schema, 1, *top);
        if (st.ok()) st = c.exec("VACUUM ANALYZE " + s + ".tpubsub_event_chunks");
        if (!st.ok()) {
            std::fprintf(stderr, "summarize: %s\n", st.message().c_str());
            return 1;
        }
        std::printf("summarised %lld events in %.0f s\n", static_cast<long long>(*top),
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    if (o.runs < 1) return 0;
    std::mt19937_64 g(42);
    std::printf("%-46s %8s %8s %8s\n", "query", "p50_ms", "p99_ms", "max_ms");
    int rc = 0;
    for (auto& q : the_queries(c, schema)) {
        std::vector<double> ms;
        for (int i = 0; i < o.runs; ++i) {
            auto t0 = std::chrono::steady_clock::now();
            auto s = q.run(c, g);
            ms.push_back(
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                    .count());
            if (!s.ok()) {
                std::fprintf(stderr, "%s: %s\n", q.name, s.message().c_str());
                rc = 1;
                break;
            }
        }
        std::sort(ms.begin(), ms.end());
        auto at = [&](double p) { return ms[std::min(ms.size() - 1, std::size_t(p * ms.size()))]; };
        std::printf("%-46s %8.2f %8.2f %8.2f\n", q.name, at(0.5), at(0.99), ms.back());
        std::fflush(stdout);
    }
    return rc;
}

}  // namespace pubsub::bench
