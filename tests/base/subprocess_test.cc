// spawn(): exit codes and signals, pipes and descriptors, environment, working directory,
// process groups, errors that name the program, and (as root) the switch to another user.
#include "base/subprocess.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace pubsub {
namespace {

using namespace std::chrono_literals;

spawn_options shell(const std::string& script) {
    spawn_options o;
    o.argv = {"/bin/sh", "-c", script};
    return o;
}

// Runs o with stdout captured: the exit status and what it printed.
std::pair<exit_status, std::string> run(spawn_options o) {
    o.out = stdio::pipe();
    auto c = spawn(o);
    EXPECT_TRUE(c.ok()) << c.message();
    if (!c.ok()) return {};
    std::string out = read_to_end(c->out());
    auto st = c->wait();
    EXPECT_TRUE(st.ok()) << st.message();
    return {st.ok() ? *st : exit_status{}, out};
}

// True when pid no longer runs: no /proc entry, or a zombie waiting for its reaper.
bool gone(pid_t pid) {
    for (int i = 0; i < 500; ++i) {
        std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
        std::string line;
        if (!f || !std::getline(f, line)) return true;
        auto close = line.rfind(')');
        if (close != std::string::npos && close + 2 < line.size() &&
            (line[close + 2] == 'Z' || line[close + 2] == 'X'))
            return true;
        std::this_thread::sleep_for(10ms);
    }
    return false;
}

std::optional<user_credentials> nobody() {
    passwd* pw = ::getpwnam("nobody");
    if (::geteuid() != 0 || pw == nullptr) return std::nullopt;
    return user_credentials{pw->pw_uid, pw->pw_gid, {}, "nobody"};
}

TEST(subprocess, reports_exit_codes_and_signals) {
    auto [ok, _] = run(shell("exit 0"));
    EXPECT_TRUE(ok.success());
    auto [three, __] = run(shell("exit 3"));
    EXPECT_TRUE(three.exited());
    EXPECT_EQ(three.code, 3);
    EXPECT_EQ(three.shell_code(), 3);
    auto [killed, ___] = run(shell("kill -9 $$"));
    EXPECT_FALSE(killed.exited());
    EXPECT_EQ(killed.signal, SIGKILL);
    EXPECT_EQ(killed.shell_code(), 128 + SIGKILL);
}

TEST(subprocess, connects_pipes_null_and_descriptors) {
    spawn_options o;
    o.argv = {"/bin/cat"};
    o.in = stdio::pipe();
    o.out = stdio::pipe();
    auto c = spawn(o);
    ASSERT_TRUE(c.ok()) << c.message();
    ASSERT_EQ(::write(c->in().get(), "hello", 5), 5);
    c->in().reset();
    EXPECT_EQ(read_to_end(c->out()), "hello");
    EXPECT_TRUE(c->wait()->success());

    o = shell("echo out; echo err >&2");
    o.out = stdio::pipe();
    o.err = stdio::pipe();
    c = spawn(o);
    ASSERT_TRUE(c.ok()) << c.message();
    EXPECT_EQ(read_to_end(c->out()), "out\n");
    EXPECT_EQ(read_to_end(c->err()), "err\n");
    EXPECT_TRUE(c->wait()->success());

    o.err = stdio::like_stdout();
    EXPECT_EQ(run(o).second, "out\nerr\n");

    o = shell("cat; echo done");  // stdin is /dev/null by default: cat ends at once
    EXPECT_EQ(run(o).second, "done\n");

    char path[] = "/tmp/subprocess-test-XXXXXX";
    int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    o = shell("echo to file");
    o.out = stdio::to_fd(fd);
    c = spawn(o);
    ASSERT_TRUE(c.ok()) << c.message();
    EXPECT_TRUE(c->wait()->success());
    ::close(fd);
    std::ifstream f(path);
    std::string line;
    std::getline(f, line);
    EXPECT_EQ(line, "to file");
    ::unlink(path);
}

TEST(subprocess, closes_every_other_descriptor) {
    int leaked = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC on purpose
    ASSERT_GE(leaked, 0);
    ASSERT_EQ(::dup2(leaked, 57), 57);
    EXPECT_EQ(run(shell("test -e /proc/$$/fd/57 && echo open || echo closed")).second, "closed\n");
    ::close(57);
    ::close(leaked);
}

TEST(subprocess, passes_exactly_the_environment_given_or_ours) {
    spawn_options o;
    o.argv = {"/usr/bin/env"};
    o.env = std::vector<std::string>{"FOO=bar", "LC_ALL=C"};
    EXPECT_EQ(run(o).second, "FOO=bar\nLC_ALL=C\n");
    ::setenv("PUBSUB_SUBPROCESS_TEST", "inherited", 1);
    EXPECT_EQ(run(shell("echo $PUBSUB_SUBPROCESS_TEST")).second, "inherited\n");
    ::unsetenv("PUBSUB_SUBPROCESS_TEST");
}

TEST(subprocess, enters_the_working_directory) {
    spawn_options o;
    o.argv = {"/bin/pwd"};
    o.working_dir = "/usr";
    EXPECT_EQ(run(o).second, "/usr\n");
    o.working_dir = "/nonexistent/pubsub";
    auto c = spawn(o);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.message(),
              "cannot use working directory /nonexistent/pubsub: No such file or directory");
}

TEST(subprocess, names_a_missing_program) {
    spawn_options o;
    o.argv = {"/nonexistent/pubsub/prog"};
    auto c = spawn(o);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.message(), "cannot execute /nonexistent/pubsub/prog: No such file or directory");
    o.argv.clear();
    c = spawn(o);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.message(), "cannot execute: empty argument vector");
}

TEST(subprocess, kills_its_own_process_group) {
    auto o = shell("sleep 100 & echo $!; wait");
    o.own_process_group = true;
    o.out = stdio::pipe();
    auto c = spawn(o);
    ASSERT_TRUE(c.ok()) << c.message();
    EXPECT_EQ(::getpgid(c->pid()), c->pid());
    std::string line;
    char ch;
    while (::read(c->out().get(), &ch, 1) == 1 && ch != '\n') line += ch;
    const pid_t grandchild = std::atoi(line.c_str());
    ASSERT_GT(grandchild, 0);
    EXPECT_EQ(::getpgid(grandchild), c->pid());
    EXPECT_FALSE(c->exited());
    ASSERT_TRUE(c->signal_group(SIGKILL).ok());
    auto st = c->wait();
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(st->signal, SIGKILL);
    EXPECT_TRUE(gone(grandchild));
    EXPECT_FALSE(c->running());
}

TEST(subprocess, waits_with_a_limit_and_kills_what_it_drops) {
    spawn_options o;
    o.argv = {"/bin/sleep", "100"};
    auto c = spawn(o);
    ASSERT_TRUE(c.ok()) << c.message();
    EXPECT_GE(c->poll_fd(), 0);  // pidfd: Linux 5.3 and later
    auto r = c->wait_for(50ms);
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_FALSE(r->has_value());
    const pid_t pid = c->pid();
    { child dropped = std::move(*c); }
    EXPECT_TRUE(gone(pid));

    o.argv = {"/bin/true"};
    c = spawn(o);
    ASSERT_TRUE(c.ok()) << c.message();
    r = c->wait_for(10s);
    ASSERT_TRUE(r.ok() && r->has_value());
    EXPECT_TRUE((*r)->success());
}

// Signals the parent ignores or blocks reach the child with their default action.
TEST(subprocess, resets_signal_dispositions_and_mask) {
    struct sigaction ignore {
    }, old_term{};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGTERM, &ignore, &old_term);
    sigset_t usr1, old_mask;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    ::pthread_sigmask(SIG_BLOCK, &usr1, &old_mask);
    EXPECT_EQ(run(shell("kill -TERM $$; sleep 5")).first.signal, SIGTERM);
    EXPECT_EQ(run(shell("kill -USR1 $$; sleep 5")).first.signal, SIGUSR1);
    if (auto user = nobody()) {
        auto o = shell("kill -TERM $$; sleep 5");
        o.user = user;
        EXPECT_EQ(run(o).first.signal, SIGTERM);
    }
    ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
}

TEST(subprocess, runs_as_another_user) {
    auto user = nobody();
    if (!user) {
        spawn_options o;
        o.argv = {"/usr/bin/id", "-u"};
        o.user = user_credentials{::getuid(), ::getgid(), {}, "someone"};
        auto c = spawn(o);
        ASSERT_FALSE(c.ok());
        EXPECT_EQ(c.message(), "cannot switch to user someone: setgroups: Operation not permitted");
        GTEST_SKIP() << "not root: only the refused switch is checked";
    }
    spawn_options o;
    o.argv = {"/usr/bin/id", "-u"};
    o.user = user;
    o.working_dir = "/";
    EXPECT_EQ(run(o).second, std::to_string(user->uid) + "\n");

    char dir[] = "/tmp/subprocess-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);  // mode 0700, owned by root: nobody may not enter
    o.working_dir = dir;
    auto c = spawn(o);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.message(), std::string("cannot use working directory ") + dir +
                               " as user nobody: Permission denied");
    ::rmdir(dir);

    o.working_dir.clear();
    o.argv = {"/nonexistent/pubsub/prog"};
    c = spawn(o);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.message(), "cannot execute /nonexistent/pubsub/prog: No such file or directory");
}

}  // namespace
}  // namespace pubsub
