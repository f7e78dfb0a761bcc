// file_watcher::impl: the watcher's state and the io-thread operations on it (internal header,
// included only by file_watcher.cc and file_watch_tree.cc).
//
// IMPORTANT: everything under "io thread only" is touched only by the io_context thread (or by
// start() before that thread exists); the atomics and the mutex-guarded fields may be read
// from any thread. See file_watcher.h for the DESIGN.
#pragma once

#include <sys/stat.h>

#include <array>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ingest/file_watch_writer.h"
#include "ingest/file_watcher.h"

struct inotify_event;

namespace pubsub {

namespace asio = boost::asio;
using watch_clock = std::chrono::steady_clock;

struct file_version {
    std::int64_t size = 0;
    std::int64_t mtime_us = 0;
    bool operator==(const file_version&) const = default;
};

file_version version_of(const struct stat& st);

struct known_file {
    file_version v;
    event_id id = 0;
    bool in_flight = false;
    std::uint64_t gen = 0;  // which submit owns the entry (0: loaded from the store)
};

struct settling_file {
    file_version v;
    watch_clock::time_point due;
    std::size_t root = 0;
};

struct root_dir {
    std::string dir;
    bool present = false;
    bool reported_missing = false;
};

struct watched_dir {
    std::string path;
    std::size_t root = 0;
};

struct file_watcher::impl : std::enable_shared_from_this<file_watcher::impl> {
    impl(file_watcher_options o, event_submitter s, watch_state_store& st);

    // --- configuration (immutable after start()) ---
    file_watcher_options opts;
    event_submitter submit;
    watch_state_store& store;
    ignore_patterns ignore;
    state_writer writer;

    // --- threads ---
    asio::io_context io;
    asio::posix::stream_descriptor inotify{io};
    asio::steady_timer tick{io};
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
    std::thread thread;
    bool started = false;  // start()/stop() caller only

    // --- io thread only ---
    std::vector<root_dir> roots;
    std::unordered_map<int, watched_dir> by_wd;
    std::map<std::string, int> wd_by_path;
    std::map<std::string, known_file> known;
    std::map<std::string, settling_file> settle;
    bool watching = false;
    bool limit_hit = false;
    bool refusing = false;  // the last ack was an error (log transitions only)  // ENOSPC since the
                            // last full rescan started
    std::uint64_t next_gen = 0;
    // gen -> wall-clock microseconds of every submit not yet acknowledged (gens grow with
    // time, so begin() is the oldest): what bounds the next checkpoint.
    std::map<std::uint64_t, std::int64_t> unacked_since;
    std::int64_t last_checkpoint_us = 0;
    watch_clock::time_point next_root_check{}, next_poll{};
    alignas(8) std::array<char, 64 * 1024> buf{};

    // --- any thread (relaxed: plain counters, no ordering with other data) ---
    std::atomic<bool> drop_events{false};
    std::size_t test_watch_limit = 0;  // set before start(); 0: none
    std::atomic<std::uint64_t> emitted{0}, submit_errors{0}, watches{0}, dirs_missing{0},
        overflows{0}, rescans{0}, unreadable{0}, limit_errors{0}, skipped_names{0};
    std::atomic<bool> limit_reached{false};
    mutable std::mutex mu;  // guards last_error, in_flight; drain_cv waits on it
    std::string last_error;
    std::uint64_t in_flight = 0;
    std::condition_variable drain_cv;

    void log(log_level level, const std::string& m);
    void fail(log_level level, const std::string& m);  // log and remember as last_error

    // file_watcher.cc: events, versions, submits
    void read();
    void handle_buffer(std::size_t n);
    void handle(const inotify_event& ev);
    void consider(const std::string& path, std::size_t root, bool complete);
    void emit(const std::string& path, std::size_t root, file_version v);
    void on_ack(const std::string& path, std::size_t root, std::uint64_t gen,
                const result<event_id>& r);
    void checkpoint(bool force);
    void forget_file(const std::string& path, std::size_t root);
    void forget_tree(const std::string& dir, std::size_t root);
    void on_tick();
    void schedule_tick();
    void check_settled(watch_clock::time_point now);

    // file_watch_tree.cc: watches and scans
    void start_root(std::size_t root);
    void root_lost(std::size_t root);
    void add_tree(const std::string& dir, std::size_t root);
    bool watch_one(const std::string& dir, std::size_t root);
    void list_dir(const std::string& dir, std::size_t root, std::vector<std::string>& subdirs);
    void remove_tree(const std::string& dir);
    void drop_wd(int wd);
    void prune(std::size_t root);
    void full_rescan();
    std::string relative(const std::string& path, std::size_t root) const;
};

// Calls f(key, value) for the entry `dir` and every entry under `dir/` of a path-keyed map;
// f returns true to erase the entry.
template <class Map, class F>
void for_tree(Map& m, const std::string& dir, F f) {
    if (auto it = m.find(dir); it != m.end() && f(it->first, it->second)) m.erase(it);
    const std::string prefix = dir + "/";
    for (auto it = m.lower_bound(prefix);
         it != m.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
        it = f(it->first, it->second) ? m.erase(it) : std::next(it);
    }
}

}  // namespace pubsub
