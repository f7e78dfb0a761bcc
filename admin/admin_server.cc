#include "admin/admin_server.h"

#include <charconv>

#include "admin/api.h"
#include "admin/http_server.h"
#include "admin/pg_pool.h"

namespace pubsub::admin {

result<std::pair<std::string, std::uint16_t>> parse_listen(const std::string& listen) {
    std::string addr = "127.0.0.1";
    std::string port = listen;
    if (auto colon = listen.rfind(':'); colon != std::string::npos) {
        addr = listen.substr(0, colon);
        port = listen.substr(colon + 1);
        if (addr.size() >= 2 && addr.front() == '[' && addr.back() == ']') {
            addr = addr.substr(1, addr.size() - 2);
        }
        if (addr.empty()) addr = "127.0.0.1";
    }
    unsigned n = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    if (port.empty() || ec != std::errc() || p != port.data() + port.size() || n > 65535) {
        return status::error("--http expects PORT or ADDR:PORT, got \"" + listen + "\"");
    }
    return std::pair{addr, static_cast<std::uint16_t>(n)};
}

namespace {

bool is_loopback(const std::string& address) {
    return address == "localhost" || address == "::1" || address.rfind("127.", 0) == 0;
}

}  // namespace

struct admin_server::impl {
    admin_options opts;
    std::unique_ptr<pg_pool> pool;
    std::unique_ptr<admin_api> api;
    std::unique_ptr<http_server> server;
};

admin_server::admin_server(admin_options opts) : impl_(std::make_unique<impl>()) {
    impl_->opts = std::move(opts);
}

admin_server::~admin_server() { stop_now(); }

status admin_server::start() {
    auto& i = *impl_;
    auto where = parse_listen(i.opts.listen);
    if (!where.ok()) return where.error();
    i.pool = std::make_unique<pg_pool>(i.opts.dsn, i.opts.threads);
    api_options ao;
    ao.schema = i.opts.schema;
    ao.dsn = i.opts.dsn;
    ao.token = i.opts.token;
    ao.allow_unauthenticated = i.opts.allow_unauthenticated;
    ao.sources = i.opts.sources;
    ao.loopback_only = is_loopback(where->first);
    ao.allowed_hosts = i.opts.allowed_hosts;
    ao.auth = i.opts.auth;
    ao.history = i.opts.history;
    // The probe's connection counts as the HTTP endpoint's too.
    ao.sources.http_db_errors = [this] {
        return impl_->pool->errors() + (impl_->api ? impl_->api->probe_errors() : 0);
    };
    ao.sources.http_refused_connections = [this] {
        return impl_->server ? impl_->server->refused_connections() : 0;
    };
    i.api = std::make_unique<admin_api>(std::move(ao), *i.pool);
    http_server_options ho;
    ho.address = where->first;
    ho.port = where->second;
    ho.threads = i.opts.threads;
    ho.log = i.opts.log;
    ho.max_connections = i.opts.max_connections;
    ho.header_timeout = i.opts.header_timeout;
    i.server = std::make_unique<http_server>(
        ho, [api = i.api.get()](const http_request& r) { return api->handle(r); });
    return i.server->start();
}

void admin_server::stop(clock::time_point deadline) noexcept {
    if (impl_->server) impl_->server->stop(deadline);
}

std::uint16_t admin_server::port() const { return impl_->server ? impl_->server->port() : 0; }

}  // namespace pubsub::admin
