// run_process: exit status, output capture, timeouts and process groups, concurrency.
#include "handlers/process_runner.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <sstream>
#include <thread>

#include "tests/handlers_proc/proc_helpers.h"
#include "tests/handlers_proc/temp_dir.h"

namespace pubsub {
namespace {

using namespace std::chrono_literals;
using testing::spec_for;
using testing::temp_dir;
using kind = process_outcome::kind;

TEST(RunProcess, EchoesStdinAndSucceeds) {
    temp_dir dir;
    auto out = run_process(spec_for(dir.script("echo.sh", "cat\n"), "hello\nworld\n"));
    EXPECT_EQ(out.how, kind::exited) << out.describe();
    EXPECT_EQ(out.exit_code, 0);
    EXPECT_TRUE(out.success());
    EXPECT_EQ(out.stdout_tail, "hello\nworld\n");
    EXPECT_EQ(out.stdout_bytes, 12u);
    EXPECT_EQ(out.stderr_bytes, 0u);
    EXPECT_EQ(out.describe(), "exit 0");
}

TEST(RunProcess, NonZeroExitKeepsStderrTail) {
    temp_dir dir;
    auto out = run_process(
        spec_for(dir.script("fail.sh", "echo partial\necho 'oops: bad config' >&2\nexit 3\n")));
    EXPECT_EQ(out.how, kind::exited);
    EXPECT_EQ(out.exit_code, 3);
    EXPECT_FALSE(out.success());
    EXPECT_EQ(out.stdout_tail, "partial\n");
    EXPECT_EQ(out.stderr_tail, "oops: bad config\n");
    EXPECT_EQ(out.describe(), "exit 3: oops: bad config");
}

TEST(RunProcess, DeathBySignalIsNamed) {
    temp_dir dir;
    auto out = run_process(spec_for(dir.script("die.sh", "kill -KILL $$\n")));
    EXPECT_EQ(out.how, kind::signaled);
    EXPECT_EQ(out.signal, SIGKILL);
    EXPECT_FALSE(out.success());
    EXPECT_EQ(out.describe(), "killed by signal 9 (SIGKILL)");

    out = run_process(spec_for(dir.script("segv.sh", "echo crashing >&2\nkill -SEGV $$\n")));
    EXPECT_EQ(out.how, kind::signaled);
    EXPECT_EQ(out.signal, SIGSEGV);
    EXPECT_EQ(out.describe(), "killed by signal 11 (SIGSEGV): crashing");
}

// The leader and a background grandchild both ignore SIGTERM: SIGKILL after the grace period
// must take the whole group.
TEST(RunProcess, TimeoutKillsWholeGroupEvenWhenTermIsIgnored) {
    temp_dir dir;
    auto spec = spec_for(dir.script("stubborn.sh",
                                    "trap '' TERM\n"
                                    "sh -c 'exec sleep 30' &\n"
                                    "echo $!\n"
                                    "exec sleep 30\n"));
    spec.timeout = 300ms;
    spec.kill_grace = 200ms;
    auto out = run_process(spec);
    pid_t grandchild = std::atoi(out.stdout_tail.c_str());
    ASSERT_GT(grandchild, 1) << out.stdout_tail;
    EXPECT_EQ(out.how, kind::timed_out);
    EXPECT_EQ(out.signal, SIGKILL);
    EXPECT_FALSE(out.success());
    EXPECT_EQ(out.describe(), "timed out after 300ms; process group killed");
    EXPECT_TRUE(testing::wait_gone(grandchild));
    testing::reap_leftover(grandchild);
}

// The leader dies of SIGTERM, the grandchild ignores it: it must not survive its parent.
TEST(RunProcess, TimeoutKillsGrandchildThatOutlivesTheLeader) {
    temp_dir dir;
    auto spec = spec_for(dir.script("leader.sh",
                                    "sh -c \"trap '' TERM; exec sleep 30\" &\n"
                                    "echo $!\n"
                                    "sleep 30\n"));
    spec.timeout = 300ms;
    spec.kill_grace = 5s;  // not waited for: the leader's exit triggers SIGKILL of the group
    auto out = run_process(spec);
    pid_t grandchild = std::atoi(out.stdout_tail.c_str());
    ASSERT_GT(grandchild, 1) << out.stdout_tail;
    EXPECT_EQ(out.how, kind::timed_out);
    EXPECT_EQ(out.signal, SIGTERM);
    EXPECT_TRUE(testing::wait_gone(grandchild));
    testing::reap_leftover(grandchild);
}

// Policy: what a handler leaves running in its group dies when it exits.
TEST(RunProcess, LeftoverBackgroundProcessIsKilledOnExit) {
    temp_dir dir;
    auto out = run_process(spec_for(dir.script("bg.sh", "sleep 30 &\necho $!\nexit 0\n")));
    pid_t leftover = std::atoi(out.stdout_tail.c_str());
    ASSERT_GT(leftover, 1);
    EXPECT_EQ(out.how, kind::exited) << out.describe();  // not a timeout waiting for its EOF
    EXPECT_TRUE(out.success());
    EXPECT_TRUE(testing::wait_gone(leftover));
    testing::reap_leftover(leftover);
}

TEST(RunProcess, TenMegabytesOnBothStreamsKeepsBoundedTails) {
    temp_dir dir;
    auto spec = spec_for(dir.script("flood.sh",
                                    "head -c 10485760 /dev/zero\n"
                                    "head -c 10485760 /dev/zero >&2\n"
                                    "printf end; printf END >&2\n"));
    spec.max_output_bytes = 1000;
    auto out = run_process(spec);
    EXPECT_TRUE(out.success()) << out.describe();
    EXPECT_EQ(out.stdout_bytes, 10485760u + 3);
    EXPECT_EQ(out.stderr_bytes, 10485760u + 3);
    ASSERT_EQ(out.stdout_tail.size(), 1000u);
    ASSERT_EQ(out.stderr_tail.size(), 1000u);
    EXPECT_EQ(out.stdout_tail.substr(997), "end");
    EXPECT_EQ(out.stderr_tail.substr(997), "END");
    EXPECT_EQ(out.stdout_tail.substr(0, 997), std::string(997, '\0'));
}

// The child echoes while we are still writing: neither side may block the other.
TEST(RunProcess, TenMegabytesThroughStdinAndBack) {
    temp_dir dir;
    std::string data;
    for (int i = 0; data.size() < 10485760; ++i) data += std::to_string(i) + "\n";
    auto out = run_process(spec_for(dir.script("cat.sh", "cat\n"), data));
    EXPECT_TRUE(out.success()) << out.describe();
    EXPECT_EQ(out.stdout_bytes, data.size());
    EXPECT_EQ(out.stdout_tail, data.substr(data.size() - 64 * 1024));
}

TEST(RunProcess, ZeroCapacityCountsOnly) {
    temp_dir dir;
    auto spec = spec_for(dir.script("say.sh", "echo hello; echo bad >&2; exit 1\n"));
    spec.max_output_bytes = 0;
    auto out = run_process(spec);
    EXPECT_EQ(out.stdout_bytes, 6u);
    EXPECT_EQ(out.stderr_bytes, 4u);
    EXPECT_EQ(out.stdout_tail, "");
    EXPECT_EQ(out.describe(), "exit 1");
}

TEST(RunProcess, ConcurrentCallsFromEightThreads) {
    temp_dir dir;
    const std::string script = dir.script("echo.sh", "cat\necho \"$1\" >&2\n");
    constexpr int threads = 8, runs = 12;
    std::vector<std::string> failures[threads];
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            for (int r = 0; r < runs; ++r) {
                std::string tag = std::to_string(t) + ":" + std::to_string(r);
                auto spec = spec_for(script, std::string(1000 * (r + 1), 'a' + t) + tag);
                spec.argv.push_back(tag);
                auto out = run_process(spec);
                if (!out.success() || out.stdout_tail != spec.stdin_data ||
                    out.stderr_tail != tag + "\n")
                    failures[t].push_back(tag + ": " + out.describe());
            }
        });
    }
    for (auto& th : pool) th.join();
    for (const auto& f : failures) EXPECT_TRUE(f.empty()) << f.front();
}

TEST(RunProcess, MissingProgram) {
    auto out = run_process(spec_for("/nonexistent/pubsub/prog"));
    EXPECT_EQ(out.how, kind::spawn_failed);
    EXPECT_FALSE(out.success());
    EXPECT_EQ(out.describe(), "cannot execute /nonexistent/pubsub/prog: No such file or directory");
}

TEST(RunProcess, NonExecutableFile) {
    temp_dir dir;
    auto path = dir.write("plain.sh", "#!/bin/sh\nexit 0\n", 0644);
    auto out = run_process(spec_for(path));
    EXPECT_EQ(out.how, kind::spawn_failed);
    EXPECT_EQ(out.describe(), "cannot execute " + path + ": Permission denied");
}

TEST(RunProcess, NoShebangIsExecFormatErrorNotAShellFallback) {
    temp_dir dir;
    auto path = dir.write("noshebang", "touch " + dir.path() + "/ran\n", 0755);
    auto out = run_process(spec_for(path));
    EXPECT_EQ(out.how, kind::spawn_failed);
    EXPECT_NE(out.describe().find("cannot execute " + path + ": Exec format error"),
              std::string::npos)
        << out.describe();
    EXPECT_FALSE(std::ifstream(dir.path() + "/ran").good());
}

TEST(RunProcess, EmptyArgvIsRefused) {
    process_spec spec;
    auto out = run_process(spec);
    EXPECT_EQ(out.how, kind::spawn_failed);
    EXPECT_FALSE(out.error.empty());
}

TEST(RunProcess, WorkingDirectory) {
    temp_dir dir;
    auto spec = spec_for("/bin/pwd");
    spec.working_dir = dir.mkdir("work");
    auto out = run_process(spec);
    EXPECT_TRUE(out.success()) << out.describe();
    EXPECT_EQ(out.stdout_tail, spec.working_dir + "\n");

    spec.working_dir = dir.path() + "/missing";
    out = run_process(spec);
    EXPECT_EQ(out.how, kind::spawn_failed);
    EXPECT_EQ(out.describe(),
              "cannot use working directory " + spec.working_dir + ": No such file or directory");
}

TEST(ProcessOutcome, DescribeIsValidUtf8WithoutNul) {
    process_outcome o;
    o.how = process_outcome::kind::exited;
    o.exit_code = 2;
    static const char raw[] = "bad \xff\xfe byte, nul \0 here, caf\xc3\xa9 ok\n\n";
    o.stderr_tail.assign(raw, sizeof raw - 1);
    EXPECT_EQ(o.describe(), "exit 2: bad \uFFFD\uFFFD byte, nul \uFFFD here, caf\u00e9 ok");

    std::string e_acute = "\xc3\xa9", many;
    for (int i = 0; i < 5000; ++i) many += e_acute;
    o.stderr_tail = "x" + many + "y";  // the 4096-byte cut falls inside a character
    std::string expected = "exit 2: ...";
    for (int i = 0; i < 2047; ++i) expected += e_acute;
    EXPECT_EQ(o.describe(), expected + "y");

    o.how = process_outcome::kind::timed_out;
    o.timeout = std::chrono::milliseconds(5000);
    o.stderr_tail.clear();
    EXPECT_EQ(o.describe(), "timed out after 5s; process group killed");
    o.timeout = std::chrono::milliseconds(1500);
    EXPECT_EQ(o.describe(), "timed out after 1.5s; process group killed");
}

}  // namespace
}  // namespace pubsub
