// admin_env: fixture of the admin API tests: the real pubsubd (tests/e2e harness) with
// --http 127.0.0.1:0 on a fresh schema; the bound port is read from the daemon's log line
// "http admin listening ... port=N". Helpers call the API with or without the token.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tests/admin/http_client.h"
#include "tests/e2e/e2e_env.h"

namespace pubsub::test {

inline constexpr const char* admin_token = "test-token-8";

class admin_test : public e2e::e2e_test {
  protected:
    // Starts pubsubd with --http on a free loopback port and the test token (unless `args`
    // holds its own --http-token / --http-allow-unauthenticated choice via with_token=false).
    void start_admin(std::vector<std::string> args = {}, bool with_token = true);
    // The same against another database (a private cluster, tests/e2e/fault_support.h).
    void start_admin_on(const std::string& dsn, std::vector<std::string> args);
    std::uint16_t port() const { return port_; }

    http_reply get(const std::string& target);
    http_reply call(const std::string& method, const std::string& target,
                    const std::string& body = "", const std::string& token = admin_token);
    // Emits events over the socket with durable acks; returns their ids.
    std::vector<std::int64_t> emit(const std::vector<std::string>& lines);
    // Polls GET /api/events/{id} until the event has `status` (or the timeout passes).
    std::string wait_status(std::int64_t id, const std::string& status, int timeout_s = 20);
    // Parses /metrics strictly (fails the test on a format error).
    std::map<std::string, prom_family> scrape();

  private:
    void read_port();  // from the daemon's log line "http admin listening ... port=N"

    std::uint16_t port_ = 0;
};

}  // namespace pubsub::test
