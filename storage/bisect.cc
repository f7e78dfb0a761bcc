#include "storage/bisect.h"

namespace pubsub {

bool bisect_failed_range(std::size_t lo, std::size_t hi, const std::string& error,
                         const bisect_ops& ops) {
    if (hi - lo == 1) {
        ops.rejected(lo, error);
        return true;
    }
    const std::size_t mid = lo + (hi - lo) / 2;
    bisect_write first = ops.write(lo, mid);
    if (first.ok) {
        ops.committed(lo, mid);
        // The bad unit is in the second half: split it without writing it whole again.
        return bisect_failed_range(mid, hi, error, ops);
    }
    if (first.transient) return false;
    if (!bisect_failed_range(lo, mid, first.error, ops)) return false;
    bisect_write second = ops.write(mid, hi);
    if (second.ok) {
        ops.committed(mid, hi);
        return true;
    }
    if (second.transient) return false;
    return bisect_failed_range(mid, hi, second.error, ops);
}

}  // namespace pubsub
