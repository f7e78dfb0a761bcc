#include "router/delivery.h"

namespace pubsub {

delivery_group::delivery_group(event_ptr ev, int deliveries, int attempt, transition_log& log)
    : ev_(std::move(ev)), attempt_(attempt), log_(log), remaining_(deliveries) {}

void delivery_group::started() {
    // acq_rel: exactly one caller sees false; no data is published through this flag.
    if (started_.exchange(true, std::memory_order_acq_rel)) return;
    transition t;
    t.ev = ev_;
    t.status = event_status::processing;
    t.seq = seq_processing;
    t.at_us = now_us();
    t.retry_count = attempt_ - 1;
    log_.record(std::move(t));
}

void delivery_group::finished(bool ok, std::string_view error) {
    if (!ok) {
        std::lock_guard lock(error_mu_);
        if (!failed_) {
            failed_ = true;
            first_error_ = error;
        }
    }
    // acq_rel: the last decrement must see every other delivery's error (published under
    // error_mu_ before their own decrement).
    if (remaining_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    transition t;
    t.ev = ev_;
    t.seq = seq_final;
    t.at_us = now_us();
    t.retry_count = attempt_ - 1;
    std::lock_guard lock(error_mu_);
    t.status = failed_ ? event_status::failed : event_status::completed;
    t.error = first_error_;
    log_.record(std::move(t));
}

}  // namespace pubsub
