// watch_state_store: where the file watcher remembers which file versions it has emitted.
//
// A port of the core, like transition_log: the watcher (ingest) uses it, storage implements it
// with PostgreSQL (storage/watch_state_store.h, table <schema>.tpubsub_watched_files) and tests
// may implement it in memory. A file version is (size, mtime in microseconds); a file whose
// version differs from its record is emitted again.
// Exactly once across a crash: a record is applied only after its event committed, so a crash
// in between leaves a committed event without its record. The watcher therefore also applies
// checkpoints ("every event I submitted before this time is reflected in what was applied"),
// and load() returns the records together with the versions of the committed file_received
// events of the watch_dir's source created since its last checkpoint (the newest event of a
// path wins over an older record).
// Thread-safety: the watcher calls load() once per watched directory from start(), then every
// apply() from its one state thread; implementations need not be thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "router/event.h"
#include "base/result.h"

namespace pubsub {

struct file_record {
    std::string path;  // absolute
    std::int64_t size = 0;
    std::int64_t mtime_us = 0;  // microseconds since the Unix epoch (UTC)
    event_id id = 0;            // the event emitted for this version
};

// One change to the state: put (insert or replace a record), forget (delete the path) or
// checkpoint (every event the watcher submitted before events_before_us, wall clock, is
// reflected in the ops applied up to this one).
struct file_state_op {
    enum class kind { put, forget, checkpoint } op = kind::put;
    std::string watch_dir;              // the configured directory (the path lies under it)
    file_record rec;                    // only rec.path is used by forget; unused by checkpoint
    std::int64_t events_before_us = 0;  // checkpoint only
};

// The event_source of the watcher's file_received events for a watched directory.
inline std::string file_watcher_source(const std::string& watch_dir) {
    return "file_watcher:" + watch_dir;
}

class watch_state_store {
  public:
    virtual ~watch_state_store() = default;
    // Every record under watch_dir, with the committed events since its checkpoint folded in.
    virtual result<std::vector<file_record>> load(const std::string& watch_dir) = 0;
    // Applies the ops in order, all or none (one transaction).
    virtual status apply(const std::vector<file_state_op>& ops) = 0;
};

}  // namespace pubsub
