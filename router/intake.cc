#include "router/intake.h"

#include "router/delivery.h"

namespace pubsub {

void intake::submit(event_draft draft, ack_mode mode, ack_callback done) {
    if (closed_.load(std::memory_order_acquire)) {
        done(status::error("pubsubd is shutting down; event not accepted"));
        return;
    }
    if (status admitted = log_.admit(); !admitted.ok()) {
        done(admitted);
        return;
    }
    if (status admitted = router_.admit(draft.type); !admitted.ok()) {  // a full handler pool
        done(admitted);
        return;
    }
    auto id = ids_.next_id();
    if (!id.ok()) {
        done(id.error());
        return;
    }
    auto ev = std::make_shared<event>();
    ev->id = *id;
    ev->priority = draft.priority;
    ev->created_us = now_us();
    ev->type = std::move(draft.type);
    ev->source = std::move(draft.source);
    ev->data_json = std::move(draft.data_json);

    transition t;
    t.ev = ev;
    t.status = event_status::pending;
    t.seq = seq_pending;
    t.at_us = ev->created_us;
    event_id assigned = ev->id;
    if (mode == ack_mode::durable) {
        t.on_durable = [assigned, done = std::move(done)](const status& s) {
            if (s.ok()) {
                done(assigned);
            } else {
                done(s);
            }
        };
        log_.record(std::move(t));
        router_.enqueue(std::move(ev));
    } else {
        log_.record(std::move(t));
        router_.enqueue(std::move(ev));
        done(assigned);
    }
}

}  // namespace pubsub
