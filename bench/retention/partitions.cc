#include "bench/retention/partitions.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <utility>
#include <vector>

#include "bench/retention/fill.h"

namespace pubsub::bench {

namespace {

struct id_run {
    std::int64_t first = 0, count = 0;
};

// The daemon's id_allocator on several nodes: each node uses its current block and keeps one
// spare, both taken from one shared counter (the sequence), so a node that uses few ids keeps
// a low range open long after the others have moved past it.
class allocator_sim {
  public:
    allocator_sim(int nodes, std::int64_t block) : block_(block), open_(nodes) {
        for (auto& n : open_) top_up(n);
    }

    // Node i uses `count` ids; appends them to runs (adjacent runs merged).
    void take(int i, std::int64_t count, std::vector<id_run>& runs) {
        auto& n = open_[i];
        while (count > 0) {
            auto& b = n.front();
            const std::int64_t k = std::min(count, b.second - b.first + 1);
            if (!runs.empty() && runs.back().first + runs.back().count == b.first)
                runs.back().count += k;
            else
                runs.push_back({b.first, k});
            b.first += k;
            count -= k;
            if (b.first > b.second) n.pop_front();
            top_up(n);
        }
    }

    // Whether ids [lo, hi) are all used: handed out, and in no node's unused block remainder.
    // Such a partition gets no new row.
    bool used_up(std::int64_t lo, std::int64_t hi) const {
        if (hi > next_) return false;
        for (const auto& n : open_)
            for (const auto& b : n)
                if (b.first < hi && b.second >= lo) return false;
        return true;
    }

  private:
    void top_up(std::deque<std::pair<std::int64_t, std::int64_t>>& n) {
        while (n.size() < 2) {
            n.emplace_back(next_, next_ + block_ - 1);
            next_ += block_;
        }
    }

    std::int64_t block_, next_ = 1;
    std::vector<std::deque<std::pair<std::int64_t, std::int64_t>>> open_;
};

double mib(std::int64_t bytes) { return double(bytes) / (1024.0 * 1024.0); }

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

status report(const status& s, const char* what) {
    if (!s.ok()) std::fprintf(stderr, "%s: %s\n", what, s.message().c_str());
    return s;
}

// Replaces a migrated table by a partitioned copy: same columns, defaults, checks and indexes
// (LIKE ... INCLUDING ALL), empty.
status partition_table(pg::connection& c, const std::string& s, const std::string& table) {
    return c.exec("ALTER TABLE " + s + "." + table + " RENAME TO " + table +
                  "_plain; CREATE TABLE " + s + "." + table + " (LIKE " + s + "." + table +
                  "_plain INCLUDING ALL) PARTITION BY RANGE (event_id); DROP TABLE " + s + "." +
                  table + "_plain CASCADE");
}

status convert(pg::connection& c, const std::string& s) {
    const std::string seq = s + ".tpubsub_events_event_id_seq";
    if (auto r = c.exec("ALTER SEQUENCE " + seq + " OWNED BY NONE"); !r.ok()) return r;
    for (const char* t : {"tpubsub_events", "tpubsub_deliveries"})
        if (auto r = partition_table(c, s, t); !r.ok()) return r;
    return c.exec("ALTER SEQUENCE " + seq + " OWNED BY " + s + ".tpubsub_events.event_id");
}

std::string part_name(const char* table, std::int64_t p) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s_p%04lld", table, static_cast<long long>(p));
    return buf;
}

result<std::int64_t> tree_bytes(pg::connection& c, const std::string& s, const char* table) {
    auto r =
        c.query("SELECT coalesce(sum(pg_total_relation_size(relid)), 0) FROM pg_partition_tree($1)",
                {s + "." + table});
    if (!r.ok()) return r.error();
    return r->get_int(0, 0);
}

result<std::int64_t> both_trees(pg::connection& c, const std::string& s) {
    auto e = tree_bytes(c, s, "tpubsub_events");
    if (!e.ok()) return e;
    auto d = tree_bytes(c, s, "tpubsub_deliveries");
    if (!d.ok()) return d;
    return *e + *d;
}

struct removal {
    std::int64_t rows = 0, dropped = 0;
    double check_s = 0, drop_s = 0;
};

// Drops every partition that gets no new id and holds no row within its retention. The check
// reads the whole partition (no index tells "every row expired"); the drop detaches
// concurrently (SHARE UPDATE EXCLUSIVE on the parent: ingest goes on) before dropping.
status remove_expired(pg::connection& c, const std::string& s, const partitions_options& o,
                      const allocator_sim& ids, std::vector<std::int64_t>& alive, removal& out) {
    const std::string failed_s = o.keep_failed ? "2592000" : "604800";
    std::vector<std::int64_t> kept;
    for (std::int64_t p : alive) {
        if (!ids.used_up(1 + p * o.partition_ids, 1 + (p + 1) * o.partition_ids)) {
            kept.push_back(p);
            continue;
        }
        auto t0 = std::chrono::steady_clock::now();
        auto r = c.query(
            "SELECT count(*), count(*) FILTER (WHERE status IN ('pending', "
            "'processing') OR completed_at IS NULL OR completed_at > now() - "
            "make_interval(secs => CASE status WHEN 'failed' THEN $1::float8 ELSE "
            "604800 END)) FROM " +
                s + "." + part_name("tpubsub_events", p),
            {failed_s});
        if (!r.ok()) return r.error();
        out.check_s += seconds_since(t0);
        if (r->get_int(0, 1) != 0) {
            kept.push_back(p);
            continue;
        }
        t0 = std::chrono::steady_clock::now();
        for (const char* t : {"tpubsub_events", "tpubsub_deliveries"}) {
            const std::string part = s + "." + part_name(t, p);
            if (auto d = c.exec("ALTER TABLE " + s + "." + t + " DETACH PARTITION " + part +
                                " CONCURRENTLY");
                !d.ok())
                return d;
            if (auto d = c.exec("DROP TABLE " + part); !d.ok()) return d;
        }
        out.drop_s += seconds_since(t0);
        out.rows += r->get_int(0, 0);
        ++out.dropped;
    }
    alive = std::move(kept);
    return {};
}

}  // namespace

int run_partitions(pg::connection& c, const std::string& schema, const partitions_options& o) {
    const std::string s = c.quote_identifier(schema);
    if (!report(convert(c, s), "partition").ok()) return 1;
    fill_mix mix;
    mix.end_age_s = 8 * 86400.0;  // past completed=7d and cancelled=7d, not failed=30d
    mix.span_s = 3600;
    mix.chunks = false;  // partitions are dropped whole, chunk rows would only be left behind
    allocator_sim ids(o.nodes, o.block_ids);
    std::vector<std::int64_t> alive;
    std::int64_t next_part = 0;
    std::printf("%5s %9s %9s %5s %5s %8s %8s %7s %11s %11s %11s %8s\n", "cycle", "inserted",
                "removed", "drop", "alive", "fill_s", "check_s", "drop_s", "events_MiB",
                "total_MiB", "after_MiB", "vs_1st");
    double first_peak = 0;
    for (int i = 1; i <= o.cycles; ++i) {
        // The cycle's ids in the order the nodes use them, in slices of 10,000 events.
        std::vector<id_run> runs;
        for (std::int64_t done = 0; done < o.events;) {
            const std::int64_t slice = std::min<std::int64_t>(10'000, o.events - done);
            const std::int64_t b = o.nodes > 1 ? slice * o.node_b_permille / 1000 : 0;
            ids.take(0, slice - b, runs);
            if (b > 0) ids.take(1, b, runs);
            done += slice;
        }
        std::int64_t top = 0;
        for (const auto& r : runs) top = std::max(top, r.first + r.count);
        for (; 1 + next_part * o.partition_ids < top; ++next_part) {
            const std::string lo = std::to_string(1 + next_part * o.partition_ids);
            const std::string hi = std::to_string(1 + (next_part + 1) * o.partition_ids);
            for (const char* t : {"tpubsub_events", "tpubsub_deliveries"})
                if (!report(c.exec("CREATE TABLE " + s + "." + part_name(t, next_part) +
                                   " PARTITION OF " + s + "." + t + " FOR VALUES FROM (" + lo +
                                   ") TO (" + hi + ")"),
                            "create partition")
                         .ok())
                    return 1;
            alive.push_back(next_part);
        }
        auto t0 = std::chrono::steady_clock::now();
        for (const auto& r : runs) {
            // fill_events takes its ids from the sequence: start it at the run's first id.
            if (auto q = c.query("SELECT setval($1::regclass, $2::bigint, false)",
                                 {s + ".tpubsub_events_event_id_seq", std::to_string(r.first)});
                !q.ok() || !report(fill_events(c, schema, r.count, mix), "fill").ok())
                return 1;
        }
        const double fill_s = seconds_since(t0);
        auto events_peak = tree_bytes(c, s, "tpubsub_events");
        auto peak = both_trees(c, s);
        if (!events_peak.ok() || !peak.ok()) return 1;
        removal rm;
        if (!report(remove_expired(c, s, o, ids, alive, rm), "remove").ok()) return 1;
        auto after = both_trees(c, s);
        if (!after.ok()) return 1;
        if (i == 1) first_peak = mib(*peak);
        std::printf("%5d %9lld %9lld %5lld %5zu %8.1f %8.2f %7.2f %11.1f %11.1f %11.1f %7.2fx\n", i,
                    static_cast<long long>(o.events), static_cast<long long>(rm.rows),
                    static_cast<long long>(rm.dropped), alive.size(), fill_s, rm.check_s, rm.drop_s,
                    mib(*events_peak), mib(*peak), mib(*after), mib(*peak) / first_peak);
        std::fflush(stdout);
    }
    return report(c.exec("DROP SCHEMA " + s + " CASCADE"), "drop schema").ok() ? 0 : 1;
}

}  // namespace pubsub::bench
