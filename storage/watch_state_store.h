// pg_watch_state_store: the file watcher's state in <schema>.tpubsub_watched_files
// (sql/004_watched_files.sql), implementing watch_state_store (router/file_watch_state.h).
//
// Owns one connection, opened on first use and reopened after any failure, so a database that
// went away and came back needs no restart. apply() coalesces its ops by path (the last op for
// a path wins) and runs one DELETE and one upsert (arrays through unnest) in one transaction,
// with the checkpoints in <schema>.tpubsub_watch_checkpoints (sql/008_watch_checkpoints.sql).
// load() first folds the committed file_received events since the checkpoint into the table,
// in the same transaction as its read.
// Not thread-safe: one thread at a time (the watcher's start(), then its state thread).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "router/file_watch_state.h"
#include "storage/pg.h"

namespace pubsub {

class pg_watch_state_store final : public watch_state_store {
  public:
    pg_watch_state_store(std::string dsn, std::string schema);

    result<std::vector<file_record>> load(const std::string& watch_dir) override;
    status apply(const std::vector<file_state_op>& ops) override;

  private:
    result<pg::connection*> conn();
    status run_apply(pg::connection& c, const std::vector<file_state_op>& ops);
    status fold_events(pg::connection& c, const std::string& watch_dir);

    std::string dsn_;
    std::string schema_;
    std::optional<pg::connection> conn_;
};

}  // namespace pubsub
