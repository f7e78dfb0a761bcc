// End-to-end (SPEC 7.1): values PostgreSQL cannot store, sent through every door of the real
// pubsubd, are refused with the field named, and the next normal event through the same door
// is committed within a second. The witness is the events table read over the test's own
// connection (and the handlers' own output for repeated keys), not the daemon's counters.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "tests/e2e/e2e_env.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
namespace fs = std::filesystem;

struct poison {
    std::string data;   // event_data (or a whole field, see line())
    std::string named;  // what the refusal must say
};

// Each class of value PostgreSQL refuses, in the places a producer may put it.
const std::vector<poison>& poisons() {
    static const std::vector<poison> p = {
        {R"({"s":"a\u0000b"})", "event_data.s: \\u0000 is not allowed"},
        {R"({"k\u0000":1})", "event_data.k\\u0000: \\u0000 is not allowed"},
        {R"({"l":[1,{"x":"\u0000"}]})", "event_data.l[1].x: \\u0000 is not allowed"},
        {R"({"s":"\ud800"})", "event_data.s: an unpaired surrogate \\ud800 is not allowed"},
        {R"({"s":"x\udc00y"})", "event_data.s: an unpaired surrogate \\udc00 is not allowed"},
        {R"({"n":1e131072})", "event_data.n: a number with more than 131072 digits"},
        {R"({"n":1e-16384})", "event_data.n: a number with more than 16383 digits"},
    };
    return p;
}

class poison_e2e : public e2e_test {
  protected:
    std::string qs() { return conn().quote_identifier(schema()); }

    // Polls (over the test's connection) until a row with this event_source exists; returns
    // how long it took, or nullopt after `limit`.
    std::optional<std::chrono::milliseconds> wait_row(const std::string& source,
                                                      std::chrono::milliseconds limit) {
        const auto start = std::chrono::steady_clock::now();
        for (;;) {
            auto r = conn().query(
                "SELECT count(*) FROM " + qs() + ".tpubsub_events WHERE event_source = $1",
                {source});
            EXPECT_TRUE(r.ok()) << r.message();
            const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - start);
            if (r.ok() && r->get_int(0, 0) > 0) return took;
            if (took > limit) return std::nullopt;
            std::this_thread::sleep_for(5ms);
        }
    }
    void expect_committed_within_a_second(const std::string& source, const std::string& after) {
        EXPECT_TRUE(wait_row(source, 1000ms))
            << "the normal event sent after " << after << " was not committed within a second\n"
            << daemon().log_tail();
    }
    std::string column(const std::string& sql) {
        auto r = conn().query(sql);
        EXPECT_TRUE(r.ok()) << r.message();
        return r.ok() && r->rows() > 0 ? std::string(r->get(0, 0)) : std::string();
    }
    // Waits until the daemon's log holds every one of `parts` on one line.
    bool log_has(const std::vector<std::string>& parts, std::chrono::milliseconds limit) {
        const auto until = std::chrono::steady_clock::now() + limit;
        do {
            std::ifstream in(tmp().path() / "pubsubd.log");
            for (std::string l; std::getline(in, l);) {
                bool all = true;
                for (const std::string& p : parts) all = all && l.find(p) != std::string::npos;
                if (all) return true;
            }
            std::this_thread::sleep_for(10ms);
        } while (std::chrono::steady_clock::now() < until);
        return false;
    }
};

TEST_F(poison_e2e, SocketRefusesNamingTheFieldAndTheNextEventCommits) {
    add_noop_subscriber("poison_noop", "poison");
    start_daemon();
    ASSERT_FALSE(HasFatalFailure());
    auto c = ndjson_client::connect(socket_path());
    ASSERT_TRUE(c.ok()) << c.message();
    int n = 0;
    auto send_and_expect = [&](const std::string& line, const std::string& named) {
        ASSERT_TRUE(c->send_line(line).ok());
        auto r = c->read_reply(5s);
        ASSERT_TRUE(r.ok()) << r.message();
        EXPECT_FALSE(r->ok) << "accepted: " << line;
        EXPECT_NE(r->error.find(named), std::string::npos) << r->raw << " should say " << named;
        EXPECT_NE(r->error.find("PostgreSQL cannot store it"), std::string::npos) << r->raw;
        const std::string source = "after:" + std::to_string(n++);
        ASSERT_TRUE(c->send_line(event_line("poison", source, R"({"ok":1})", 5, "durable")).ok());
        auto ok = c->read_reply(5s);
        ASSERT_TRUE(ok.ok()) << ok.message();
        EXPECT_TRUE(ok->ok) << ok->raw;
        expect_committed_within_a_second(source, line);
    };
    for (const poison& p : poisons()) {
        send_and_expect(event_line("poison", "s", p.data, 5, "durable"), p.named);
    }
    // The other fields, and a raw NUL byte (only a socket line can carry one).
    send_and_expect(R"({"event_type":"poi\u0000son"})", "event_type: \\u0000 is not allowed");
    // The other fields, and a raw NUL byte (only a socket line can carry one).
    send_and_expect(R"({"event_type":"poison","event_source":"\u0000"})",
                    "event_source: \\u0000 is not allowed");
    send_and_expect("{\"event_type\":\"poison\",\"event_data\":{\"s\":\"a\0b\"}}"s,
                    "event_data.s: a NUL byte is not allowed");

    // What jsonb accepts is accepted, and stored as sent.
    const std::string big = "123456789012345678901234567890";
    ASSERT_TRUE(
        c->send_line(event_line("poison", "big", R"({"n":)" + big + R"(,"d":1e400})", 5, "durable"))
            .ok());
    auto r = c->read_reply(5s);
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_TRUE(r->ok) << r->raw;
    EXPECT_EQ(column("SELECT event_data->>'n' FROM " + qs() +
                     ".tpubsub_events WHERE event_source = 'big'"),
              big);
}

TEST_F(poison_e2e, PgNotifyRefusesNamingTheFieldAndTheNextEventCommits) {
    add_noop_subscriber("poison_noop", "poison");
    start_daemon();
    ASSERT_FALSE(HasFatalFailure());
    // The door is up once a normal payload is persisted.
    ASSERT_TRUE(conn()
                    .query("SELECT pg_notify(" + conn().quote_identifier(schema()) +
                               ".tpubsub_channel('tpubsub_ingest'), $1)",
                           {event_line("poison", "warm-up", "", 5, "")})
                    .ok());
    ASSERT_TRUE(wait_row("warm-up", 10s)) << daemon().log_tail();
    int n = 0;
    for (const poison& p : poisons()) {
        auto sent = conn().query("SELECT pg_notify(" + conn().quote_identifier(schema()) +
                                     ".tpubsub_channel('tpubsub_ingest'), $1)",
                                 {event_line("poison", "s", p.data, 5, "")});
        ASSERT_TRUE(sent.ok()) << sent.message();
        // The field up to any backslash: log values are escaped.
        const std::string field = p.named.substr(0, p.named.find_first_of(":\\"));
        EXPECT_TRUE(log_has({"tpubsub_ingest", field, "PostgreSQL cannot store it"}, 2000ms))
            << "no log line naming " << field << "\n"
            << daemon().log_tail();
        const std::string source = "after:" + std::to_string(n++);
        ASSERT_TRUE(conn()
                        .query("SELECT pg_notify(" + conn().quote_identifier(schema()) +
                                   ".tpubsub_channel('tpubsub_ingest'), $1)",
                               {event_line("poison", source, R"({"ok":1})", 5, "")})
                        .ok());
        expect_committed_within_a_second(source, p.data);
    }
    EXPECT_EQ(column("SELECT count(*) FROM " + qs() + ".tpubsub_events WHERE event_source = 's'"),
              "0");
}

TEST_F(poison_e2e, CreateEventCallersGetPostgresqlsOwnError) {
    add_noop_subscriber("poison_noop", "poison");
    start_daemon();
    ASSERT_FALSE(HasFatalFailure());
    const std::string call = "SELECT " + qs() + ".create_event($1, $2, $3::jsonb)";
    struct refused {
        std::string type, source, data, error;
    };
    const std::vector<refused> cases = {
        {"poison", "s", R"({"s":"a\u0000b"})", "unsupported Unicode escape sequence"},
        {"poison", "s", R"({"s":"\ud800"})", "invalid input syntax for type json"},
        {"poison", "s", R"({"n":1e131072})", "value overflows numeric format"},
    };
    int n = 0;
    for (const refused& c : cases) {
        auto r = conn().query(call, {c.type, c.source, c.data});
        ASSERT_FALSE(r.ok()) << c.data << " was accepted";
        EXPECT_NE(r.message().find(c.error), std::string::npos) << r.message();
        const std::string source = "after:" + std::to_string(n++);
        ASSERT_TRUE(conn().query(call, {"poison", source, R"({"ok":1})"}).ok());
        expect_committed_within_a_second(source, c.data);
    }
    // text columns refuse U+0000 too, before the function runs.
    auto r = conn().query("SELECT " + qs() + ".create_event(chr(0), 's', '{}')");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.message().find("null character not permitted"), std::string::npos) << r.message();
    // The daemon routes what create_event inserted: the normal events complete.
    auto ids = conn().query("SELECT event_id FROM " + qs() +
                            ".tpubsub_events WHERE event_source LIKE 'after:%'");
    ASSERT_TRUE(ids.ok());
    std::vector<std::int64_t> want;
    for (int i = 0; i < ids->rows(); ++i) want.push_back(ids->get_int(i, 0));
    EXPECT_EQ(want.size(), cases.size());
    auto done = wait_completed(dsn(), schema(), want, 10s);
    EXPECT_TRUE(done.ok()) << done.message();
}

TEST_F(poison_e2e, WatcherSkipsNamesPostgresqlCannotStoreWithACount) {
    const fs::path in = tmp().path() / "in";
    fs::create_directories(in);
    add_noop_subscriber("files_noop", "file_received");
    start_daemon({"--watch", in.string()});
    ASSERT_FALSE(HasFatalFailure());
    std::ofstream(in / "bad\xff\xfe.csv") << "x\n";      // not UTF-8
    std::ofstream(in / "ctl\x01\x1f\x7f.csv") << "y\n";  // control characters: storable
    std::ofstream(in / "good.csv") << "z\n";
    EXPECT_TRUE(log_has({"skipped a file whose path is not UTF-8"}, 2000ms)) << daemon().log_tail();
    const auto has_name = [&](const std::string& name) {
        for (auto until = std::chrono::steady_clock::now() + 2s;
             std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(10ms)) {
            auto r = conn().query(
                "SELECT count(*) FROM " + qs() + ".tpubsub_events WHERE event_data->>'name' = $1",
                {name});
            if (r.ok() && r->get_int(0, 0) == 1) return true;
        }
        return false;
    };
    EXPECT_TRUE(has_name("good.csv")) << daemon().log_tail();
    EXPECT_TRUE(has_name("ctl\x01\x1f\x7f.csv")) << daemon().log_tail();
    EXPECT_EQ(column("SELECT count(*) FROM " + qs() +
                     ".tpubsub_events WHERE event_type = 'file_received'"),
              "2");
}

// A subscriber on the last value of a repeated key is reached, the one on the first is not;
// the handler reads the last value on stdin and the table holds it.
TEST_F(poison_e2e, RepeatedKeyRoutesHandlesAndStoresTheLastOccurrence) {
    const fs::path scripts = tmp().path() / "scripts";
    const fs::path out = tmp().path() / "handled.log";
    fs::create_directories(scripts);
    const fs::path script = scripts / "record.sh";
    std::ofstream(script) << "#!/bin/sh\n{ echo \"$PUBSUB_SUBSCRIBER\"; cat; echo; } >> '"
                          << out.string() << "'\n";
    ASSERT_EQ(::chmod(script.c_str(), 0755), 0);
    for (const auto& [name, filter] : std::vector<std::pair<std::string, std::string>>{
             {"dk_first", R"({"event_data.a":1})"}, {"dk_last", R"({"event_data.a":2})"}}) {
        auto r = conn().query("INSERT INTO " + qs() +
                                  ".tpubsub_subscribers (subscriber_name, event_type, "
                                  "event_filter, job_type, script_path) VALUES ($1, 'dk', "
                                  "$2::jsonb, 'custom', $3)",
                              {name, filter, script.string()});
        ASSERT_TRUE(r.ok()) << r.message();
    }
    start_daemon({"--scripts-dir", scripts.string()});
    ASSERT_FALSE(HasFatalFailure());
    auto c = ndjson_client::connect(socket_path());
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c->send_line(R"({"event_type":"dk","event_data":{"a":1,"b":"x","a":2}})").ok());
    auto r = c->read_reply(5s);
    ASSERT_TRUE(r.ok() && r->ok) << (r.ok() ? r->raw : r.message());
    auto done = wait_completed(dsn(), schema(), {r->event_id}, 10s);
    ASSERT_TRUE(done.ok()) << done.message() << "\n" << daemon().log_tail();
    std::ifstream log(out);
    std::stringstream handled;
    handled << log.rdbuf();
    EXPECT_NE(handled.str().find("dk_last\n"), std::string::npos) << handled.str();
    EXPECT_EQ(handled.str().find("dk_first"), std::string::npos) << handled.str();
    EXPECT_NE(handled.str().find(R"({"b":"x","a":2})"), std::string::npos) << handled.str();
    EXPECT_EQ(handled.str().find(R"("a":1)"), std::string::npos) << handled.str();
    EXPECT_EQ(column("SELECT event_data::text FROM " + qs() +
                     ".tpubsub_events WHERE event_id = " + std::to_string(r->event_id)),
              R"({"a": 2, "b": "x"})");
}

}  // namespace
}  // namespace pubsub::e2e
