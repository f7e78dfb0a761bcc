// run_process: what the child inherits (environment, descriptors, signals) and what it does
// not interpret (arguments and stdin arrive byte for byte, no shell).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>
#include <sstream>

#include "handlers/process_runner.h"
#include "tests/handlers_proc/proc_helpers.h"
#include "tests/handlers_proc/temp_dir.h"

namespace pubsub {
namespace {

using testing::spec_for;
using testing::temp_dir;

TEST(ProcessIsolation, EnvironmentIsExactlyWhatWasGiven) {
    auto spec = spec_for("/usr/bin/env");
    spec.argv.push_back("-0");
    spec.env = {"PUBSUB_EVENT_ID=42", "PUBSUB_EVENT_TYPE=sales data",
                "EMPTY=", "MULTI=line1\nline2"};
    ::setenv("PUBSUB_TEST_SHOULD_NOT_LEAK", "1", 1);
    auto out = run_process(spec);
    ::unsetenv("PUBSUB_TEST_SHOULD_NOT_LEAK");
    ASSERT_TRUE(out.success()) << out.describe();
    std::string expected;
    for (const auto& kv : spec.env) expected += kv + '\0';
    EXPECT_EQ(out.stdout_tail, expected);

    spec.env.clear();
    out = run_process(spec);
    ASSERT_TRUE(out.success()) << out.describe();
    EXPECT_EQ(out.stdout_tail, "");
}

// Descriptors opened without O_CLOEXEC (a careless library's socket, a DB connection) must
// not reach the child: it sees 0, 1, 2 and whatever it opens itself.
TEST(ProcessIsolation, NoDescriptorLeaksToTheChild) {
    int file = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ASSERT_EQ(::dup2(file, 200), 200);
    ASSERT_EQ(::dup2(sv[0], 201), 201);
    ASSERT_EQ(::dup2(sv[1], 202), 202);
    ASSERT_EQ(::fcntl(200, F_GETFD) & FD_CLOEXEC, 0);  // the test is meaningful

    auto spec = spec_for("/bin/ls");
    spec.argv.push_back("/proc/self/fd");
    auto out = run_process(spec);
    for (int fd : {file, sv[0], sv[1], 200, 201, 202}) ::close(fd);

    ASSERT_TRUE(out.success()) << out.describe();
    std::set<int> seen;
    std::istringstream lines(out.stdout_tail);
    for (std::string l; std::getline(lines, l);) seen.insert(std::stoi(l));
    // ls itself holds one more descriptor: the /proc/self/fd directory it lists (3).
    EXPECT_EQ(seen, (std::set<int>{0, 1, 2, 3})) << out.stdout_tail;
}

// The daemon may ignore SIGPIPE or block signals in its pool threads; the child must start
// with default dispositions and an empty mask anyway.
TEST(ProcessIsolation, ChildGetsDefaultSignalsAndEmptyMask) {
    struct sigaction ignore {
    }, old{};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ignore, &old);
    sigset_t block, old_mask;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGUSR1);
    ::pthread_sigmask(SIG_BLOCK, &block, &old_mask);

    auto spec = spec_for("/bin/grep");
    spec.argv.insert(spec.argv.end(), {"-E", "^Sig(Ign|Blk)", "/proc/self/status"});
    auto out = run_process(spec);

    ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    ::sigaction(SIGPIPE, &old, nullptr);
    ASSERT_TRUE(out.success()) << out.describe();
    EXPECT_EQ(out.stdout_tail, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}

TEST(ProcessIsolation, ShellMetacharactersArriveLiterally) {
    temp_dir dir;
    auto spec = spec_for(dir.script("args.sh",
                                    "for a in \"$@\"; do printf '[%s]' \"$a\"; done\n"
                                    "printf '|'\n"
                                    "cat\n"));
    const std::vector<std::string> args = {"$(touch " + dir.path() + "/pwned)",
                                           "`id`",
                                           "a b",
                                           "'single'",
                                           "\"double\"",
                                           "line1\nline2",
                                           "*",
                                           "; ls",
                                           "&& echo no",
                                           "$HOME",
                                           "",
                                           "\\",
                                           "| cat"};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.stdin_data = "$(touch " + dir.path() + "/pwned2)\n'\"`\\\n{\"a\": [1, 2]}";
    auto out = run_process(spec);
    ASSERT_TRUE(out.success()) << out.describe();
    std::string expected;
    for (const auto& a : args) expected += "[" + a + "]";
    expected += "|" + spec.stdin_data;
    EXPECT_EQ(out.stdout_tail, expected);
    EXPECT_FALSE(std::ifstream(dir.path() + "/pwned").good());
    EXPECT_FALSE(std::ifstream(dir.path() + "/pwned2").good());
}

// A child that never reads stdin makes our write fail with EPIPE; the test process surviving
// is the assertion that SIGPIPE never reached it. The caller's mask must come back unchanged.
TEST(ProcessIsolation, ChildThatIgnoresStdinDoesNotKillUs) {
    temp_dir dir;
    auto out = run_process(spec_for(dir.script("quick.sh", "exit 0\n"), std::string(4 << 20, 'x')));
    EXPECT_TRUE(out.success()) << out.describe();

    out = run_process(spec_for(dir.script("closer.sh", "exec 0<&-\nsleep 0.2\nexit 5\n"),
                               std::string(4 << 20, 'y')));
    EXPECT_EQ(out.exit_code, 5) << out.describe();

    sigset_t mask, pending;
    ::pthread_sigmask(SIG_SETMASK, nullptr, &mask);
    EXPECT_FALSE(sigismember(&mask, SIGPIPE));
    sigpending(&pending);
    EXPECT_FALSE(sigismember(&pending, SIGPIPE));
}

}  // namespace
}  // namespace pubsub
