// worker_protocol: the lines of SPEC 7.3, both ways.
#include "handlers/worker_protocol.h"

#include <gtest/gtest.h>

namespace pubsub {
namespace {

using kind = worker_line::kind;

TEST(worker_protocol, hello) {
    auto l = parse_worker_line(R"({"hello":"ndjson-1","concurrency":4})");
    ASSERT_EQ(l.what, kind::hello) << l.error;
    EXPECT_EQ(l.concurrency, 4);
    EXPECT_EQ(parse_worker_line(R"({"hello":"ndjson-2","concurrency":4})").what, kind::malformed);
    EXPECT_EQ(parse_worker_line(R"({"hello":"ndjson-1"})").what, kind::malformed);
    EXPECT_EQ(parse_worker_line(R"({"hello":"ndjson-1","concurrency":0})").what, kind::malformed);
    EXPECT_EQ(parse_worker_line(R"({"hello":"ndjson-1","concurrency":"2"})").what, kind::malformed);
}

TEST(worker_protocol, answers) {
    auto ok = parse_worker_line(R"({"id":"17","ok":true})");
    ASSERT_EQ(ok.what, kind::answer) << ok.error;
    EXPECT_EQ(ok.id, "17");
    EXPECT_TRUE(ok.ok);
    auto bad = parse_worker_line(R"({"ok":false,"id":"x","error":"no such file"})");
    ASSERT_EQ(bad.what, kind::answer);
    EXPECT_FALSE(bad.ok);
    EXPECT_EQ(bad.error, "no such file");
    auto bare = parse_worker_line(R"({"id":"x","ok":false})");
    EXPECT_EQ(bare.what, kind::answer);
    EXPECT_FALSE(bare.error.empty());
}

TEST(worker_protocol, malformed_lines_say_why) {
    auto junk = parse_worker_line("hello world");
    EXPECT_EQ(junk.what, kind::malformed);
    EXPECT_NE(junk.error.find("not JSON"), std::string::npos) << junk.error;
    EXPECT_EQ(parse_worker_line("[1]").error, "not a JSON object");
    EXPECT_EQ(parse_worker_line(R"({"id":3,"ok":true})").error, "answer: id must be a string");
    EXPECT_EQ(parse_worker_line(R"({"id":"3","ok":1})").error, "answer: ok must be true or false");
    EXPECT_NE(parse_worker_line(R"({"x":1})").error.find("neither a hello nor an answer"),
              std::string::npos);
    EXPECT_EQ(parse_worker_line("").what, kind::malformed);
}

TEST(worker_protocol, delivery_line) {
    delivery_header h;
    h.id = "9";
    h.event_id = 42;
    h.subscriber = "a\"b";
    h.attempt = 2;
    EXPECT_EQ(delivery_line(h, R"({"event_id":42})"),
              R"({"delivery":{"id":"9","event_id":42,"subscriber":"a\"b","attempt":2,)"
              R"("config_id":null},"event":{"event_id":42}})"
              "\n");
    h.config_id = 7;
    EXPECT_NE(delivery_line(h, "{}").find(R"("config_id":7})"), std::string::npos);
}

}  // namespace
}  // namespace pubsub
