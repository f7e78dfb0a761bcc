#include "bench/pubsub_bench/soak.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "bench/pubsub_bench/socket_load.h"

namespace pubsub::bench {

namespace {

// Lines a careless or hostile producer sends: each must get an error reply, none may stall or
// grow the daemon. They name no real event type, so a mistake in the door shows as a stray row.
const char* const bad_lines[] = {
    "\n",
    "not json\n",
    "{}\n",
    "{\"event_type\":\"\"}\n",
    "{\"event_type\":\"soak_poison\",\"event_data\":{\"s\":\"a\\u0000b\"}}\n",
    "{\"event_type\":\"soak_poison\\u0000\"}\n",
    "{\"event_type\":\"soak_bad\",\"priority\":11}\n",
    "{\"event_type\":\"soak_bad\",\"event_data\":[1,2]}\n",
    "[\"event_type\"]\n",
};

void write_all(int fd, const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
        ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
        if (n <= 0) return;
        off += static_cast<std::size_t>(n);
    }
}

// One round: connect and drop 20 connections, send every bad line on a fresh connection and
// close without reading, and every tenth round a line over the 1 MiB default limit.
void hostile_round(const std::string& path, std::size_t round) {
    std::string err;
    for (int i = 0; i < 20; ++i) {
        int fd = connect_unix(path, err);
        if (fd >= 0) ::close(fd);
    }
    int fd = connect_unix(path, err);
    if (fd < 0) return;
    timeval one_second{1, 0};  // a daemon that stops reading must not stall the soak
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &one_second, sizeof one_second);
    std::string lines;
    for (const char* l : bad_lines) lines += l;
    write_all(fd, lines);
    if (round % 10 == 0) write_all(fd, std::string(2 << 20, 'x') + "\n");
    ::close(fd);
}

// Writes empty lines without ever reading a reply until the socket has been blocked for 2 s
// (the daemon stopped reading), `cap` bytes went out, or `until`. The fd stays open until the
// soak ends.
std::size_t fill_unread(int fd, std::size_t cap, std::chrono::steady_clock::time_point until) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    const std::string chunk(64 * 1024, '\n');
    std::size_t sent = 0;
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (sent < cap && std::chrono::steady_clock::now() < until) {
        ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
            give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) break;
        if (std::chrono::steady_clock::now() > give_up) break;  // blocked for 2 s: bounded
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return sent;
}

}  // namespace

std::int64_t count_open_fds(pid_t pid) {
    std::error_code ec;
    std::int64_t n = 0;
    for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end;
         !ec && it != end; it.increment(ec)) {
        ++n;
    }
    return ec ? -1 : n;
}

soak_result run_soak(const bench_options& opt, const std::string& socket_path, pid_t daemon_pid,
                     int seconds) {
    soak_result res;
    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    const auto until = t0 + std::chrono::seconds(seconds);
    auto since = [&] { return std::chrono::duration<double>(clock::now() - t0).count(); };
    auto sample = [&] {
        res.samples.push_back({since(), sample_process(daemon_pid), count_open_fds(daemon_pid)});
    };
    sample();

    bench_options steady = opt;
    steady.rate = opt.rate > 0 ? opt.rate : 2000;
    steady.events = static_cast<std::size_t>(steady.rate * seconds);
    socket_load_result load;
    std::thread producers([&] { load = run_socket_load(steady, socket_path); });

    std::string err;
    int unread = connect_unix(socket_path, err);
    std::thread never_reads([&] {
        if (unread >= 0) res.unread_bytes = fill_unread(unread, std::size_t(64) << 20, until);
    });
    std::thread hostile([&] {
        for (std::size_t round = 0; clock::now() < until; ++round) {
            hostile_round(socket_path, round);
            res.hostile_rounds = round + 1;
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
    });

    while (clock::now() < until) {
        std::this_thread::sleep_until(std::min(until, clock::now() + std::chrono::seconds(1)));
        sample();
    }
    hostile.join();
    never_reads.join();
    producers.join();
    sample();
    if (unread >= 0) ::close(unread);
    res.ok = load.ok;
    res.errors = load.errors;
    res.first_error = load.first_error;
    return res;
}

}  // namespace pubsub::bench
