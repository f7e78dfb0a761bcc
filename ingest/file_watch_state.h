// watch_state_store: where the file watcher remembers which file versions it has emitted.
//
// The interface lives here so that ingest does not depend on storage; storage implements it
// with PostgreSQL (storage/watch_state_store.h, table <schema>.tpubsub_watched_files) and tests
// may implement it in memory. A file version is (size, mtime in microseconds); a file whose
// version differs from its record is emitted again.
// Thread-safety: the watcher calls load() once per watched directory from start(), then every
// apply() from its one state thread; implementations need not be thread-safe.
// Header-only on purpose: storage includes it without linking pubsub::ingest.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "router/event.h"
#include "router/result.h"

namespace pubsub {

struct file_record {
    std::string path;  // absolute
    std::int64_t size = 0;
    std::int64_t mtime_us = 0;  // microseconds since the Unix epoch (UTC)
    event_id id = 0;            // the event emitted for this version
};

// One change to the state: put (insert or replace a record) or forget (delete the path).
struct file_state_op {
    enum class kind { put, forget } op = kind::put;
    std::string watch_dir;  // the configured directory the path lies under
    file_record rec;        // only rec.path is used by forget
};

class watch_state_store {
  public:
    virtual ~watch_state_store() = default;
    // Every record under watch_dir.
    virtual result<std::vector<file_record>> load(const std::string& watch_dir) = 0;
    // Applies the ops in order, all or none (one transaction).
    virtual status apply(const std::vector<file_state_op>& ops) = 0;
};

}  // namespace pubsub
