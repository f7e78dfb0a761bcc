// File watcher faults: queue overflow (through the test seam), a watched directory deleted and
// re-created, an unreadable directory, refused submits, a missing directory at start.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "tests/watcher/watch_fixture.h"

namespace pubsub::test {
namespace {

namespace fs = std::filesystem;

TEST_F(watcher_test, overflow_rescan_misses_nothing_and_doubles_nothing) {
    const std::string& d = dir_->path();
    auto w = start_watcher();
    std::set<std::string> written;
    for (int i = 0; i < 50; ++i) {
        write_file(d + "/early" + std::to_string(i), "e");
        written.insert(d + "/early" + std::to_string(i));
    }
    ASSERT_TRUE(wait_until([&] { return intake_.accepted_count() == 50; }));

    // The kernel "loses" every event from here: new files, new directories, a replaced file.
    w->test_drop_events(true);
    fs::create_directories(d + "/lost/deeper");
    for (int i = 0; i < 200; ++i) {
        const std::string p = d + (i % 2 ? "/lost/deeper/f" : "/late") + std::to_string(i);
        write_file(p, "l");
        written.insert(p);
    }
    write_file(d + "/early0", "replaced with a new version");
    quiet(std::chrono::milliseconds(300));
    EXPECT_EQ(intake_.accepted_count(), 50u) << "events were supposed to be lost";
    w->test_drop_events(false);
    w->test_inject_overflow();

    ASSERT_TRUE(wait_until([&] { return intake_.accepted_count() >= 251; }))
        << intake_.accepted_count();
    quiet();
    auto got = intake_.accepted();
    EXPECT_EQ(got.size(), 251u);
    std::multiset<std::string> all;
    for (auto& s : got) all.insert(s.path);
    EXPECT_EQ(std::set<std::string>(all.begin(), all.end()), written);
    EXPECT_EQ(all.count(d + "/early0"), 2u);
    EXPECT_EQ(all.count(d + "/early1"), 1u);
    auto c = w->counters();
    EXPECT_EQ(c.overflows, 1u);
    EXPECT_EQ(c.rescans, 1u);

    // The new directories are watched after the rescan.
    write_file(d + "/lost/deeper/after", "a");
    ASSERT_TRUE(wait_until([&] { return intake_.accepted_count() == 252; }));
}

TEST_F(watcher_test, deleted_and_recreated_directory_is_watched_again) {
    const std::string d = dir_->path() + "/inbox";
    fs::create_directories(d);
    auto opts = options();
    opts.dirs = {d};
    auto w = start_watcher(opts);
    write_file(d + "/one.csv", "1");
    ASSERT_TRUE(wait_until([&] { return intake_.accepted_count() == 1; }));
    fs::remove_all(d);
    ASSERT_TRUE(wait_until([&] { return w->counters().dirs_missing == 1; }));
    fs::create_directories(d + "/sub");
    write_file(d + "/sub/two.csv", "2");
    ASSERT_TRUE(wait_until([&] { return intake_.accepted_count() == 2; }));
    ASSERT_TRUE(wait_until([&] { return w->counters().dirs_missing == 0; }));
    write_file(d + "/three.csv", "3");  // by inotify now
    ASSERT_TRUE(wait_until([&] { return intake_.accepted_count() == 3; }));
    quiet();
    EXPECT_EQ(intake_.accepted_count(), 3u);
    EXPECT_NE(w->counters().last_error.find("disappeared"), std::string::npos);
}

TEST_F(watcher_test, directory_missing_at_start_is_watched_once_created) {
    const std::string d = dir_->path() + "/later";
    auto opts = options();
    opts.dirs = {d};
    auto w = start_watcher(opts);
    EXPECT_EQ(w->counters().dirs_missing, 1u);
    fs::create_directories(d);
    write_file(d + "/x.csv", "x");
    ASSERT_TRUE(wait_until([&] { return intake_.accepted_count() == 1; }));
    quiet();
    EXPECT_EQ(intake_.accepted_count(), 1u);
}

TEST_F(watcher_test, unreadable_directory_is_reported_and_skipped) {
    if (::geteuid() == 0) GTEST_SKIP() << "root reads every directory";
    const std::string& d = dir_->path();
    fs::create_directories(d + "/locked");
    write_file(d + "/locked/secret.csv", "s");
    ASSERT_EQ(::chmod((d + "/locked").c_str(), 0), 0);
    write_file(d + "/open.csv", "o");
    auto w = start_watcher();
    ASSERT_TRUE(wait_until([&] { return intake_.accepted_count() == 1; }));
    quiet();
    auto c = w->counters();
    EXPECT_EQ(intake_.accepted_count(), 1u);
    EXPECT_GE(c.unreadable_dirs, 1u);
    EXPECT_NE(c.last_error.find("locked"), std::string::npos) << c.last_error;
    write_file(d + "/open2.csv", "o");
    ASSERT_TRUE(wait_until([&] { return intake_.accepted_count() == 2; }));
}

// SPEC 7.1: a name PostgreSQL cannot store (not UTF-8) is skipped and counted, once, and the
// watcher goes on; control characters are storable (escaped in the JSON) and emitted.
TEST_F(watcher_test, names_postgresql_cannot_store_are_skipped_and_counted) {
    const std::string& d = dir_->path();
    write_file(d + "/early\xc3(.csv", "x");  // a lead byte without its continuation
    auto w = start_watcher();
    write_file(d + "/late\xff.csv", "y");
    write_file(d + "/ctl\x01\x1f\x7f.csv", "z");
    write_file(d + "/good.csv", "g");
    ASSERT_TRUE(wait_until([&] { return intake_.accepted_count() == 2; }));
    ASSERT_TRUE(wait_until([&] { return w->counters().skipped_names == 2; }))
        << w->counters().skipped_names;
    quiet();
    std::set<std::string> got;
    for (auto& s : intake_.accepted()) got.insert(s.path);
    EXPECT_EQ(got, (std::set<std::string>{d + "/ctl\x01\x1f\x7f.csv", d + "/good.csv"}));
    EXPECT_EQ(w->counters().skipped_names, 2u);
    EXPECT_NE(w->counters().last_error.find("not UTF-8"), std::string::npos);
}

TEST_F(watcher_test, refused_submits_are_retried_and_recorded_once) {
    intake_.refuse_next(3);
    auto w = start_watcher();
    write_file(dir_->path() + "/r.csv", "r");
    ASSERT_TRUE(wait_until([&] { return intake_.accepted_count() == 1; }));
    quiet();
    EXPECT_EQ(intake_.accepted_count(), 1u);
    EXPECT_EQ(intake_.refused_count(), 3u);
    auto c = w->counters();
    EXPECT_EQ(c.submit_errors, 3u);
    EXPECT_EQ(c.files_emitted, 1u);
    ASSERT_TRUE(wait_until([&] { return state_rows() == 1; }));
}

TEST_F(watcher_test, watch_limit_is_reported_and_unwatched_directories_are_polled) {
    const std::string& d = dir_->path();
    for (const char* s : {"/a", "/b", "/c"}) fs::create_directories(d + s);
    auto opts = options();
    opts.poll_interval = std::chrono::milliseconds(200);
    file_watcher w(opts, intake_.submitter(), *store_);
    w.test_limit_watches(2);  // the root and one of a, b, c
    ASSERT_TRUE(w.start().ok());
    auto c = w.counters();
    EXPECT_TRUE(c.watch_limit_reached);
    EXPECT_GE(c.watch_limit_errors, 2u);
    EXPECT_EQ(c.watches, 2u);
    EXPECT_NE(c.last_error.find("max_user_watches"), std::string::npos) << c.last_error;
    for (const char* s : {"/a/1.csv", "/b/2.csv", "/c/3.csv", "/4.csv"}) write_file(d + s, "x");
    ASSERT_TRUE(wait_until([&] { return intake_.accepted_count() == 4; }))
        << intake_.accepted_count();
    quiet();
    EXPECT_EQ(intake_.accepted_count(), 4u);
    EXPECT_GE(w.counters().rescans, 1u);
}

TEST_F(watcher_test, overlapping_directories_are_refused) {
    auto opts = options();
    opts.dirs = {dir_->path(), dir_->path() + "/sub"};
    file_watcher w(opts, intake_.submitter(), *store_);
    status st = w.start();
    EXPECT_FALSE(st.ok());
    EXPECT_NE(st.message().find("overlap"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace pubsub::test
