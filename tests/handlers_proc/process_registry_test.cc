// process_group_registry: what a dead pubsubd recorded is killed at the next start only when it
// is still ours (same pid and start time, or a group left without its leader); a pid reused
// by anyone else, and the records of a pubsubd still alive, are left alone. Records come and
// go with run_process.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "base/subprocess.h"
#include "handlers/process_registry.h"
#include "handlers/process_runner.h"
#include "tests/handlers_proc/temp_dir.h"

namespace pubsub {
namespace {

namespace fs = std::filesystem;

// A child leading its own process group (from the moment spawn returns), sleeping until killed.
child sleeping_group_leader() {
    spawn_options o;
    o.argv = {"/bin/sleep", "1000"};
    o.own_process_group = true;
    auto c = spawn(o);
    EXPECT_TRUE(c.ok()) << c.message();
    return c.ok() ? std::move(*c) : child();
}

TEST(process_registry, kills_a_recorded_group_that_is_still_ours) {
    testing::temp_dir tmp;
    process_group_registry reg(tmp.path() + "/handlers");
    ASSERT_TRUE(reg.open().ok());
    child leader = sleeping_group_leader();
    const pid_t pid = leader.pid();
    reg.add(pid);
    std::vector<std::string> logged;
    EXPECT_EQ(reg.kill_orphans([&](const std::string& m) { logged.push_back(m); }), 1u);
    auto st = leader.wait();
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(st->signal, SIGKILL);
    ASSERT_EQ(logged.size(), 1u);
    EXPECT_NE(logged[0].find("killed process group " + std::to_string(pid)), std::string::npos);
    EXPECT_TRUE(fs::is_empty(reg.dir()));
}

TEST(process_registry, leaves_a_reused_pid_and_junk_alone) {
    testing::temp_dir tmp;
    process_group_registry reg(tmp.path() + "/handlers");
    ASSERT_TRUE(reg.open().ok());
    // Our own pid with another start time: what a reused pid looks like. Killing it would
    // kill this test.
    std::ofstream(reg.dir() + "/" + std::to_string(::getpid()))
        << process_start_time(::getpid()) + 1 << "\n";
    std::ofstream(reg.dir() + "/not-a-pid") << "1\n";
    EXPECT_EQ(reg.kill_orphans({}), 0u);
    EXPECT_TRUE(fs::is_empty(reg.dir()));
}

TEST(process_registry, leaves_the_records_of_a_living_pubsubd_alone) {
    testing::temp_dir tmp;
    process_group_registry reg(tmp.path() + "/handlers");
    ASSERT_TRUE(reg.open().ok());
    child owner_process = sleeping_group_leader();    // stands for another pubsubd, alive
    child handler_process = sleeping_group_leader();  // its handler
    const pid_t owner = owner_process.pid(), handler = handler_process.pid();
    const std::string record = reg.dir() + "/" + std::to_string(handler);
    std::ofstream(record) << process_start_time(handler) << " " << owner << " "
                          << process_start_time(owner) << "\n";
    EXPECT_EQ(reg.kill_orphans({}), 0u);
    EXPECT_TRUE(fs::exists(record));
    EXPECT_TRUE(process_group_alive(handler));
}  // the children's destructors kill and reap them

TEST(process_registry, run_process_records_its_child_only_while_it_runs) {
    testing::temp_dir tmp;
    process_group_registry reg(tmp.path() + "/handlers");
    ASSERT_TRUE(reg.open().ok());
    const std::string seen = tmp.path() + "/seen";
    process_spec spec;
    // The record is written just after the spawn returns, so a child as quick as `ls` could
    // look before it exists: the script waits (up to 5 s) for its own record, then lists.
    spec.argv = {tmp.script("ls.sh", "i=0; while [ ! -e '" + reg.dir() +
                                         "'/$$ ] && [ $i -lt 500 ]; do sleep 0.01; "
                                         "i=$((i+1)); done\nls '" + reg.dir() + "' > '" + seen +
                                         "'\n")};
    spec.registry = &reg;
    auto out = run_process(spec);
    ASSERT_TRUE(out.success()) << out.describe();
    std::ifstream f(seen);
    std::string listed;
    f >> listed;
    EXPECT_FALSE(listed.empty()) << "the running child was not recorded";
    EXPECT_TRUE(fs::is_empty(reg.dir())) << "the record outlived the child";
}

}  // namespace
}  // namespace pubsub
