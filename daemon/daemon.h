// daemon: wires the doors, the router, the handler pools and storage into pubsubd, and owns
// their lifecycle. run() blocks until SIGTERM/SIGINT and returns the exit code.
//
// Start order: database (embedded cluster or --dsn), migrations, write-behind and ids,
// subscribers, handler pools, router, resumed events, listener, socket door.
// Stop order (STYLE 9): stop the door (no new lines; replies still flow), drain the router and
// the pools up to --drain-timeout, flush the write-behind, close the door, stop the rest.
#pragma once

#include "daemon/config.h"

namespace pubsub {

int run_daemon(const daemon_config& config);

}  // namespace pubsub
