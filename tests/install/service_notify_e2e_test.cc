// pubsubd under systemd's Type=notify protocol, the test playing the service manager: a datagram
// socket named by NOTIFY_SOCKET receives READY=1 (only once pubsubd's socket accepts), STATUS=
// lines with the queue summary, WATCHDOG=1 pings at half of WATCHDOG_USEC (also while the
// database is down) and STOPPING=1 at SIGTERM.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <thread>

#include "storage/embedded_pg.h"
#include "tests/e2e/e2e_env.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

bool socket_accepts(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

// The service manager's end: records every datagram with its arrival time. On READY=1 it tries
// pubsubd's socket at once, so a READY sent before the doors open is caught.
class fake_manager {
  public:
    fake_manager(const std::string& notify_path, std::string daemon_socket)
        : daemon_socket_(std::move(daemon_socket)) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, notify_path.c_str(), sizeof a.sun_path - 1);
        bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        timeval tv{0, 50'000};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        thread_ = std::thread([this] { loop(); });
    }
    ~fake_manager() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }
    bool bound() const { return bound_; }

    struct message {
        steady::time_point at;
        std::string text;
    };
    std::vector<message> messages() {
        std::lock_guard lock(mu_);
        return messages_;
    }
    std::size_t count(const std::string& field, steady::time_point since = {}) {
        std::size_t n = 0;
        for (const auto& m : messages())
            if (m.at >= since && m.text.find(field) != std::string::npos) ++n;
        return n;
    }
    bool wait_for(const std::string& field, std::chrono::milliseconds timeout,
                  steady::time_point since = {}) {
        for (auto until = steady::now() + timeout; steady::now() < until;) {
            if (count(field, since) > 0) return true;
            std::this_thread::sleep_for(20ms);
        }
        return false;
    }
    std::optional<bool> accepted_at_ready() {
        std::lock_guard lock(mu_);
        return accepted_at_ready_;
    }

  private:
    void loop() {
        char buf[4096];
        while (!stop_) {
            ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) continue;
            std::string text(buf, static_cast<std::size_t>(n));
            std::optional<bool> accepted;
            if (text.find("READY=1") != std::string::npos)
                accepted = socket_accepts(daemon_socket_);
            std::lock_guard lock(mu_);
            if (accepted && !accepted_at_ready_) accepted_at_ready_ = accepted;
            messages_.push_back({steady::now(), std::move(text)});
        }
    }

    std::string daemon_socket_;
    int fd_ = -1;
    bool bound_ = false;
    std::atomic<bool> stop_{false};
    std::mutex mu_;
    std::vector<message> messages_;
    std::optional<bool> accepted_at_ready_;
    std::thread thread_;
};

// NOTIFY_SOCKET and WATCHDOG_USEC for the daemon started while this lives (children inherit the
// environment), removed afterwards so no other child sees them.
struct notify_env {
    notify_env(const std::string& path, const char* watchdog_usec) {
        ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
        ::setenv("WATCHDOG_USEC", watchdog_usec, 1);
        ::unsetenv("WATCHDOG_PID");
    }
    ~notify_env() {
        ::unsetenv("NOTIFY_SOCKET");
        ::unsetenv("WATCHDOG_USEC");
    }
};

class service_notify_e2e : public e2e_test {};

TEST_F(service_notify_e2e, ReadyOnceTheSocketAcceptsThenStatusWatchdogAndStoppingAtSigterm) {
    fake_manager manager((tmp().path() / "notify.sock").string(), socket_path());
    ASSERT_TRUE(manager.bound());
    {
        notify_env env((tmp().path() / "notify.sock").string(), "400000");  // pings every 200 ms
        start_daemon();
        ASSERT_FALSE(HasFatalFailure());
    }
    ASSERT_TRUE(manager.wait_for("READY=1", 10s)) << daemon().log_tail();
    EXPECT_EQ(manager.accepted_at_ready(), std::optional<bool>(true))
        << "READY=1 came before pubsubd's socket accepted connections";
    EXPECT_EQ(manager.count("READY=1"), 1u);

    // STATUS follows the queue: an event sent now shows in a later line.
    auto client = ndjson_client::connect(socket_path());
    ASSERT_TRUE(client.ok()) << client.message();
    ASSERT_TRUE(client->send_line(event_line("notify_e2e", "e2e", "{}", 5, "durable")).ok());
    auto reply = client->read_reply(30s);
    ASSERT_TRUE(reply.ok() && reply->ok) << (reply.ok() ? reply->raw : reply.message());
    auto sent = steady::now();
    EXPECT_TRUE(manager.wait_for("STATUS=received 1,", 8s, sent)) << "no STATUS with the event";

    auto t0 = steady::now();
    std::this_thread::sleep_for(1500ms);
    std::size_t pings = manager.count("WATCHDOG=1", t0);
    EXPECT_GE(pings, 4u) << "WATCHDOG=1 every 200 ms expected over 1.5 s";
    EXPECT_LE(pings, 12u);
    EXPECT_EQ(manager.count("STOPPING=1"), 0u);

    auto term = steady::now();
    EXPECT_EQ(stop_daemon(), std::optional<int>(0)) << daemon().log_tail();
    EXPECT_EQ(manager.count("STOPPING=1", term), 1u) << "no STOPPING=1 after SIGTERM";
}

// The database going away is the write-behind's to ride out: the pings go on.
TEST_F(service_notify_e2e, WatchdogPingsGoOnWhileTheDatabaseIsDown) {
    // A private cluster: the shared one serves other tests. pubsubd migrates the schema.
    temp_dir pg_tmp("pubsub-e2e-pg-");
    embedded_stopper stop_at_exit{pg_tmp.path() / "data"};
    embedded_options eo;
    eo.data_dir = stop_at_exit.dir;
    embedded_cluster cluster(eo);
    ASSERT_TRUE(cluster.start().ok());
    fake_manager manager((tmp().path() / "notify.sock").string(), socket_path());
    ASSERT_TRUE(manager.bound());
    {
        notify_env env((tmp().path() / "notify.sock").string(), "400000");
        start_daemon_on(cluster.dsn(), {"--drain-timeout", "1"});
        ASSERT_FALSE(HasFatalFailure());
    }
    ASSERT_TRUE(manager.wait_for("READY=1", 10s)) << daemon().log_tail();
    ASSERT_TRUE(cluster.stop().ok());
    auto down = steady::now();
    // Something to persist while the database is away.
    auto client = ndjson_client::connect(socket_path());
    ASSERT_TRUE(client.ok()) << client.message();
    ASSERT_TRUE(client->send_line(event_line("notify_e2e", "e2e", "{}", 5, "queued")).ok());
    std::this_thread::sleep_for(2s);
    EXPECT_GE(manager.count("WATCHDOG=1", down + 500ms), 5u)
        << "watchdog pings stopped while the database was down\n"
        << daemon().log_tail();
    EXPECT_TRUE(daemon_running());
    (void)daemon().signal(SIGTERM);
    EXPECT_TRUE(manager.wait_for("STOPPING=1", 10s, down)) << daemon().log_tail();
    (void)daemon().wait(30s);
}

}  // namespace
}  // namespace pubsub::e2e
