// admin/http_access.h: which Host values are loopback, same-origin, JSON content types.
#include "admin/http_access.h"

#include <gtest/gtest.h>

namespace pubsub::admin {
namespace {

TEST(loopback_host, LiteralsAndLocalhostWithOrWithoutPort) {
    const std::vector<std::string> none;
    for (const char* h : {"127.0.0.1", "127.0.0.1:8080", "127.0.0.2:1", "127.255.255.254",
                          "127.1.2.3:65535", "localhost", "localhost:80", "LocalHost:8080", "[::1]",
                          "[::1]:8080", "[0:0:0:0:0:0:0:1]:80"}) {
        EXPECT_TRUE(loopback_host(h, none)) << h;
    }
}

TEST(loopback_host, NamesThatOnlyLookLoopbackAreNot) {
    const std::vector<std::string> none;
    for (const char* h : {"127.attacker.example",
                          "127.attacker.example:8080",
                          "127.0.0.1.attacker.example",
                          "localhost.attacker.example",
                          "attacker.example",
                          "127.0.0",
                          "127.0.0.1.",
                          "127.0.0.256",
                          "127.00.0.1",
                          "0127.0.0.1",
                          "127.0.0.1:",
                          "127.0.0.1:80:80",
                          "127.0.0.1:8o",
                          "127.0.0.1:123456",
                          "128.0.0.1",
                          "[::2]",
                          "[::1",
                          "[::1]x",
                          "[127.0.0.1]",
                          "::1",
                          "",
                          "[]",
                          "localhost.",
                          " localhost",
                          "10.0.0.1"}) {
        EXPECT_FALSE(loopback_host(h, none)) << h;
    }
}

TEST(loopback_host, AllowedNamesCompareWithoutCaseAndTakeAPort) {
    const std::vector<std::string> allowed{"admin.internal", "box"};
    EXPECT_TRUE(loopback_host("admin.internal", allowed));
    EXPECT_TRUE(loopback_host("ADMIN.internal:9000", allowed));
    EXPECT_TRUE(loopback_host("box:1", allowed));
    EXPECT_FALSE(loopback_host("admin.internal.attacker.example", allowed));
    EXPECT_FALSE(loopback_host("boxes", allowed));
}

TEST(same_origin, SchemeHostAndPortMustMatchTheHostHeader) {
    EXPECT_TRUE(same_origin("http://127.0.0.1:8080", "127.0.0.1:8080"));
    EXPECT_TRUE(same_origin("http://LOCALHOST:8080", "localhost:8080"));
    EXPECT_TRUE(same_origin("http://localhost", "localhost:80"));
    EXPECT_TRUE(same_origin("https://box", "box:443"));
    EXPECT_TRUE(same_origin("http://[::1]:8080", "[::1]:8080"));
    EXPECT_FALSE(same_origin("http://evil.example", "127.0.0.1:8080"));
    EXPECT_FALSE(same_origin("http://127.0.0.1:8081", "127.0.0.1:8080"));
    EXPECT_FALSE(same_origin("http://127.0.0.1", "127.0.0.1:8080"));
    EXPECT_FALSE(same_origin("https://box", "box:80"));
    EXPECT_FALSE(same_origin("null", "127.0.0.1:8080"));
    EXPECT_FALSE(same_origin("file://", "127.0.0.1:8080"));
    EXPECT_FALSE(same_origin("ftp://127.0.0.1:8080", "127.0.0.1:8080"));
    EXPECT_FALSE(same_origin("http://127.0.0.1:8080", ""));
}

TEST(json_content_type, MediaTypeWithOptionalParameters) {
    EXPECT_TRUE(json_content_type("application/json"));
    EXPECT_TRUE(json_content_type("Application/JSON; charset=utf-8"));
    EXPECT_TRUE(json_content_type("application/json;charset=UTF-8"));
    EXPECT_FALSE(json_content_type(""));
    EXPECT_FALSE(json_content_type("application/x-www-form-urlencoded"));
    EXPECT_FALSE(json_content_type("multipart/form-data; boundary=x"));
    EXPECT_FALSE(json_content_type("text/plain"));
    EXPECT_FALSE(json_content_type("application/json-seq"));
    EXPECT_FALSE(json_content_type("text/plain; application/json"));
}

}  // namespace
}  // namespace pubsub::admin
