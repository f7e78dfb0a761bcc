// pubsubctl emit: one event from flags, or NDJSON lines from stdin, over the socket door.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>

#include "base/errno_text.h"
#include "commands.h"
#include "ingest/request.h"

namespace pubsub::ctl {

namespace {

int connect_socket(const std::string& path, std::string& error) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) {
        error = "socket path too long: " + path;
        ::close(fd);
        return -1;
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        error = "cannot connect to pubsubd at " + path + ": " + errno_text(errno) +
                " (is pubsubd running? --socket / PUBSUB_SOCKET)";
        ::close(fd);
        return -1;
    }
    return fd;
}

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

}  // namespace

int emit(const context& ctx, const emit_args& a) {
    std::string payload;
    std::size_t expected = 0;
    if (!a.type.empty()) {
        payload = "{\"event_type\":";
        append_json_string(payload, a.type);
        payload += ",\"event_source\":";
        append_json_string(payload, a.source);
        payload += ",\"event_data\":" + a.data + ",\"priority\":" + std::to_string(a.priority) +
                   ",\"ack\":";
        append_json_string(payload, a.ack);
        if (!a.idempotency_key.empty()) {
            payload += ",\"idempotency_key\":";
            append_json_string(payload, a.idempotency_key);
        }
        if (!a.run_at.empty()) {
            payload += ",\"run_at\":";
            append_json_string(payload, a.run_at);
        }
        if (a.delay_ms >= 0) payload += ",\"delay_ms\":" + std::to_string(a.delay_ms);
        payload += "}\n";
        expected = 1;
    } else {
        std::string line;
        while (std::getline(std::cin, line)) {
            payload += line;
            payload += '\n';
            ++expected;
        }
        if (expected == 0) return fail("emit: no --type given and nothing on stdin");
    }
    std::string error;
    int fd = connect_socket(ctx.socket_path(), error);
    if (fd < 0) return fail(error);
    // Write everything (pipelined), then read one reply per line. Replies are small, so the
    // daemon cannot block on us while we write.
    if (!write_all(fd, payload)) {
        ::close(fd);
        return fail("emit: the connection closed while sending");
    }
    ::shutdown(fd, SHUT_WR);
    std::string buf;
    char chunk[65536];
    std::size_t replies = 0, errors = 0;
    while (replies < expected) {
        auto n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        buf.append(chunk, static_cast<std::size_t>(n));
        std::size_t pos;
        while ((pos = buf.find('\n')) != std::string::npos) {
            std::string reply = buf.substr(0, pos);
            buf.erase(0, pos + 1);
            ++replies;
            if (reply.find("\"ok\":true") == std::string::npos) ++errors;
            std::cout << reply << "\n";
        }
    }
    ::close(fd);
    if (replies < expected) {
        return fail("emit: pubsubd answered " + std::to_string(replies) + " of " +
                    std::to_string(expected) + " lines before closing the connection");
    }
    return errors == 0 ? 0 : 1;
}

}  // namespace pubsub::ctl
