// file_watcher::impl, the tree half: inotify watches, directory listings, rescans, pruning.
// Runs on the io thread only (see file_watch_impl.h).
#include <dirent.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include <cerrno>

#include "base/errno_text.h"
#include "ingest/file_watch_impl.h"

namespace pubsub {

namespace {

constexpr std::uint32_t k_mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
                                 IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR |
                                 IN_EXCL_UNLINK;

bool is_directory(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

std::string file_watcher::impl::relative(const std::string& path, std::size_t root) const {
    const std::string& r = roots[root].dir;
    if (path.size() <= r.size()) return {};
    return path.substr(r == "/" ? 1 : r.size() + 1);
}

void file_watcher::impl::start_root(std::size_t root) {
    root_dir& r = roots[root];
    if (!is_directory(r.dir)) {
        if (!r.reported_missing) {
            log(log_level::warn,
                "file watcher: " + r.dir +
                    " does not exist or is not a directory; it will be watched once it does");
            r.reported_missing = true;
        }
        return;
    }
    add_tree(r.dir, root);
    if (wd_by_path.count(r.dir) == 0) return;  // could not be watched (logged by watch_one)
    r.present = true;
    dirs_missing.fetch_sub(1, std::memory_order_relaxed);
    if (r.reported_missing) log(log_level::info, "file watcher: watching " + r.dir + " again");
    r.reported_missing = false;
    prune(root);
}

void file_watcher::impl::root_lost(std::size_t root) {
    root_dir& r = roots[root];
    if (!r.present) return;
    r.present = false;
    r.reported_missing = true;
    dirs_missing.fetch_add(1, std::memory_order_relaxed);
    remove_tree(r.dir);
    // Known versions stay: if the directory comes back with the same files (a remount, a
    // restore), nothing is emitted twice; prune() forgets what is gone when it returns.
    fail(log_level::warn, "file watcher: watched directory " + r.dir +
                              " disappeared; it will be watched again once it is re-created");
}

// Watches dir and everything below it, listing each directory after its watch is in place so
// that no file can fall between the listing and the watch.
void file_watcher::impl::add_tree(const std::string& dir, std::size_t root) {
    std::vector<std::string> pending{dir};
    while (!pending.empty()) {
        std::string d = std::move(pending.back());
        pending.pop_back();
        if (watch_one(d, root)) list_dir(d, root, pending);
    }
    watches.store(by_wd.size(), std::memory_order_relaxed);
}

// False when the directory is to be skipped (gone, or cannot be watched for another reason
// than the watch limit; at the limit it is still listed, and polled by full rescans).
bool file_watcher::impl::watch_one(const std::string& dir, std::size_t root) {
    const std::uint32_t mask = dir == roots[root].dir ? k_mask : k_mask | IN_DONT_FOLLOW;
    const bool at_test_limit =
        test_watch_limit > 0 && by_wd.size() >= test_watch_limit && wd_by_path.count(dir) == 0;
    const int wd = at_test_limit ? (errno = ENOSPC, -1)
                                 : inotify_add_watch(inotify.native_handle(), dir.c_str(), mask);
    if (wd >= 0) {
        if (auto old = by_wd.find(wd); old != by_wd.end() && old->second.path != dir) {
            wd_by_path.erase(old->second.path);  // the directory moved while events were lost
        }
        by_wd[wd] = {dir, root};
        wd_by_path[dir] = wd;
        return true;
    }
    const int e = errno;
    if (e == ENOENT || e == ENOTDIR) return false;
    if (e == ENOSPC) {
        limit_errors.fetch_add(1, std::memory_order_relaxed);
        if (!limit_reached.exchange(true, std::memory_order_relaxed)) {
            fail(log_level::error,
                 "file watcher: inotify watch limit reached (raise fs.inotify.max_user_watches)"
                 ": " +
                     dir +
                     " and possibly other directories are not watched; they are "
                     "rescanned every " +
                     std::to_string(opts.poll_interval.count()) + " ms");
        }
        limit_hit = true;
        return true;
    }
    unreadable.fetch_add(1, std::memory_order_relaxed);
    fail(log_level::warn,
         "file watcher: cannot watch " + dir + " (" + errno_text(e) + "); skipped");
    return false;
}

void file_watcher::impl::list_dir(const std::string& dir, std::size_t root,
                                  std::vector<std::string>& subdirs) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
        const int e = errno;
        if (e == ENOENT || e == ENOTDIR) return;
        unreadable.fetch_add(1, std::memory_order_relaxed);
        fail(log_level::warn,
             "file watcher: cannot list " + dir + " (" + errno_text(e) + "); skipped");
        return;
    }
    const std::string base = dir == "/" ? dir : dir + "/";
    while (const dirent* ent = ::readdir(d)) {
        const std::string_view name(ent->d_name);
        if (name == "." || name == "..") continue;
        std::string path = base + std::string(name);
        if (ignore.ignored(name, relative(path, root))) continue;
        unsigned char type = ent->d_type;
        if (type == DT_UNKNOWN) {
            struct stat st {};
            if (::lstat(path.c_str(), &st) != 0) continue;
            type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
        }
        if (type == DT_DIR) {
            subdirs.push_back(std::move(path));
        } else if (type == DT_REG) {
            consider(path, root, false);
        }
    }
    ::closedir(d);
}

void file_watcher::impl::drop_wd(int wd) {
    auto it = by_wd.find(wd);
    if (it == by_wd.end()) return;
    if (auto p = wd_by_path.find(it->second.path); p != wd_by_path.end() && p->second == wd) {
        wd_by_path.erase(p);
    }
    by_wd.erase(it);
    watches.store(by_wd.size(), std::memory_order_relaxed);
}

void file_watcher::impl::remove_tree(const std::string& dir) {
    for_tree(wd_by_path, dir, [this](const std::string&, int wd) {
        (void)inotify_rm_watch(inotify.native_handle(), wd);  // EINVAL when already gone
        by_wd.erase(wd);
        return true;
    });
    watches.store(by_wd.size(), std::memory_order_relaxed);
}

// Forgets the known files of root that no longer exist, and the watches of directories that
// vanished while their events were lost.
void file_watcher::impl::prune(std::size_t root) {
    const std::string& dir = roots[root].dir;
    std::vector<std::string> gone;
    for_tree(known, dir, [&](const std::string& path, const known_file&) {
        struct stat st {};
        if (::lstat(path.c_str(), &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) {
            gone.push_back(path);
        }
        return false;
    });
    for (const auto& p : gone) forget_file(p, root);
    std::vector<int> stale;
    for_tree(wd_by_path, dir, [&](const std::string& path, int wd) {
        if (!is_directory(path)) stale.push_back(wd);
        return false;
    });
    for (int wd : stale) {
        (void)inotify_rm_watch(inotify.native_handle(), wd);
        drop_wd(wd);
    }
}

void file_watcher::impl::full_rescan() {
    if (!watching) return;
    rescans.fetch_add(1, std::memory_order_relaxed);
    limit_hit = false;
    for (std::size_t i = 0; i < roots.size(); ++i) {
        if (roots[i].present) {
            add_tree(roots[i].dir, i);
            prune(i);
        } else {
            start_root(i);
        }
    }
    if (!limit_hit && limit_reached.exchange(false, std::memory_order_relaxed)) {
        log(log_level::info,
            "file watcher: every directory is watched again (below the inotify watch limit)");
    }
}

}  // namespace pubsub
