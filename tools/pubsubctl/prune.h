// pubsubctl events prune: removes finished events older than a duration, with their deliveries,
// by hand (SPEC 7.4), or counts them with --dry-run; records an audit entry either way.
#pragma once

#include <CLI/CLI.hpp>

#include "ctl_context.h"

namespace pubsub::ctl {

// Adds `prune` under `events`; its callback sets rc to the exit code.
void add_prune_command(CLI::App& events, const context& ctx, int& rc);

}  // namespace pubsub::ctl
