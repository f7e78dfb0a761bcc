// Who may use the socket door (SPEC 3.1, 7.4): the socket file's mode keeps other users out,
// and --socket-allow-uid refuses a peer whose uid is not listed even when the mode lets it
// connect. The other user is real: a forked child that drops to `nobody` before connecting.
#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "tests/e2e/e2e_env.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;

using socket_access_e2e = e2e_test;

enum class peer_result { served = 0, cannot_connect = 1, closed_unanswered = 2, other = 3 };

// Forks a child that becomes `uid`/`gid`, connects, sends one durable event and waits up to
// 5 s for a reply. Only async-signal-safe calls in the child.
peer_result try_as(uid_t uid, gid_t gid, const std::string& socket_path, const std::string& line) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) _exit(3);
        const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) _exit(1);
        if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) < 0) _exit(2);
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 5000) != 1) _exit(3);
        char buf[512];
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) _exit(2);
        _exit(std::strstr(buf, "\"ok\":true") != nullptr ? 0 : 3);
    }
    int st = 0;
    if (pid < 0 || ::waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) return peer_result::other;
    return static_cast<peer_result>(WEXITSTATUS(st));
}

TEST_F(socket_access_e2e, ModeAndPeerUidKeepOtherUsersOut) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a client as another user";
    const passwd* nobody = ::getpwnam("nobody");
    if (!nobody) GTEST_SKIP() << "no user `nobody`";
    const uid_t uid = nobody->pw_uid;
    const gid_t gid = nobody->pw_gid;
    const std::string line = event_line("e2e_event", "access", "{}", 5, "durable") + "\n";
    add_noop_subscriber("e2e_noop", "e2e_event");

    // Default mode 0660, owned by us: another user cannot even connect.
    start_daemon();
    ASSERT_FALSE(HasFatalFailure());
    struct stat st {};
    ASSERT_EQ(::stat(socket_path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0660u);
    EXPECT_EQ(try_as(uid, gid, socket_path(), line), peer_result::cannot_connect);
    EXPECT_EQ(stop_daemon(), std::optional<int>(0));

    // Mode 0666 lets it connect, but only uid 0 is allowed: closed without an answer, logged.
    start_daemon({"--socket-mode", "0666", "--socket-allow-uid", "0"});
    ASSERT_FALSE(HasFatalFailure());
    EXPECT_EQ(try_as(uid, gid, socket_path(), line), peer_result::closed_unanswered);
    EXPECT_EQ(try_as(0, 0, socket_path(), line), peer_result::served) << "uid 0 is allowed";
    EXPECT_NE(daemon().log_tail().find("refused a peer"), std::string::npos) << "not logged";
    EXPECT_EQ(stop_daemon(), std::optional<int>(0));

    // Listed, the same user is served.
    start_daemon({"--socket-mode", "0666", "--socket-allow-uid", std::to_string(uid)});
    ASSERT_FALSE(HasFatalFailure());
    EXPECT_EQ(try_as(uid, gid, socket_path(), line), peer_result::served);
    EXPECT_EQ(stop_daemon(), std::optional<int>(0));
}

}  // namespace
}  // namespace pubsub::e2e
