// file_watcher: the file door (SPEC 3.2). Recursive inotify watches on the configured
// directories; a complete file yields one `file_received` event (see file_watch_event.h).
//
// DESIGN: one thread runs an io_context that owns the inotify descriptor (an Asio
// posix::stream_descriptor), the directory tree, the table of known file versions and a tick
// timer, so that state needs no locks. A second thread (state_writer) records emitted files
// in the watch_state_store. Guarantees and their limits:
// - Complete files: IN_CLOSE_WRITE (closed after writing) and IN_MOVED_TO (renamed into place)
//   emit at once. Files found by a scan (start-up, new directory, overflow, re-created root)
//   cannot be known to be closed, so they are emitted once their size and mtime stayed the
//   same for settle_time (or at once when their IN_CLOSE_WRITE arrives first). A writer that
//   pauses longer than settle_time on a file that existed before its directory was watched
//   may thus cause an early event and a second one for the final version.
// - Recursive without gaps: a new directory is watched before it is listed, and listing it
//   watches its subdirectories in turn, so files written right after `mkdir -p a/b/c` are
//   seen either by their event or by the listing.
// - Once per version: a version is (size, mtime); a file whose version is known (emitted, or
//   in flight) is not emitted again. Known versions are recorded in the store only after the
//   submitter acknowledged the event (bind it to ack_mode::durable), each followed by a
//   checkpoint (the submit time of the oldest unacknowledged event); the store's load() folds
//   the committed events since the checkpoint back in (file_watch_state.h), so a crash between
//   an event's commit and its record emits the file neither twice nor never. Files that were
//   deleted or moved away are forgotten (and their rows deleted), so a file with the same
//   name arriving later is new.
// - Faults: IN_Q_OVERFLOW triggers a full rescan (deduplicated against the known versions);
//   ENOSPC from inotify_add_watch (fs.inotify.max_user_watches) is logged as an error, sets
//   watch_limit_reached and switches to a full rescan every poll_interval; an unreadable
//   directory is logged, counted and skipped; a watched directory that disappears is watched
//   again (and rescanned) once it is re-created; a refused submit is retried.
// Symbolic links are not followed below the watched directories; hard links made with link(2)
// emit nothing (no close). Directories given must not overlap (start() refuses).
// Lifecycle (a service in two steps): start() loads the state and starts both threads; stop()
// stops new events (acks still flow); close() waits for outstanding acks up to drain_timeout,
// records them, and joins. Both idempotent and noexcept. counters() is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/logger.h"
#include "base/result.h"
#include "base/service.h"
#include "ingest/file_watch_ignore.h"
#include "router/file_watch_state.h"
#include "router/intake.h"

namespace pubsub {

// Where events go. The daemon binds it to intake::submit(draft, ack_mode::durable, done). It
// must call done exactly once, from any thread, possibly before returning.
using event_submitter = std::function<void(event_draft, ack_callback)>;

struct file_watcher_options {
    std::vector<std::string> dirs;  // made absolute and normalised by start()
    std::vector<std::string> ignore = default_ignore_patterns();
    int priority = default_priority;
    std::chrono::milliseconds settle_time{1000};     // scan-found files: unchanged this long
    std::chrono::milliseconds retry_interval{1000};  // refused submits, missing dirs, state
    std::chrono::milliseconds poll_interval{5000};   // full rescans while the watch limit is hit
    std::chrono::milliseconds drain_timeout{5000};   // close(): wait this long for acks
    log_sink log;
};

struct file_watcher_counters {
    std::uint64_t files_emitted = 0;       // events acknowledged
    std::uint64_t submit_errors = 0;       // refused or failed acks (the file is retried)
    std::uint64_t in_flight = 0;           // submitted, not yet acknowledged
    std::uint64_t watches = 0;             // directories watched now
    std::uint64_t dirs_missing = 0;        // configured directories that do not exist now
    std::uint64_t overflows = 0;           // IN_Q_OVERFLOW seen
    std::uint64_t rescans = 0;             // full rescans done
    std::uint64_t unreadable_dirs = 0;     // directories skipped (cannot list or watch)
    std::uint64_t watch_limit_errors = 0;  // ENOSPC from inotify_add_watch
    bool watch_limit_reached = false;      // some directory is unwatched (polled instead)
    std::uint64_t skipped_names = 0;       // file names that are not UTF-8 (not emitted)
    std::uint64_t state_pending = 0;       // recorded versions waiting for the store
    std::uint64_t state_errors = 0;
    bool state_failing = false;
    std::string last_error;
};

class file_watcher final : public service {
  public:
    // store must outlive the watcher.
    file_watcher(file_watcher_options opts, event_submitter submit, watch_state_store& store);
    ~file_watcher() override;
    file_watcher(const file_watcher&) = delete;
    file_watcher& operator=(const file_watcher&) = delete;

    // Fails on bad options, when the state cannot be loaded, or when inotify is unavailable. A
    // directory that does not exist yet is only logged: it is watched once it appears. Watches
    // and lists every directory before returning (files found are emitted once settled), so
    // any file written after start() returns is seen by its own event.
    std::string_view name() const override { return "file watcher"; }
    status start() override;
    // Returns at once (the io thread stops watching); nothing waits for the deadline.
    void stop(clock::time_point deadline) noexcept override;
    void close() noexcept;
    file_watcher_counters counters() const;

    // Test seams (not for production use). test_drop_events(true) discards every inotify event
    // read, as the kernel does when its queue overflows; test_inject_overflow() then acts as if
    // IN_Q_OVERFLOW arrived.
    void test_drop_events(bool drop);
    void test_inject_overflow();
    // Before start(): inotify_add_watch fails with ENOSPC once n directories are watched.
    void test_limit_watches(std::size_t n);

  private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace pubsub
