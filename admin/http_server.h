// http_server: a small HTTP/1.1 server (Boost.Beast) that hands each request to one handler.
//
// DESIGN (the Beast server examples): one io_context run by `threads` threads of its own; a
// strand per connection; a session reads one request (the header within header_timeout, then
// a body of at most max_body_bytes within read_timeout), calls the handler on its strand,
// writes the response and, on keep-alive, reads the next. At most max_connections sessions
// are open (each holds at most its header, 8 KiB, and body). The handler may block (it runs
// database queries); with N threads at most N requests run at once. Sessions live through
// shared_from_this; the server holds no list. Lifecycle: start() binds and spawns the threads (the
// error says what failed); stop() closes the acceptor, stops the io_context and joins; idempotent,
// noexcept; the destructor stops. Thread-safety: start()/stop() from one owner; the handler is
// called from the server's threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/logger.h"
#include "base/result.h"
#include "base/service.h"

namespace pubsub::admin {

struct http_request {
    std::string method;  // "GET", "POST", ...
    std::string target;  // path and query, as sent
    std::string authorization;
    std::string host;  // the Host header
    std::string body;
    std::string origin;        // the Origin header ("" when absent)
    std::string content_type;  // the Content-Type header ("" when absent)
    std::string peer;          // the client's address and port ("" when unknown), for audits
};

struct http_response {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

using http_handler = std::function<http_response(const http_request&)>;

struct http_server_options {
    std::string address = "127.0.0.1";
    std::uint16_t port = 0;  // 0: any free port (see port())
    int threads = 2;
    std::size_t max_body_bytes = 1 << 20;
    log_sink log;
    // Open connections at most; one more gets 503 and is closed (logged, counted).
    std::size_t max_connections = 64;
    // Time to receive a request's header (also a keep-alive connection's wait for its next
    // request): a client that sends it slowly is cut. The body then has read_timeout.
    std::chrono::milliseconds header_timeout{10'000};
    std::chrono::milliseconds read_timeout{60'000};
};

class http_server final : public service {
  public:
    http_server(http_server_options opts, http_handler handler);
    ~http_server() override;
    http_server(const http_server&) = delete;
    http_server& operator=(const http_server&) = delete;

    std::string_view name() const override { return "http"; }
    status start() override;
    // Drops open connections at once: nothing waits for the deadline.
    void stop(clock::time_point deadline) noexcept override;
    std::uint16_t port() const;                 // the bound port, after start()
    std::uint64_t refused_connections() const;  // beyond max_connections; thread-safe

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace pubsub::admin
