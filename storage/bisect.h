// bisect: finds the bad units of a batch that failed as a whole with a data error.
//
// Units [0, n) failed together. The range is halved; each half is written on its own (one
// transaction each): a half that commits is settled, a half that fails with a data error is
// halved again, until single units remain: those are the bad ones. When the first half of a
// failed range commits, the second half is known to hold the bad unit and is split without
// being written as a whole. A transient error stops the search (the caller retries what is not
// settled later). With b bad units among n, it costs about 2 b log2(n) transactions.
// Pure control flow, no I/O of its own; single-threaded.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace pubsub {

struct bisect_write {
    bool ok = true;
    bool transient = false;  // when !ok: the database, not the rows, is the problem
    std::string error;       // when !ok: PostgreSQL's message
};

struct bisect_ops {
    std::function<bisect_write(std::size_t lo, std::size_t hi)> write;  // units [lo, hi)
    std::function<void(std::size_t lo, std::size_t hi)> committed;
    std::function<void(std::size_t unit, const std::string& error)> rejected;
};

// Units [lo, hi) failed together with `error`. Returns false when a transient error stopped
// the search; every unit reported neither committed nor rejected is then still unwritten.
bool bisect_failed_range(std::size_t lo, std::size_t hi, const std::string& error,
                         const bisect_ops& ops);

}  // namespace pubsub
