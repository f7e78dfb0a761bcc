// event_view: what the filter layer sees of a router event (the filter layer knows no events).
// Reentrant.
#pragma once

#include "filter/filter.h"
#include "router/event.h"

namespace pubsub {

// A view of an event; data_padded is set when the string's capacity proves the padding.
// The view borrows the event's strings: keep the event alive while using it.
event_view make_event_view(const event& e);

}  // namespace pubsub
