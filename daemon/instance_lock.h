// instance_lock: one pubsubd per data dir and per socket path (SPEC 7.4). An exclusive flock on
// a lock file (DATA_DIR/pubsubd.lock, SOCKET.lock) that holds the holder's pid as text. The lock
// dies with the process (also on kill -9), so a stale file never blocks a restart; the file
// itself is left in place (unlinking a lock file races with the next taker).
//
// The descriptor is close-on-exec: a handler process that outlives pubsubd does not keep the
// lock. Not thread-safe; taken once at start, before anything else, held until exit.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "daemon/config.h"
#include "base/result.h"

namespace pubsub {

class instance_lock {
  public:
    // Takes the lock on `file` (created with its folder when missing) without waiting. When
    // another process holds it, the error names that process's pid and `what` (e.g. "data dir
    // /srv/pubsub").
    static result<instance_lock> take(const std::filesystem::path& file, const std::string& what);

    instance_lock(instance_lock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    instance_lock& operator=(instance_lock&&) = delete;
    ~instance_lock();

  private:
    explicit instance_lock(int fd) : fd_(fd) {}
    int fd_ = -1;
};

// The locks of pubsubd (SPEC 7.4): DATA_DIR/pubsubd.lock in embedded mode (the data dir is
// created first when missing) and SOCKET.lock; the first error when another process holds one.
result<std::vector<instance_lock>> lock_instance(const daemon_config& cfg);

}  // namespace pubsub
