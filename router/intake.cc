#include "router/intake.h"

#include "router/delivery.h"

namespace pubsub {

namespace {

transition pending_transition(const event_ptr& ev) {
    transition t;
    t.ev = ev;
    t.status = event_status::pending;
    t.seq = seq_pending;
    t.at_us = ev->created_us;
    return t;
}

}  // namespace

status intake::admit(const event_draft& draft) const {
    if (closed_.load(std::memory_order_acquire)) {
        return status::error("pubsubd is shutting down; event not accepted");
    }
    if (status admitted = log_.admit(); !admitted.ok()) return admitted;
    if (draft.run_at_us > now_us()) {  // it will be held
        if (status room = router_.admit_scheduled(); !room.ok()) return room;
    }
    return router_.admit(draft.type);  // a full handler pool
}

event_ptr intake::make_event(event_draft&& draft, event_id id) const {
    auto ev = std::make_shared<event>();
    ev->id = id;
    ev->priority = draft.priority;
    ev->created_us = now_us();
    ev->type = std::move(draft.type);
    ev->source = std::move(draft.source);
    ev->data_json = std::move(draft.data_json);
    ev->idempotency_key = std::move(draft.idempotency_key);
    ev->run_at_us = draft.run_at_us;
    return ev;
}

// Runs on the write-behind's thread once the row of ev is committed.
void intake::note_persisted(const event& ev) {
    if (ev.run_at_us != 0) router_.scheduled_persisted(ev);
}

namespace {

// The answer to an event without a key, in the shape each callback takes.
void answer(const ack_callback& done, event_id id) { done(id); }
void answer(const event_ack_callback& done, event_id id) { done(event_ack{id, false}); }

}  // namespace

// One wrapping of the caller's callback (the durable ack), none more: this is every unkeyed
// event's path, and each std::function wrapper is an allocation and an indirect call.
template <class Done>
void intake::submit_unkeyed(event_draft&& draft, ack_mode mode, Done&& done) {
    if (status admitted = admit(draft); !admitted.ok()) {
        done(admitted);
        return;
    }
    auto id = ids_.next_id();
    if (!id.ok()) {
        done(id.error());
        return;
    }
    event_ptr ev = make_event(std::move(draft), *id);
    transition t = pending_transition(ev);
    event_id assigned = ev->id;
    if (mode == ack_mode::durable) {
        event_ptr scheduled = ev->run_at_us != 0 ? ev : nullptr;
        t.on_durable = [this, assigned, scheduled, done = std::move(done)](const status& s) {
            if (s.ok()) {
                if (scheduled) note_persisted(*scheduled);
                answer(done, assigned);
            } else {
                done(s);
            }
        };
        log_.record(std::move(t));
        router_.enqueue(std::move(ev));
    } else {
        if (ev->run_at_us != 0) {
            t.on_durable = [this, ev](const status& s) {
                if (s.ok()) note_persisted(*ev);
            };
        }
        log_.record(std::move(t));
        router_.enqueue(std::move(ev));
        answer(done, assigned);
    }
}

void intake::submit(event_draft draft, ack_mode mode, ack_callback done) {
    if (!draft.idempotency_key.empty()) {
        submit_keyed(std::move(draft), [done = std::move(done)](const result<event_ack>& r) {
            if (r.ok()) {
                done(r->id);
            } else {
                done(r.error());
            }
        });
        return;
    }
    submit_unkeyed(std::move(draft), mode, std::move(done));
}

void intake::submit(event_draft draft, ack_mode mode, event_ack_callback done) {
    if (!draft.idempotency_key.empty()) {
        submit_keyed(std::move(draft), std::move(done));
        return;
    }
    submit_unkeyed(std::move(draft), mode, std::move(done));
}

// The key's outcome is known only once the write-behind committed the batch that holds it:
// until then the event is neither acknowledged nor routed, and repeats of the key wait here.
void intake::submit_keyed(event_draft draft, event_ack_callback done) {
    const std::string key = draft.idempotency_key;
    if (!keys_.join(key, std::move(done))) return;  // answered with the first's outcome
    auto fail_all = [this, &key](const status& s) {
        for (auto& w : keys_.finish(key)) w(s);
    };
    if (status admitted = admit(draft); !admitted.ok()) return fail_all(admitted);
    auto id = ids_.next_id();
    if (!id.ok()) return fail_all(id.error());
    event_ptr ev = make_event(std::move(draft), *id);
    transition t = pending_transition(ev);
    // Runs on the write-behind's thread after the commit (or the final failure).
    t.on_durable = [this, ev, key](const status& s) {
        auto waiters = keys_.finish(key);
        if (!s.ok()) {
            for (auto& w : waiters) w(s);
            return;
        }
        const bool duplicate = ev->duplicate_of != 0;
        const event_id first = duplicate ? ev->duplicate_of : ev->id;
        if (!duplicate) {
            router_.enqueue(ev, false);  // not on the writer's thread
            note_persisted(*ev);
        }
        for (std::size_t i = 0; i < waiters.size(); ++i) {
            waiters[i](event_ack{first, duplicate || i > 0});
        }
    };
    log_.record(std::move(t));
}

}  // namespace pubsub
