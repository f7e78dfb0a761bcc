// fd_limit: makes room for the connections pubsubd may hold. Shells and systemd start services
// with a soft open-file limit of 1024 (and a far higher hard limit), below --max-connections'
// default alone. Start-up only; not thread-safe (the limit is process-wide).
#pragma once

#include <cstddef>
#include <string>

namespace pubsub {

struct fd_limit_outcome {
    std::size_t before = 0, after = 0;  // the soft limit
    std::string warning;                // set when even the hard limit is below `wanted`
};

// Raises the soft RLIMIT_NOFILE to `wanted` (at most to the hard limit) when it is lower.
fd_limit_outcome fit_fd_limit(std::size_t wanted);

}  // namespace pubsub
