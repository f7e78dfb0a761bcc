// The write-behind's writes: one batch of event and delivery rows as one transaction, on the
// writer thread (write_behind_lane.h).
#include "storage/idempotency_keys.h"
#include "storage/write_behind_lane.h"

namespace pubsub {

using steady = std::chrono::steady_clock;

const std::string commit_suffix = "; COMMIT";
const std::string commit_sql = "COMMIT";

void write_behind::lane::mark_failed(event_id id, const std::string& msg) {
    if (!conn) return;
    auto r = conn->query("UPDATE " + quoted_schema +
                             ".tpubsub_events SET status = 'failed', completed_at = now(), "
                             "processed_at = coalesce(processed_at, now()), "
                             "error_message = $1 WHERE event_id = $2 "
                             "AND status NOT IN ('completed', 'failed', 'cancelled') "
                             "AND claimed_by = $3",
                         {msg, std::to_string(id), opts.node_id});
    if (!r.ok())
        log(log_level::error,
            "write-behind: cannot mark event " + std::to_string(id) + " failed: " + r.message());
}

status write_behind::lane::connect() {
    auto c = pg::connection::open(opts.dsn);
    if (!c.ok()) return c.error();
    if (status s = c->exec(stage_table_sql() + "; " + delivery_stage_table_sql()); !s.ok()) {
        return status::error("cannot create staging table: " + s.message());
    }
    quoted_schema = c->quote_identifier(opts.schema);
    merge = merge_sql(quoted_schema, c->quote_literal(opts.node_id));
    events_copy = events_copy_sql(quoted_schema);
    delivery_merge = delivery_merge_sql(quoted_schema, c->quote_literal(opts.node_id));
    key_claim = key_claim_sql(quoted_schema);
    conn.emplace(std::move(*c));
    return status();
}

status write_behind::lane::write(std::span<pending_row> rows,
                                 const std::vector<delivery_record>& deliveries) {
    if (!conn || !conn->is_ok()) {
        conn.reset();
        if (status s = connect(); !s.ok()) {
            last_kind = pg_error_kind::transient;
            return s;
        }
    }
    auto t0 = steady::now();
    status s = safe_mode ? write_merged(rows, deliveries) : write_direct(rows, deliveries);
    if (!s.ok()) {
        last_kind = classify_pg_error(conn->last_sqlstate(), conn->is_ok());
        last_answered = conn->is_ok() && !conn->last_sqlstate().empty();
        if (!conn->last_server_error().empty()) s = status::error(conn->last_server_error());
        // Roll back so the connection is usable again (harmless if it is gone). The next
        // attempt takes the idempotent path: this batch's commit outcome may be unknown.
        (void)conn->exec("ROLLBACK");
        if (!conn->is_ok()) conn.reset();
        safe_mode = true;
        return s;
    }
    safe_mode = false;
    double ms = std::chrono::duration<double, std::milli>(steady::now() - t0).count();
    std::lock_guard lock(stats_mu);
    st.last_batch_ms = ms;
    st.last_batch_rows = rows.size();
    return status();
}

status write_behind::lane::write_direct(std::span<pending_row> rows,
                                        const std::vector<delivery_record>& deliveries) {
    copy_buf.clear();
    stage_buf.clear();
    if (status s = conn->exec("BEGIN"); !s.ok()) return s;
    if (status s = claim_keys(*conn, key_claim, rows, opts.idempotency_window); !s.ok()) return s;
    std::size_t fresh = encode_split_rows(rows, opts.node_id, copy_buf, stage_buf);
    encode_chunks(rows);
    if (fresh > 0) {
        if (status s = conn->copy_in(events_copy, copy_buf); !s.ok()) return s;
    }
    if (status s = write_deliveries(deliveries); !s.ok()) return s;
    if (!stage_buf.empty()) {
        if (status s = conn->copy_in(stage_copy_sql(), stage_buf); !s.ok()) return s;
        return commit_with_chunks(merge + existing_rows_range(rows) + commit_suffix);
    }
    return commit_with_chunks(commit_sql);
}

status write_behind::lane::write_merged(std::span<pending_row> rows,
                                        const std::vector<delivery_record>& deliveries) {
    copy_buf.clear();
    if (status s = conn->exec("BEGIN"); !s.ok()) return s;
    if (status s = claim_keys(*conn, key_claim, rows, opts.idempotency_window); !s.ok()) return s;
    encode_stage_rows(rows, copy_buf);
    encode_chunks(rows);
    if (status s = conn->copy_in(stage_copy_sql(), copy_buf); !s.ok()) return s;
    // After the events' merge (new rows exist), before its COMMIT.
    if (status s = conn->exec(merge + existing_rows_range(rows)); !s.ok()) return s;
    if (status s = write_deliveries(deliveries); !s.ok()) return s;
    return commit_with_chunks(commit_sql);
}

status write_behind::lane::write_deliveries(const std::vector<delivery_record>& deliveries) {
    if (deliveries.empty()) return status();
    delivery_buf.clear();
    encode_delivery_rows(deliveries, delivery_buf);
    if (status s = conn->copy_in(delivery_stage_copy_sql(), delivery_buf); !s.ok()) return s;
    return conn->exec(delivery_merge);
}

void write_behind::lane::arm_key_sweep() {
    if (!sweeps_keys || opts.idempotency_window.count() <= 0 || stopping) return;
    key_sweep_timer.expires_after(opts.key_sweep_interval);
    key_sweep_timer.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopping) return;
        sweep_keys();
        arm_key_sweep();
    });
}

void write_behind::lane::sweep_keys() {
    // Between batches only (this thread), and never while a write waits to be retried.
    constexpr std::size_t per_statement = 5000;
    constexpr int max_statements = 20;  // per sweep: bounds the pause of the writer
    if (!conn || !conn->is_ok() || waiting_retry) return;
    for (int i = 0; i < max_statements; ++i) {
        auto n = delete_expired_keys(*conn, quoted_schema, opts.idempotency_window, per_statement);
        if (!n.ok()) {
            log(log_level::warn, "write-behind: removing expired idempotency keys: " + n.message());
            return;
        }
        if (*n < per_statement) return;
    }
}

}  // namespace pubsub
