// Helpers shared by the process runner tests.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "handlers/process_runner.h"

namespace pubsub::testing {

inline const std::vector<std::string> base_env = {"PATH=/usr/bin:/bin", "LC_ALL=C"};

inline process_spec spec_for(std::string program, std::string stdin_data = {}) {
    process_spec s;
    s.argv = {std::move(program)};
    s.env = base_env;
    s.stdin_data = std::move(stdin_data);
    s.timeout = std::chrono::seconds(20);  // generous: a failure, not a slow machine, trips it
    return s;
}

// True when pid no longer runs: no /proc entry, or a zombie waiting for its (foreign) reaper.
inline bool process_gone(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!f || !std::getline(f, line)) return true;
    auto close = line.rfind(')');
    if (close == std::string::npos || close + 2 >= line.size()) return true;
    char state = line[close + 2];
    return state == 'Z' || state == 'X';
}

// SIGKILL is asynchronous: give a killed process a bounded moment to finish dying.
inline bool wait_gone(pid_t pid) {
    for (int i = 0; i < 500 && !process_gone(pid); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return process_gone(pid);
}

// Kills pid if a failed test left it running.
inline void reap_leftover(pid_t pid) {
    if (pid > 1 && !process_gone(pid)) ::kill(pid, SIGKILL);
}

}  // namespace pubsub::testing
