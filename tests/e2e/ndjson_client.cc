#include "tests/e2e/ndjson_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

namespace pubsub::e2e {

using steady = std::chrono::steady_clock;

namespace {

void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
}

// Unescapes the JSON string starting at s[pos] == '"'; nullopt when malformed.
std::optional<std::string> read_json_string(std::string_view s, std::size_t pos) {
    if (pos >= s.size() || s[pos] != '"') return std::nullopt;
    std::string out;
    for (std::size_t i = pos + 1; i < s.size(); ++i) {
        char c = s[i];
        if (c == '"') return out;
        if (c != '\\') {
            out += c;
            continue;
        }
        if (++i >= s.size()) return std::nullopt;
        switch (s[i]) {
            case 'n':
                out += '\n';
                break;
            case 't':
                out += '\t';
                break;
            case 'r':
                out += '\r';
                break;
            case 'u':
                out += '?';
                i += 4;
                break;  // control characters only, in practice
            default:
                out += s[i];
        }
    }
    return std::nullopt;
}

}  // namespace

std::optional<reply> parse_reply(std::string_view line) {
    reply r;
    r.raw = line;
    constexpr std::string_view ok_prefix = "{\"ok\":true,\"event_id\":";
    constexpr std::string_view err_prefix = "{\"ok\":false,\"error\":";
    if (line.starts_with(ok_prefix) && line.ends_with("}")) {
        auto digits = line.substr(ok_prefix.size(), line.size() - ok_prefix.size() - 1);
        constexpr std::string_view duplicate = ",\"duplicate\":true";  // SPEC 7.2
        if (digits.ends_with(duplicate)) digits.remove_suffix(duplicate.size());
        if (digits.empty()) return std::nullopt;
        for (char c : digits) {
            if (c < '0' || c > '9') return std::nullopt;
            r.event_id = r.event_id * 10 + (c - '0');
        }
        r.ok = true;
        return r;
    }
    if (line.starts_with(err_prefix) && line.ends_with("}")) {
        auto e = read_json_string(line, err_prefix.size());
        if (!e) return std::nullopt;
        r.error = std::move(*e);
        return r;
    }
    return std::nullopt;
}

std::string event_line(std::string_view type, std::string_view source, std::string_view data_json,
                       int priority, std::string_view ack) {
    std::string out = "{\"event_type\":";
    append_json_string(out, type);
    out += ",\"event_source\":";
    append_json_string(out, source);
    if (!data_json.empty()) {
        out += ",\"event_data\":";
        out += data_json;
    }
    out += ",\"priority\":" + std::to_string(priority);
    if (!ack.empty()) {
        out += ",\"ack\":";
        append_json_string(out, ack);
    }
    return out + "}";
}

result<ndjson_client> ndjson_client::connect(const std::string& socket_path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof addr.sun_path) {
        return status::error("socket path too long: " + socket_path);
    }
    std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return status::error(std::string("socket: ") + std::strerror(errno));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        int e = errno;
        ::close(fd);
        return status::error("connect " + socket_path + ": " + std::strerror(e));
    }
    return ndjson_client(fd);
}

ndjson_client::ndjson_client(ndjson_client&& o) noexcept : fd_(o.fd_), buf_(std::move(o.buf_)) {
    o.fd_ = -1;
}

ndjson_client& ndjson_client::operator=(ndjson_client&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = o.fd_;
        buf_ = std::move(o.buf_);
        o.fd_ = -1;
    }
    return *this;
}

ndjson_client::~ndjson_client() {
    if (fd_ >= 0) ::close(fd_);
}

status ndjson_client::send(std::string_view bytes) {
    while (!bytes.empty()) {
        ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return status::error(std::string("send: ") + std::strerror(errno));
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return status();
}

std::size_t ndjson_client::send_until_stalled(std::string_view pattern, std::size_t total,
                                              std::chrono::milliseconds stall) {
    std::string chunk;
    while (chunk.size() < 64 * 1024) chunk.append(pattern);
    std::size_t written = 0;
    auto last_progress = steady::now();
    while (written < total) {
        std::size_t want = std::min(total - written, chunk.size());
        std::size_t at = written % pattern.size();  // keep the pattern's phase
        std::string_view piece(chunk.data() + at, std::min(want, chunk.size() - at));
        ssize_t n = ::send(fd_, piece.data(), piece.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            written += static_cast<std::size_t>(n);
            last_progress = steady::now();
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) break;
        auto left = stall - std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() -
                                                                                  last_progress);
        if (left.count() <= 0) break;
        pollfd p{fd_, POLLOUT, 0};
        ::poll(&p, 1, static_cast<int>(left.count()));
    }
    return written;
}

result<std::string> ndjson_client::read_line(std::chrono::milliseconds timeout) {
    auto until = steady::now() + timeout;
    for (;;) {
        if (auto nl = buf_.find('\n'); nl != std::string::npos) {
            std::string line = buf_.substr(0, nl);
            buf_.erase(0, nl + 1);
            return line;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - steady::now());
        if (left.count() <= 0) return status::error("timeout waiting for a reply line");
        pollfd p{fd_, POLLIN, 0};
        int pr = ::poll(&p, 1, static_cast<int>(left.count()));
        if (pr < 0 && errno != EINTR)
            return status::error(std::string("poll: ") + std::strerror(errno));
        if (pr <= 0) continue;
        char chunk[65536];
        ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return status::error(std::string("recv: ") + std::strerror(errno));
        }
        if (n == 0) {
            return status::error("eof: connection closed by pubsubd" +
                                 (buf_.empty() ? std::string() : " after a partial line"));
        }
        buf_.append(chunk, static_cast<std::size_t>(n));
    }
}

result<reply> ndjson_client::read_reply(std::chrono::milliseconds timeout) {
    auto line = read_line(timeout);
    if (!line.ok()) return line.error();
    auto r = parse_reply(*line);
    if (!r) return status::error("not a reply line: " + *line);
    return *r;
}

bool ndjson_client::at_eof(std::chrono::milliseconds timeout) {
    if (!buf_.empty()) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char c;
    return ::recv(fd_, &c, 1, MSG_PEEK) == 0;
}

void ndjson_client::shutdown_write() { ::shutdown(fd_, SHUT_WR); }
void ndjson_client::shutdown_both() { ::shutdown(fd_, SHUT_RDWR); }

status wait_for_socket(const std::string& socket_path, std::chrono::milliseconds timeout,
                       const std::function<bool()>& alive) {
    auto until = steady::now() + timeout;
    std::string last;
    for (;;) {
        auto c = ndjson_client::connect(socket_path);
        if (c.ok()) return status();
        last = c.message();
        if (alive && !alive()) return status::error("the process exited before accepting: " + last);
        if (steady::now() >= until) return status::error("socket never accepted: " + last);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

std::size_t load_result::ok_count() const {
    std::size_t n = 0;
    for (const auto& r : replies) n += r.ok ? 1 : 0;
    return n;
}

namespace {

// State shared by the writer thread and the reading caller of run_load.
struct load_flow {
    std::mutex mu;
    std::condition_variable cv;
    std::size_t sent = 0;      // guarded by mu
    std::size_t answered = 0;  // guarded by mu
    bool done = false;         // reader gave up or finished; guarded by mu
    bool writer_done = false;  // the writer sent its last line (or failed); guarded by mu
    std::string write_error;   // guarded by mu
};

void write_lines(ndjson_client& c, const load_options& o, load_flow& f) {
    std::string buf;
    std::size_t i = 0;
    while (i < o.count) {
        if (o.stop && o.stop->load(std::memory_order_acquire)) break;
        std::size_t room;
        {
            std::unique_lock lock(f.mu);
            f.cv.wait(lock, [&] { return f.done || f.sent - f.answered < o.window; });
            if (f.done) break;
            room = o.window - (f.sent - f.answered);
        }
        buf.clear();
        std::size_t n = 0;
        while (n < room && i + n < o.count && buf.size() < o.batch_bytes) {
            buf += o.line(i + n);
            buf += '\n';
            ++n;
        }
        {
            // Counted before the write: a reply may arrive before send() returns.
            std::lock_guard lock(f.mu);
            f.sent += n;
        }
        i += n;
        if (status s = c.send(buf); !s.ok()) {
            std::lock_guard lock(f.mu);
            f.write_error = s.message();
            break;
        }
    }
    std::lock_guard lock(f.mu);
    f.writer_done = true;
    f.cv.notify_all();
}

}  // namespace

result<load_result> run_load(const load_options& o) {
    auto client = ndjson_client::connect(o.socket_path);
    if (!client.ok()) return client.error();
    load_result out;
    out.replies.reserve(o.count);
    load_flow f;
    auto t0 = steady::now();
    std::thread writer([&] { write_lines(*client, o, f); });
    auto last_progress = steady::now();
    for (;;) {
        {
            std::lock_guard lock(f.mu);
            if (f.writer_done && f.answered == f.sent) break;
        }
        auto r = client->read_reply(std::chrono::milliseconds(100));
        if (!r.ok() && r.message().starts_with("timeout")) {
            if (steady::now() - last_progress < o.reply_timeout) continue;
            out.end_reason = "no reply for " + std::to_string(o.reply_timeout.count()) + " ms";
            break;
        }
        if (!r.ok()) {
            out.end_reason = r.message();
            break;
        }
        last_progress = steady::now();
        out.replies.push_back(std::move(*r));
        if (o.answered) o.answered->store(out.replies.size(), std::memory_order_release);
        if (o.acked && out.replies.back().ok) o.acked->fetch_add(1, std::memory_order_release);
        std::lock_guard lock(f.mu);
        ++f.answered;
        f.cv.notify_all();
    }
    out.seconds = std::chrono::duration<double>(steady::now() - t0).count();
    {
        std::lock_guard lock(f.mu);
        f.done = true;
        f.cv.notify_all();
    }
    client->shutdown_both();  // a writer blocked on a full socket gets EPIPE
    writer.join();
    std::lock_guard lock(f.mu);
    out.sent = f.sent;
    if (out.end_reason.empty() && !f.write_error.empty()) out.end_reason = f.write_error;
    return out;
}

}  // namespace pubsub::e2e
