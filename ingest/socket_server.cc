#include "ingest/socket_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <list>
#include <optional>
#include <thread>

#include "base/errno_text.h"
#include "ingest/socket_session.h"

namespace pubsub {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;

struct socket_server::impl : std::enable_shared_from_this<socket_server::impl> {
    impl(socket_options o, intake& in)
        : opts(std::move(o)),
          shared{io, in, {}, opts.max_line, opts.max_inflight, opts.max_unsent_bytes, opts.budget} {
    }

    socket_options opts;
    asio::io_context io;
    session_shared shared;
    std::optional<local::acceptor> acceptor;
    asio::steady_timer retry_timer{io};  // accept retries after an error
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
    std::list<std::weak_ptr<socket_session>> sessions;  // io thread only
    std::thread thread;
    std::atomic<std::uint64_t> connections{0}, refused{0}, refused_connections{0};
    std::chrono::steady_clock::time_point last_refusal_log{};  // io thread only

    void log(log_level level, const std::string& m) {
        if (opts.log) opts.log(level, m);
    }

    // Why this peer may not use the socket, or nullopt when it may.
    std::optional<std::string> peer_refusal(int fd) {
        if (opts.allowed_uids.empty() && opts.allowed_gids.empty()) return std::nullopt;
        ucred cred{};
        socklen_t len = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
            return "cannot read the peer's credentials: " + errno_text(errno);
        }
        if (cred.uid == 0 || cred.uid == getuid()) return std::nullopt;
        auto& u = opts.allowed_uids;
        auto& g = opts.allowed_gids;
        if (std::find(u.begin(), u.end(), cred.uid) != u.end() ||
            std::find(g.begin(), g.end(), cred.gid) != g.end()) {
            return std::nullopt;
        }
        return "peer uid " + std::to_string(cred.uid) + " gid " + std::to_string(cred.gid) +
               " is not allowed on this socket (--socket-allow-uid, --socket-allow-gid)";
    }

    // One error line, then the socket closes (its destructor). The write cannot block: a new
    // connection's send buffer is empty and the line is short.
    void refuse(local::socket& sock, const std::string& why, std::atomic<std::uint64_t>& counter) {
        // Counted before the line goes out: a client that read it sees it counted.
        auto n = counter.fetch_add(1, std::memory_order_relaxed) + 1;
        std::string line = error_reply(why);
        (void)::send(sock.native_handle(), line.data(), line.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        auto now = std::chrono::steady_clock::now();
        if (now - last_refusal_log >= std::chrono::seconds(1)) {  // a flood logs once a second
            last_refusal_log = now;
            log(log_level::warn, "socket door: refused a connection (" + std::to_string(n) +
                                     " so far for this reason): " + why);
        }
    }

    void on_accept(local::socket sock) {
        if (auto why = peer_refusal(sock.native_handle())) return refuse(sock, *why, refused);
        std::size_t open = shared.open.load(std::memory_order_relaxed);
        if (open >= opts.max_connections) {
            return refuse(sock,
                          "too many connections: " + std::to_string(open) +
                              " are open (--max-connections " +
                              std::to_string(opts.max_connections) + "); try again later",
                          refused_connections);
        }
        connections.fetch_add(1, std::memory_order_relaxed);
        auto s = std::make_shared<socket_session>(std::move(sock), shared);
        sessions.remove_if([](const auto& w) { return w.expired(); });
        sessions.push_back(s);
        s->start();
    }

    void do_accept() {
        acceptor->async_accept(
            [self = shared_from_this()](const boost::system::error_code& ec, local::socket sock) {
                if (ec) {
                    if (ec == asio::error::operation_aborted) return;
                    // Out of file descriptors, say: retry in a moment instead of spinning.
                    self->log(log_level::warn, "socket door: accept failed: " + ec.message() +
                                                   "; retrying in 100 ms");
                    self->retry_timer.expires_after(std::chrono::milliseconds(100));
                    self->retry_timer.async_wait([self](const boost::system::error_code& e) {
                        if (!e && self->acceptor && self->acceptor->is_open()) self->do_accept();
                    });
                    return;
                } else {
                    self->on_accept(std::move(sock));
                }
                if (self->acceptor && self->acceptor->is_open()) self->do_accept();
            });
    }
};

socket_server::socket_server(socket_options opts, intake& in)
    : impl_(std::make_shared<impl>(std::move(opts), in)) {}

socket_server::~socket_server() { close(); }

static status clear_stale_socket(const std::string& path) {
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0) return status();
    if (!S_ISSOCK(st.st_mode)) {
        return status::error("socket path " + path + " exists and is not a socket");
    }
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::close(fd);
    if (rc == 0) return status::error("another process is already serving " + path);
    ::unlink(path.c_str());
    return status();
}

status socket_server::start() {
    auto& m = *impl_;
    if (m.opts.path.size() >= sizeof(sockaddr_un{}.sun_path)) {
        return status::error("socket path too long (" + std::to_string(m.opts.path.size()) +
                             " bytes, at most 107): " + m.opts.path);
    }
    if (status s = clear_stale_socket(m.opts.path); !s.ok()) return s;
    boost::system::error_code ec;
    m.acceptor.emplace(m.io);
    m.acceptor->open(local(), ec);
    // Bind under a restrictive umask so the socket is never briefly wider than its mode.
    mode_t old = ::umask(0177);
    if (!ec) m.acceptor->bind(local::endpoint(m.opts.path), ec);
    ::umask(old);
    if (!ec) m.acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return status::error("cannot listen on " + m.opts.path + ": " + ec.message());
    if (::chmod(m.opts.path.c_str(), static_cast<mode_t>(m.opts.mode)) != 0) {
        return status::error("cannot chmod " + m.opts.path + ": " + errno_text(errno));
    }
    m.work.emplace(asio::make_work_guard(m.io));
    m.do_accept();
    m.thread = std::thread([self = impl_] { self->io.run(); });
    return status();
}

void socket_server::stop(clock::time_point) noexcept {
    auto self = impl_;
    if (!self->thread.joinable() || !self->shared.accepting.exchange(false)) return;
    // Wait until the door thread has run this: every line read before it has been handed to
    // the intake by then, so the caller may close the intake and drain the router safely.
    std::promise<void> done;
    auto finished = done.get_future();
    asio::post(self->io, [self, &done] {
        boost::system::error_code ignored;
        if (self->acceptor) self->acceptor->close(ignored);
        self->retry_timer.cancel();
        for (auto& w : self->sessions) {
            if (auto s = w.lock()) s->stop_reading();
        }
        done.set_value();
    });
    finished.wait();
}

void socket_server::close() noexcept {
    auto self = impl_;
    if (!self->thread.joinable()) return;
    stop_now();
    asio::post(self->io, [self] {
        for (auto& w : self->sessions) {
            if (auto s = w.lock()) s->close();
        }
        self->sessions.clear();
        self->work.reset();
        self->io.stop();
    });
    self->thread.join();
    ::unlink(self->opts.path.c_str());
}

socket_counters socket_server::counters() const {
    auto& m = *impl_;
    return {m.connections.load(), m.shared.lines.load(),        m.shared.errors.load(),
            m.refused.load(),     m.refused_connections.load(), m.shared.open.load()};
}

}  // namespace pubsub
