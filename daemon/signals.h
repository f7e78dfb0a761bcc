// signals: pubsubd takes SIGTERM, SIGINT and SIGHUP with sigwait() on its main thread, so no
// signal handler ever runs on a worker. Call block_stop_signals() before any thread starts:
// threads inherit the blocked mask. Main thread only.
#pragma once

#include <signal.h>

#include <functional>

namespace pubsub {

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and ignores SIGPIPE (a peer that went
// away is an error value, not a signal); returns the blocked set for wait_for_stop_signal().
sigset_t block_stop_signals();

// Waits for SIGTERM or SIGINT and returns it; on each SIGHUP calls on_hup and waits on.
int wait_for_stop_signal(const sigset_t& set, const std::function<void()>& on_hup);

}  // namespace pubsub
