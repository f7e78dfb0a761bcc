// End-to-end: what the real pubsubd's socket door refuses to let one client do (SPEC 3.1):
// grow the daemon's memory by never reading its replies, open connections without bound, or
// connect as a user the socket's mode or --socket-allow-uid does not let in.
#include <grp.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

#include "tests/e2e/e2e_env.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;

using socket_door_e2e = e2e_test;

// The process's resident set in KiB, from /proc (not from the daemon's own counters).
long rss_kib(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(f, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
    }
    return -1;
}

void expect_served(const std::string& socket, std::chrono::milliseconds within) {
    auto c = ndjson_client::connect(socket);
    ASSERT_TRUE(c.ok()) << c.message();
    ASSERT_TRUE(c->send_line(event_line("door_probe", "", "{}", 5, "durable")).ok());
    auto r = c->read_reply(within);
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_TRUE(r->ok) << r->raw;
}

// 8 MiB of empty lines, never read: each earns a ~70-byte error reply, so a door that keeps
// reading holds over 500 MiB of replies. The bound stated here: 64 MiB of RSS growth.
TEST_F(socket_door_e2e, NeverReadingClientKeepsMemoryBoundedAndOthersServed) {
    start_daemon();
    ASSERT_FALSE(HasFatalFailure());
    expect_served(socket_path(), 10s);  // warm: pools, the write-behind's first batch
    long before = rss_kib(daemon().pid());
    ASSERT_GT(before, 0);

    auto hog = ndjson_client::connect(socket_path());
    ASSERT_TRUE(hog.ok()) << hog.message();
    constexpr std::size_t total = 8 << 20;
    auto t0 = std::chrono::steady_clock::now();
    std::size_t written = hog->send_until_stalled("\n", total, 1s);
    long after = rss_kib(daemon().pid());
    std::printf(
        "[ e2e ] never-reading client wrote %zu of %zu bytes in %.1f s; pubsubd RSS "
        "%ld -> %ld KiB\n",
        written, total,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), before,
        after);
    EXPECT_LT(after - before, 64 * 1024) << "RSS grew by " << (after - before) << " KiB";

    expect_served(socket_path(), 2s);  // while the hog is still connected and stalled
    EXPECT_LT(rss_kib(daemon().pid()) - before, 64 * 1024);
    ASSERT_TRUE(daemon_running());
}

TEST_F(socket_door_e2e, ConnectionsBeyondMaxConnectionsAreRefusedWithAnErrorLine) {
    start_daemon({"--max-connections", "2"});
    ASSERT_FALSE(HasFatalFailure());
    auto a = ndjson_client::connect(socket_path());
    auto b = ndjson_client::connect(socket_path());
    ASSERT_TRUE(a.ok() && b.ok());
    for (auto* c : {&*a, &*b}) {
        ASSERT_TRUE(c->send_line(event_line("door_probe", "", "{}", 5, "durable")).ok());
        auto r = c->read_reply(10s);
        ASSERT_TRUE(r.ok() && r->ok) << (r.ok() ? r->raw : r.message());
    }
    auto third = ndjson_client::connect(socket_path());
    ASSERT_TRUE(third.ok()) << third.message();
    auto line = third->read_reply(5s);
    ASSERT_TRUE(line.ok()) << line.message();
    EXPECT_FALSE(line->ok);
    EXPECT_NE(line->error.find("too many connections"), std::string::npos) << line->raw;
    EXPECT_FALSE(third->read_line(5s).ok()) << "the refused connection was kept open";
    EXPECT_NE(daemon().log_tail(20000).find("refused a connection"), std::string::npos)
        << daemon().log_tail();

    a->shutdown_both();  // frees a place
    bool served = false;
    for (int i = 0; i < 100 && !served; ++i) {
        auto c = ndjson_client::connect(socket_path());
        if (c.ok() && c->send_line(event_line("door_probe", "", "{}", 5, "durable")).ok()) {
            auto r = c->read_reply(5s);
            served = r.ok() && r->ok;
        }
        if (!served) std::this_thread::sleep_for(20ms);
    }
    EXPECT_TRUE(served) << "no place freed after a client left";
}

// The soft open-file limit (from /proc/<pid>/limits), or 0.
long soft_fd_limit(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/limits");
    std::string line;
    while (std::getline(f, line)) {
        if (line.rfind("Max open files", 0) == 0) return std::atol(line.c_str() + 14);
    }
    return 0;
}

// Started with a soft limit of 1024 open files (what shells and systemd give) and room under
// the hard limit, pubsubd raises it to fit its connection limits instead of failing accept().
TEST_F(socket_door_e2e, OpenFileLimitIsRaisedToFitTheConnectionLimits) {
    rlimit old{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
    if (old.rlim_max != RLIM_INFINITY && old.rlim_max < 3000) {
        GTEST_SKIP() << "SKIPPED: the hard open-file limit (" << old.rlim_max
                     << ") leaves no room to raise";
    }
    rlimit low = old;
    low.rlim_cur = 1024;  // the child inherits it
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
    start_daemon({"--max-connections", "2000"});
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &old), 0);
    ASSERT_FALSE(HasFatalFailure());
    EXPECT_GE(soft_fd_limit(daemon().pid()), 2256);
    EXPECT_NE(daemon().log_tail(20000).find("raised the open-file limit"), std::string::npos)
        << daemon().log_tail();
}

// What a client running as another user saw: "connect: <errno text>", the first reply line,
// or "eof".
struct foreign_outcome {
    std::string connect_error;
    std::string first_line;
};

// Forks; the child drops to uid/gid (no supplementary groups), connects, sends one event and
// reports what it read through a pipe. Only async-signal-safe calls in the child.
foreign_outcome as_user(uid_t uid, gid_t gid, const std::string& socket) {
    int p[2];
    if (::pipe(p) != 0) return {"pipe failed", ""};
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, socket.c_str(), socket.size() + 1);
    const char line[] = "{\"event_type\":\"foreign\"}\n";
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(p[0]);
        char out[1024];
        if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) {
            (void)!::write(p[1], "Esetuid failed", 14);
            ::_exit(1);
        }
        int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            int e = errno;
            out[0] = 'E';
            const char* what = e == EACCES ? "EACCES" : "other";
            std::size_t n = std::strlen(what);
            std::memcpy(out + 1, what, n);
            (void)!::write(p[1], out, n + 1);
            ::_exit(0);
        }
        (void)!::send(fd, line, sizeof line - 1, MSG_NOSIGNAL);
        timeval tv{5, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        out[0] = 'R';
        std::size_t got = 1;
        while (got < sizeof out) {
            ssize_t n = ::recv(fd, out + got, sizeof out - got, 0);
            if (n <= 0) break;
            got += static_cast<std::size_t>(n);
            if (std::memchr(out + 1, '\n', got - 1)) break;
        }
        (void)!::write(p[1], out, got);
        ::_exit(0);
    }
    ::close(p[1]);
    std::string msg;
    char buf[1024];
    for (ssize_t n; (n = ::read(p[0], buf, sizeof buf)) > 0;) msg.append(buf, n);
    ::close(p[0]);
    int st = 0;
    ::waitpid(pid, &st, 0);
    if (msg.empty()) return {"child reported nothing", ""};
    if (msg[0] == 'E') return {msg.substr(1), ""};
    std::string first = msg.substr(1);
    return {"", first.empty() ? "eof" : first.substr(0, first.find('\n'))};
}

unsigned mode_of(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return 0;
    return st.st_mode & 07777;
}

// SPEC 3.1: the socket file has its configured mode, and peers may be restricted by uid. The
// client runs as `nobody`, so this needs root (to switch users).
TEST_F(socket_door_e2e, SocketModeAndPeerUidRefuseAnotherUser) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "SKIPPED: needs root to run a client as another user (nobody); run the "
                        "tests as root to check the socket's mode and --socket-allow-uid";
    }
    passwd* nobody = ::getpwnam("nobody");
    ASSERT_NE(nobody, nullptr) << "no user `nobody` on this machine";
    uid_t uid = nobody->pw_uid;
    gid_t gid = nobody->pw_gid;
    auto counts = [&] {
        auto c = status_counts(dsn(), schema());
        EXPECT_TRUE(c.ok()) << c.message();
        std::int64_t n = 0;
        if (c.ok()) {
            for (const auto& [st, k] : *c) n += k;
        }
        return c.ok() ? n : -1;
    };

    // Default 0660, owned by root: `nobody` may not even connect.
    start_daemon();
    ASSERT_FALSE(HasFatalFailure());
    EXPECT_EQ(mode_of(socket_path()), 0660u);
    auto denied = as_user(uid, gid, socket_path());
    EXPECT_EQ(denied.connect_error, "EACCES") << "first line: " << denied.first_line;
    ASSERT_EQ(stop_daemon(), 0);

    // A mode that lets everyone connect, but a uid list without `nobody`: one error line.
    start_daemon({"--socket-mode", "0666", "--socket-allow-uid", std::to_string(uid + 1)});
    ASSERT_FALSE(HasFatalFailure());
    EXPECT_EQ(mode_of(socket_path()), 0666u);
    auto refused = as_user(uid, gid, socket_path());
    EXPECT_EQ(refused.connect_error, "");
    EXPECT_NE(refused.first_line.find("\"ok\":false"), std::string::npos) << refused.first_line;
    EXPECT_NE(refused.first_line.find("uid " + std::to_string(uid) + " "), std::string::npos)
        << refused.first_line;
    expect_served(socket_path(), 10s);  // root (and our own uid) always may
    ASSERT_EQ(stop_daemon(), 0);
    EXPECT_EQ(counts(), 1) << "only root's event may be in the table";

    // Allowed by uid: served.
    start_daemon({"--socket-mode", "0666", "--socket-allow-uid", std::to_string(uid)});
    ASSERT_FALSE(HasFatalFailure());
    auto allowed = as_user(uid, gid, socket_path());
    EXPECT_EQ(allowed.connect_error, "");
    EXPECT_NE(allowed.first_line.find("\"ok\":true"), std::string::npos) << allowed.first_line;
    ASSERT_EQ(stop_daemon(), 0);
    EXPECT_EQ(counts(), 2);
}

}  // namespace
}  // namespace pubsub::e2e
