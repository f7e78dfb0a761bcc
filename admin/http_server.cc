#include "admin/http_server.h"

#include <sys/socket.h>

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <thread>

namespace pubsub::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// Open connections: a session counts itself from construction to destruction (its socket
// closes with it). Outlives every session (declared before the io_context that holds them).
// Relaxed: counts only, they publish no data; sessions end on any server thread.
struct connection_count {
    std::atomic<std::size_t> open{0};
    std::atomic<std::uint64_t> refused{0};
};

class session : public std::enable_shared_from_this<session> {
  public:
    session(tcp::socket&& s, const http_handler& handler, const http_server_options& opts,
            connection_count& count)
        : stream_(std::move(s)), handler_(handler), opts_(opts), count_(count) {
        count_.open.fetch_add(1, std::memory_order_relaxed);
    }
    ~session() { count_.open.fetch_sub(1, std::memory_order_relaxed); }

    void run() {
        asio::dispatch(stream_.get_executor(),
                       beast::bind_front_handler(&session::read, shared_from_this()));
    }

  private:
    void read() {
        parser_.emplace();
        parser_->body_limit(opts_.max_body_bytes);
        stream_.expires_after(opts_.header_timeout);
        http::async_read_header(stream_, buffer_, *parser_,
                                beast::bind_front_handler(&session::on_header, shared_from_this()));
    }

    void on_header(beast::error_code ec, std::size_t) {
        if (ec == http::error::end_of_stream) return close();
        // A Content-Length over the limit is refused as soon as the header says so.
        if (ec == http::error::body_limit) return reply_error(413, "request body too large");
        if (ec == http::error::header_limit) return reply_error(431, "request header too large");
        if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
            ec != http::error::partial_message) {
            return reply_error(400, "malformed HTTP request: " + ec.message());
        }
        if (ec) return;  // header timeout, reset: drop the connection
        stream_.expires_after(opts_.read_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         beast::bind_front_handler(&session::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t) {
        if (ec == http::error::end_of_stream) return close();
        if (ec == http::error::body_limit) return reply_error(413, "request body too large");
        if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
            ec != http::error::partial_message) {
            return reply_error(400, "malformed HTTP request: " + ec.message());
        }
        if (ec) return;  // timeout, reset: drop the connection
        auto req = parser_->release();
        http_request in;
        in.method = std::string(req.method_string());
        in.target = std::string(req.target());
        in.authorization = std::string(req[http::field::authorization]);
        in.host = std::string(req[http::field::host]);
        in.origin = std::string(req[http::field::origin]);
        in.content_type = std::string(req[http::field::content_type]);
        in.body = std::move(req.body());
        beast::error_code peer_ec;
        if (auto ep = stream_.socket().remote_endpoint(peer_ec); !peer_ec) {
            in.peer = ep.address().to_string() + ":" + std::to_string(ep.port());
        }
        http_response out = handler_(in);
        send(std::move(out), req.keep_alive(), req.version());
    }

    void reply_error(int code, const std::string& message) {
        http_response r;
        r.status = code;
        r.body = "{\"error\":\"" + message + "\"}";
        send(std::move(r), false, 11);
    }

    void send(http_response out, bool keep_alive, unsigned version) {
        auto res = std::make_shared<http::response<http::string_body>>(
            static_cast<http::status>(out.status), version);
        res->set(http::field::server, "pubsubd");
        res->set(http::field::content_type, out.content_type);
        res->set(http::field::cache_control, "no-store");
        res->set("X-Content-Type-Options", "nosniff");
        for (auto& [k, v] : out.headers) res->set(k, v);
        res->keep_alive(keep_alive);
        res->body() = std::move(out.body);
        res->prepare_payload();
        http::async_write(stream_, *res,
                          [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                              if (ec) return;
                              if (!res->keep_alive()) return self->close();
                              self->read();
                          });
    }

    void close() {
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    const http_handler& handler_;
    const http_server_options& opts_;
    connection_count& count_;
};

// A connection beyond max_connections: a short 503, then closed. Sent without blocking (a new
// connection's send buffer is empty); bytes the client already sent are read first, so the
// close does not turn into a reset that could discard the reply.
void refuse(tcp::socket& s, std::size_t limit) {
    std::string body = "{\"error\":\"too many connections: " + std::to_string(limit) +
                       " are open (--http-max-connections); try again later\"}";
    std::string reply =
        "HTTP/1.1 503 Service Unavailable\r\nServer: pubsubd\r\nContent-Type: "
        "application/json\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    int fd = s.native_handle();
    char sink[4096];
    for (int i = 0; i < 16 && ::recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; ++i) {
    }
    (void)::send(fd, reply.data(), reply.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    beast::error_code ec;
    s.shutdown(tcp::socket::shutdown_both, ec);
}

}  // namespace

struct http_server::impl {
    http_server_options opts;
    http_handler handler;
    connection_count count;
    // When a refusal was last logged (steady ms). Relaxed: only rate-limits the log; the
    // compare-exchange lets one of several racing threads log.
    std::atomic<std::int64_t> last_refusal_log_ms{0};
    asio::io_context io;
    tcp::acceptor acceptor{io};
    asio::steady_timer retry_timer{io};  // accept retries after an error
    std::vector<std::thread> threads;
    std::uint16_t port = 0;

    void log(log_level level, const std::string& m) const {
        if (opts.log) opts.log(level, m);
    }

    // At most one line a second, however many connections a flood brings.
    void log_refusal(std::uint64_t total) {
        auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now().time_since_epoch())
                       .count();
        auto last = last_refusal_log_ms.load(std::memory_order_relaxed);
        if (now - last < 1000 ||
            !last_refusal_log_ms.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
            return;
        }
        log(log_level::warn, "http: refused a connection: " + std::to_string(opts.max_connections) +
                                 " are open (--http-max-connections); " + std::to_string(total) +
                                 " refused so far");
    }

    void accept() {
        acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket s) {
            if (ec == asio::error::operation_aborted) return;
            if (ec) {
                // Out of file descriptors, say: retry in a moment instead of spinning.
                log(log_level::warn,
                    "http accept failed: " + ec.message() + "; retrying in 100 ms");
                retry_timer.expires_after(std::chrono::milliseconds(100));
                retry_timer.async_wait([this](beast::error_code e) {
                    if (!e) accept();
                });
                return;
            } else if (count.open.load(std::memory_order_relaxed) >= opts.max_connections) {
                // Counted before the reply goes out: a client that reads the 503 sees it counted.
                auto total = count.refused.fetch_add(1, std::memory_order_relaxed) + 1;
                refuse(s, opts.max_connections);
                log_refusal(total);
            } else {
                std::make_shared<session>(std::move(s), handler, opts, count)->run();
            }
            accept();
        });
    }
};

http_server::http_server(http_server_options opts, http_handler handler)
    : impl_(std::make_unique<impl>()) {
    impl_->opts = std::move(opts);
    impl_->handler = std::move(handler);
}

http_server::~http_server() { stop_now(); }

status http_server::start() {
    auto& i = *impl_;
    beast::error_code ec;
    auto addr = asio::ip::make_address(i.opts.address, ec);
    if (ec) return status::error("--http: bad address \"" + i.opts.address + "\": " + ec.message());
    tcp::endpoint ep(addr, i.opts.port);
    std::string where = i.opts.address + ":" + std::to_string(i.opts.port);
    if (i.acceptor.open(ep.protocol(), ec); ec) {
        return status::error("--http " + where + ": " + ec.message());
    }
    (void)i.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (i.acceptor.bind(ep, ec); ec) return status::error("--http " + where + ": " + ec.message());
    if (i.acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) {
        return status::error("--http " + where + ": " + ec.message());
    }
    i.port = i.acceptor.local_endpoint(ec).port();
    i.accept();
    int n = i.opts.threads < 1 ? 1 : i.opts.threads;
    for (int t = 0; t < n; ++t) i.threads.emplace_back([&io = i.io] { io.run(); });
    return {};
}

void http_server::stop(clock::time_point) noexcept {
    auto& i = *impl_;
    if (i.threads.empty()) return;
    asio::post(i.io, [&i] {
        beast::error_code ec;
        i.acceptor.close(ec);
    });
    i.io.stop();
    for (auto& t : i.threads) t.join();
    i.threads.clear();
}

std::uint16_t http_server::port() const { return impl_->port; }

std::uint64_t http_server::refused_connections() const {
    return impl_->count.refused.load(std::memory_order_relaxed);
}

}  // namespace pubsub::admin
