#include "router/delivery.h"

#include <algorithm>

namespace pubsub {

std::string_view to_string(delivery_status s) {
    switch (s) {
        case delivery_status::pending:
            return "pending";
        case delivery_status::retrying:
            return "retrying";
        case delivery_status::completed:
            return "completed";
        case delivery_status::dead:
            return "dead";
        case delivery_status::cancelled:
            return "cancelled";
        case delivery_status::held:
            return "held";
    }
    return "pending";
}

std::optional<delivery_status> parse_delivery_status(std::string_view s) {
    for (auto st : {delivery_status::pending, delivery_status::retrying, delivery_status::completed,
                    delivery_status::dead, delivery_status::cancelled, delivery_status::held}) {
        if (to_string(st) == s) return st;
    }
    return std::nullopt;
}

delivery_group::delivery_group(event_ptr ev, int deliveries, int attempt, transition_log& log,
                               delivery_log* dlog)
    : ev_(std::move(ev)),
      attempt_(attempt),
      log_(log),
      dlog_(dlog),
      total_(deliveries),
      remaining_(deliveries),
      retry_count_(attempt - 1) {}

void delivery_group::started(delivery& d) {
    d.started_us = now_us();
    started();
}

void delivery_group::started() {
    std::lock_guard lock(mu_);
    if (started_ || cancelled_) return;
    started_ = true;
    seq_ = std::max(seq_, seq_processing);
    transition t;
    t.ev = ev_;
    t.status = event_status::processing;
    t.seq = seq_processing;
    t.at_us = now_us();
    t.retry_count = retry_count_;
    log_.record(std::move(t));
}

void delivery_group::completed(const delivery& d) {
    std::lock_guard lock(mu_);
    if (!cancelled_) {
        if (d.has_row || any_failure_) {
            record_row(d, delivery_status::completed, {}, 0);
        } else if (total_ > 1 && dlog_) {
            completed_quietly_.push_back(
                {nullptr, d.sub, d.attempt, d.retry_base, false, d.started_us, now_us()});
        }
    }
    end_one(true, {});
}

void delivery_group::retrying(const delivery& d, std::string_view error,
                              std::int64_t next_attempt_us) {
    std::lock_guard lock(mu_);
    if (cancelled_) return;  // the delivery lives on; the scheduler drops it when it fires
    first_failure();
    record_row(d, delivery_status::retrying, error, next_attempt_us);
    retry_count_ = std::max(retry_count_, d.attempt);  // the attempt to come, minus one
    latest_error_ = error;
    record_processing(error);
}

void delivery_group::dead(const delivery& d, std::string_view error) {
    std::lock_guard lock(mu_);
    if (!cancelled_) {
        first_failure();
        record_row(d, delivery_status::dead, error, 0);
        retry_count_ = std::max(retry_count_, d.attempt - 1);
    }
    end_one(false, error);
}

void delivery_group::held(const delivery& d, bool now_held) {
    std::lock_guard lock(mu_);
    if (cancelled_ || !dlog_) return;
    delivery_record r;
    r.event = ev_->id;
    r.subscriber_id = d.sub->id;
    r.subscriber_name = d.sub->name;
    r.status = now_held ? delivery_status::held : delivery_status::pending;
    r.attempts = attempt_of(d) - 1;  // this attempt has not started
    r.retry_base = d.retry_base;
    r.started_us = d.started_us;
    r.finished_us = d.finished_us;
    r.version = ++version_;
    dlog_->record_delivery(std::move(r));
}

void delivery_group::abandoned(bool ok, std::string_view error) {
    std::lock_guard lock(mu_);
    end_one(ok, error);
}

void delivery_group::finished(bool ok, std::string_view error) {
    std::lock_guard lock(mu_);
    end_one(ok, error);
}

void delivery_group::cancel() {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    cancelled_flag_.store(true, std::memory_order_release);
}

bool delivery_group::cancelled() const { return cancelled_flag_.load(std::memory_order_acquire); }

int attempt_of(const delivery& d) { return d.attempt > 0 ? d.attempt : d.group->attempt(); }

void delivery_group::note_version(std::uint32_t v) {
    std::lock_guard lock(mu_);
    version_ = std::max(version_, v);
}

void delivery_group::end_one(bool ok, std::string_view error) {
    if (!ok) {
        if (!dead_) first_dead_error_ = error;
        dead_ = true;
        latest_error_ = error;
    }
    if (--remaining_ > 0 || cancelled_) return;
    transition t;
    t.ev = ev_;
    t.seq = seq_ = std::max(seq_, seq_processing) + 1;
    t.at_us = now_us();
    t.retry_count = retry_count_;
    t.status = dead_ ? event_status::failed : event_status::completed;
    t.error = dead_ ? first_dead_error_ : latest_error_;
    log_.record(std::move(t));
}

void delivery_group::record_processing(std::string_view error) {
    transition t;
    t.ev = ev_;
    t.status = event_status::processing;
    t.seq = seq_ = std::max(seq_, seq_processing) + 1;
    t.at_us = now_us();
    t.retry_count = retry_count_;
    t.error = error;
    log_.record(std::move(t));
}

void delivery_group::first_failure() {
    if (any_failure_) return;
    any_failure_ = true;
    for (const auto& d : completed_quietly_) record_row(d, delivery_status::completed, {}, 0);
    completed_quietly_.clear();
}

void delivery_group::record_row(const delivery& d, delivery_status st, std::string_view error,
                                std::int64_t next_attempt_us) {
    if (!dlog_) return;
    delivery_record r;
    r.event = ev_->id;
    r.subscriber_id = d.sub->id;
    r.subscriber_name = d.sub->name;
    r.status = st;
    r.attempts = d.attempt > 0 ? d.attempt : attempt_;
    r.retry_base = d.retry_base;
    r.last_error = error;
    r.next_attempt_us = next_attempt_us;
    r.started_us = d.started_us;
    r.finished_us = d.finished_us != 0 ? d.finished_us : now_us();
    r.version = ++version_;
    dlog_->record_delivery(std::move(r));
}

}  // namespace pubsub
