// process_group_registry: the handler process groups running now, recorded on disk, so that
// the next start of pubsubd can kill the groups a predecessor that died (kill -9, OOM killer)
// left running. Their deliveries are re-run (the event is still open), so an orphan that kept
// running would do the work twice, concurrently and unnoticed.
//
// DESIGN: one file per running child, <dir>/<pid>, holding the child's start time (field 22
// of /proc/<pid>/stat) and the recording pubsubd's pid and start time. The child leads its own
// process group (run_process), so its pid is the group id. At start, kill_orphans() skips the
// records of a recording pubsubd that is still alive (not orphans, whatever shares the folder)
// and looks at every other record:
// - the pid is alive with the recorded start time: it is our child, the group gets SIGKILL;
// - the pid is alive with another start time: the pid was reused after our child and its
//   whole group died (Linux hands out no pid that still names a process group), nothing to do;
// - the pid is gone but a process group with that id still exists: what our child left in its
//   group (the id cannot belong to anyone else while the group exists), SIGKILL to the group.
// Each kill is logged; every record is removed. PR_SET_PDEATHSIG was not chosen: posix_spawn
// offers no hook to set it, and it fires when the spawning thread (a pool thread) exits, not
// the process. A daemon killed between spawn and add() leaves that one child unrecorded.
// Thread-safe: add() and remove() from any thread (one file each, no shared state).
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "base/result.h"

namespace pubsub {

class process_group_registry {
  public:
    explicit process_group_registry(std::string dir) : dir_(std::move(dir)) {}

    // Creates the directory (mode 0700) when missing.
    status open() const;
    // Records / forgets a child that leads its process group. Errors are ignored: a missing
    // record only means an orphan is not found after a crash.
    void add(pid_t pid) const;
    void remove(pid_t pid) const;

    // Kills the process groups recorded by a previous run that are still alive (see DESIGN),
    // logging each through log, and removes every record. Returns the number of groups killed.
    // Call at start, before any handler runs.
    std::size_t kill_orphans(const std::function<void(const std::string&)>& log) const;

    const std::string& dir() const { return dir_; }

  private:
    std::string dir_;
};

// Whether some process of process group pgid is alive (zombies, which only wait to be reaped,
// do not count). Reads /proc.
bool process_group_alive(pid_t pgid);

// Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or -1 when the process
// does not exist.
long long process_start_time(pid_t pid);

}  // namespace pubsub
