#include "daemon/signals.h"

namespace pubsub {

sigset_t block_stop_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);
    return set;
}

int wait_for_stop_signal(const sigset_t& set, const std::function<void()>& on_hup) {
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) continue;
        if (sig == SIGHUP) {
            on_hup();
            continue;
        }
        return sig;
    }
}

}  // namespace pubsub
