// row_state: what the write-behind knows of an event's stored row, kept in the event's opaque
// log_slot (router/event.h) so that merging a transition needs no lookup by event id.
// Writer thread only: nothing but the writer thread of the event's lane (write_behind.h) may
// call these.
#pragma once

#include <cstdint>

#include "router/event.h"

namespace pubsub {

// The highest transition seq already committed for ev; 0 while its row is unwritten.
inline std::uint32_t persisted_seq(const event& ev) {
    return static_cast<std::uint32_t>(ev.log_slot);
}
inline void set_persisted_seq(const event& ev, std::uint32_t seq) {
    ev.log_slot = (ev.log_slot & ~std::uint64_t{0xffffffff}) | seq;
}

// PostgreSQL refused ev's row (a data error): its later transitions are not written.
inline bool row_rejected(const event& ev) { return (ev.log_slot >> 32) & 1; }
inline void set_row_rejected(const event& ev) { ev.log_slot |= std::uint64_t{1} << 32; }

}  // namespace pubsub
