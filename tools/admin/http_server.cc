#include "tools/admin/http_server.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
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

constexpr auto read_timeout = std::chrono::seconds(60);

class session : public std::enable_shared_from_this<session> {
  public:
    session(tcp::socket&& s, const http_handler& handler, std::size_t max_body)
        : stream_(std::move(s)), handler_(handler), max_body_(max_body) {}

    void run() {
        asio::dispatch(stream_.get_executor(),
                       beast::bind_front_handler(&session::read, shared_from_this()));
    }

  private:
    void read() {
        parser_.emplace();
        parser_->body_limit(max_body_);
        stream_.expires_after(read_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         beast::bind_front_handler(&session::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t) {
        if (ec == http::error::end_of_stream) return close();
        if (ec == http::error::body_limit) return reply_error(413, "request body too large");
        if (ec) return;  // timeout, reset, malformed request: drop the connection
        auto req = parser_->release();
        http_request in;
        in.method = std::string(req.method_string());
        in.target = std::string(req.target());
        in.authorization = std::string(req[http::field::authorization]);
        in.host = std::string(req[http::field::host]);
        in.body = std::move(req.body());
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
    std::size_t max_body_;
};

}  // namespace

struct http_server::impl {
    http_server_options opts;
    http_handler handler;
    asio::io_context io;
    tcp::acceptor acceptor{io};
    std::vector<std::thread> threads;
    std::uint16_t port = 0;

    void log(int level, const std::string& m) const {
        if (opts.log) opts.log(level, m);
    }

    void accept() {
        acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket s) {
            if (ec == asio::error::operation_aborted) return;
            if (ec) {
                log(2, "http accept failed: " + ec.message());
            } else {
                std::make_shared<session>(std::move(s), handler, opts.max_body_bytes)->run();
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

http_server::~http_server() { stop(); }

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

void http_server::stop() noexcept {
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

}  // namespace pubsub::admin
