// daemon: pubsubd's lifecycle. run_daemon() starts the database services (database.h), then
// the node's (services.h), in order, sends READY, waits for SIGTERM/SIGINT (SIGHUP reloads),
// and stops every started service in reverse: the doors, the router and the pools until
// --drain-timeout, the write-behind for as long again, then the node row and the embedded
// cluster. A failed start stops what started, in the same order, at once. Returns the exit
// code: 0; 1 on a failed start or when events were left unpersisted; 2 on a malformed handler
// setting. Main thread only.
#pragma once

#include "daemon/config.h"

namespace pubsub {

int run_daemon(const daemon_config& config);

}  // namespace pubsub
