#include "daemon/fd_limit.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>

#include "base/errno_text.h"

namespace pubsub {

fd_limit_outcome fit_fd_limit(std::size_t wanted) {
    fd_limit_outcome out;
    rlimit l{};
    if (::getrlimit(RLIMIT_NOFILE, &l) != 0) {
        out.warning = std::string("cannot read the open-file limit: ") + errno_text(errno);
        return out;
    }
    out.before = out.after = static_cast<std::size_t>(l.rlim_cur);
    if (l.rlim_cur != RLIM_INFINITY && l.rlim_cur < wanted) {
        rlimit raised = l;
        raised.rlim_cur = l.rlim_max == RLIM_INFINITY
                              ? static_cast<rlim_t>(wanted)
                              : std::min(l.rlim_max, static_cast<rlim_t>(wanted));
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) out.after = raised.rlim_cur;
    }
    if (out.after < wanted) {
        out.warning = "the open-file limit (" + std::to_string(out.after) +
                      ") is below what the connection limits may need (" + std::to_string(wanted) +
                      "); raise it (ulimit -n, LimitNOFILE=) or lower --max-connections";
    }
    return out;
}

}  // namespace pubsub
