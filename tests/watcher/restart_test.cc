// File watcher restarts: files that arrived while it was stopped are emitted once, a restart
// emits nothing twice, a new version is emitted again, and deleted files are forgotten.
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "tests/watcher/watch_fixture.h"

namespace pubsub::test {
namespace {

namespace fs = std::filesystem;

TEST_F(watcher_test, restart_emits_files_that_arrived_while_down_once_and_new_versions_again) {
    const std::string& d = dir_->path();
    {
        auto w = start_watcher();
        write_file(d + "/before.csv", "1");
        ASSERT_TRUE(wait_until([&] { return intake_.accepted_count() == 1; }));
        w->close();
    }
    ASSERT_EQ(state_rows(), 1);

    // Down: three new files (one in a new subdirectory), one temporary name.
    fs::create_directories(d + "/sub");
    for (const char* n : {"/a.csv", "/b.csv", "/sub/c.csv", "/d.tmp"}) write_file(d + n, "x");
    {
        auto w = start_watcher();
        ASSERT_TRUE(wait_until([&] { return intake_.accepted_count() == 4; }))
            << intake_.accepted_count();
        quiet();
        w->close();
    }
    auto got = intake_.accepted();
    ASSERT_EQ(got.size(), 4u);
    std::set<std::string> second{got[1].path, got[2].path, got[3].path};
    EXPECT_EQ(second, (std::set<std::string>{d + "/a.csv", d + "/b.csv", d + "/sub/c.csv"}));
    EXPECT_EQ(state_rows(), 4);

    // A second restart with nothing new: nothing.
    {
        auto w = start_watcher();
        quiet();
        EXPECT_EQ(w->counters().rescans, 0u);
        w->close();
    }
    EXPECT_EQ(intake_.accepted_count(), 4u);

    // Down again: a.csv gets a new version (new size), b.csv is deleted.
    write_file(d + "/a.csv", "a longer second version");
    fs::remove(d + "/b.csv");
    {
        auto w = start_watcher();
        ASSERT_TRUE(wait_until([&] { return intake_.accepted_count() == 5; }));
        quiet();
        w->close();
    }
    got = intake_.accepted();
    ASSERT_EQ(got.size(), 5u);
    EXPECT_EQ(got[4].path, d + "/a.csv");
    EXPECT_NE(got[4].draft.data_json.find("\"size\":23"), std::string::npos);
    EXPECT_EQ(state_rows(), 3) << "b.csv is gone: its row must be deleted";
}

TEST_F(watcher_test, same_size_but_new_mtime_is_a_new_version) {
    const std::string p = dir_->path() + "/m.csv";
    auto w = start_watcher();
    write_file(p, "1234");
    ASSERT_TRUE(wait_until([&] { return intake_.accepted_count() == 1; }));
    // Rewrite with the same size and an mtime one second later.
    write_file(p + ".tmp", "5678");
    fs::last_write_time(p + ".tmp", fs::last_write_time(p) + std::chrono::seconds(1));
    fs::rename(p + ".tmp", p);
    ASSERT_TRUE(wait_until([&] { return intake_.accepted_count() == 2; }));
    // Opened for writing and closed without a change: same version, nothing.
    const int fd = ::open(p.c_str(), O_WRONLY | O_APPEND);
    ASSERT_GE(fd, 0);
    ::close(fd);
    quiet();
    EXPECT_EQ(intake_.accepted_count(), 2u);
}

}  // namespace
}  // namespace pubsub::test
