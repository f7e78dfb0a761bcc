#include "storage/event_search.h"

#include <algorithm>
#include <limits>

namespace pubsub {

namespace {

constexpr event_id no_id_above = std::numeric_limits<event_id>::max();
// Chunks per page: a search that finds its limit in the newest chunks reads one small page;
// later pages are sized from the hits so far.
constexpr int first_page = 64, last_page = 4096;
// Ranges per read of events: the first read stops early for a common value, later ones take
// many ranges of a rare value per round trip.
constexpr std::size_t first_read_ranges = 8, read_growth = 4;

using params_t = std::vector<std::optional<std::string>>;

std::string param(params_t& p, std::string value, const char* type) {
    p.emplace_back(std::move(value));
    return "$" + std::to_string(p.size()) + "::" + type;
}

// Keeps the newest `limit` of found and more (both newest first), each id once.
void merge_found(std::vector<event_id>& found, const std::vector<event_id>& more,
                 std::int64_t limit) {
    std::vector<event_id> out;
    out.reserve(found.size() + more.size());
    std::merge(found.begin(), found.end(), more.begin(), more.end(), std::back_inserter(out),
               std::greater<>());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    if (std::int64_t(out.size()) > limit) out.resize(std::size_t(limit));
    found = std::move(out);
}

class chunk_search {
  public:
    chunk_search(pg::connection& c, const std::string& schema, const chunk_probe& probe,
                 const std::string& condition, params_t params, std::int64_t limit)
        : c_(c),
          s_(c.quote_identifier(schema)),
          probe_(probe),
          params_(std::move(params)),
          limit_(limit) {
        // The condition's parameters come first; the ranges and the limit after them.
        params_t p = params_;
        const std::string lo = param(p, "", "bigint[]"), hi = param(p, "", "bigint[]");
        const std::string n = param(p, std::to_string(limit), "int");
        // Failed events only: the status spelled out, so that each range is read through the
        // failed events' partial index on event_id, newest first, stopping at the limit.
        const std::string failed = probe.failed_only ? "status = 'failed' AND " : "";
        read_sql_ = "SELECT x.event_id FROM unnest(" + lo + ", " + hi +
                    ") r(lo, hi) CROSS JOIN LATERAL (SELECT event_id FROM " + s_ +
                    ".tpubsub_events WHERE " + failed +
                    "event_id >= r.lo AND event_id <= r.hi AND (" + condition +
                    ") ORDER BY event_id DESC LIMIT " + n + ") x ORDER BY 1 DESC LIMIT " + n;
    }

    result<std::vector<event_id>> run() {
        if (limit_ <= 0) return found_;
        const event_id top = probe_.before ? *probe_.before - 1 : no_id_above;
        auto t = c_.query("SELECT max(last_id) FROM " + s_ + ".tpubsub_event_chunks");
        if (!t.ok()) return t.error();
        // The tail: above every chunk, read directly.
        const event_id tail_from =
            t->is_null(0, 0) ? std::numeric_limits<event_id>::min() : t->get_int(0, 0) + 1;
        if (tail_from <= top) {
            if (status st = read({{tail_from, top}}); !st.ok()) return st;
            done_.push_back({tail_from, no_id_above});
        }
        if (t->is_null(0, 0)) return found_;
        std::optional<std::pair<event_id, event_id>> cursor;  // (last_id, first_id) read last
        std::int64_t chunks_read = 0;
        for (int size = first_page;;) {
            auto chunks = next_chunks(cursor, size);
            if (!chunks.ok()) return chunks.error();
            const int rows = int(chunks->size());
            std::vector<id_range> ranges;
            ranges.reserve(std::size_t(rows));
            for (const auto& k : *chunks) ranges.push_back({k.first, std::min(top, k.last)});
            status st = read_ranges(merge_ranges_desc(std::move(ranges)));
            if (!st.ok()) return st;
            if (!more_) break;
            chunks_read += rows;
            size = next_page_size(size, chunks_read);
            if (chunks->empty()) continue;  // a window's page whose filters held no value
            cursor.emplace(chunks->back().last, chunks->back().first);
            // Every unread chunk ends at or below the cursor's last_id, whose own id is read.
            if (full() && found_.back() >= cursor->first) break;
        }
        return found_;
    }

  private:
    bool full() const { return std::int64_t(found_.size()) >= limit_; }

    struct chunk_row {
        event_id first = 0, last = 0;
    };

    // The chunk filter's test of the probe's bits, or "" without bits.
    std::string bloom_test() const {
        if (probe_.bloom_bits.empty()) return "";
        // A sum, not `get_bit(...) = 1 AND ...`: the planner takes each equality for 1 row in
        // 200 and their conjunction for none, and then scans the whole table and sorts rather
        // than walk last_id backwards to the first matches.
        std::string sql = " AND (values_bloom IS NULL OR ";
        for (std::size_t i = 0; i < probe_.bloom_bits.size(); ++i) {
            sql += std::string(i ? " + " : "") + "get_bit(values_bloom, " +
                   std::to_string(probe_.bloom_bits[i]) + ")";
        }
        return sql + " >= " + std::to_string(probe_.bloom_bits.size()) + ")";
    }

    // The next chunks of a window (read once, without filters) whose filters can hold a match:
    // about `size` of them, judging by the share that passed so far. Only the rows in these
    // chunks' span of last_id are read, for their filters: one walk of the last_id index
    // rather than a descent per chunk (a chunk in the span but not in the window, which
    // overlapping ranges can put there, is read and dropped).
    result<std::vector<chunk_row>> next_in_window(int size) {
        std::vector<chunk_row> cand;
        const double share = seen_ == 0 ? 1.0 : double(std::max<std::int64_t>(kept_, 1)) / seen_;
        const auto want = std::size_t(std::min(double(size) / share, 65536.0));
        for (; next_in_window_ < window_->size() && cand.size() < want; ++next_in_window_) {
            const auto& k = (*window_)[next_in_window_];
            if (full() && k.last <= found_.back()) {
                next_in_window_ = window_->size();
                break;
            }
            cand.push_back(k);
        }
        more_ = next_in_window_ < window_->size();
        if (probe_.bloom_bits.empty() || cand.empty()) return cand;
        // Candidates are in last_id order, highest first.
        auto r = c_.query("SELECT first_id, last_id FROM " + s_ +
                              ".tpubsub_event_chunks WHERE last_id >= $1::bigint AND last_id "
                              "<= $2::bigint" +
                              bloom_test(),
                          {std::to_string(cand.back().last), std::to_string(cand.front().last)});
        if (!r.ok()) return r.error();
        std::vector<std::pair<event_id, event_id>> pass;
        for (int i = 0; i < r->rows(); ++i) pass.emplace_back(r->get_int(i, 0), r->get_int(i, 1));
        std::sort(pass.begin(), pass.end());
        std::vector<chunk_row> out;
        for (const auto& k : cand) {
            if (std::binary_search(pass.begin(), pass.end(), std::pair(k.first, k.last))) {
                out.push_back(k);
            }
        }
        seen_ += std::int64_t(cand.size());
        kept_ += std::int64_t(out.size());
        return out;
    }

    // The next `size` chunks that can hold a match, after `cur` in (last_id, first_id)
    // descending order; sets more_ to whether any may follow. A window bounded on both sides
    // is read whole by the first call, without the filters (an index-only scan of the
    // narrower of the two time indexes: the chunks after the window's start or those before
    // its end) and handed out in pages (next_in_window); otherwise each page is a query
    // walking last_id down from the cursor, which stops at its page's last match.
    result<std::vector<chunk_row>> next_chunks(
        const std::optional<std::pair<event_id, event_id>>& cur, int size) {
        const bool whole = probe_.since && probe_.until;
        if (whole && window_) return next_in_window(size);
        params_t p;
        std::string sql =
            "SELECT first_id, last_id FROM " + s_ + ".tpubsub_event_chunks WHERE true";
        if (probe_.since) sql += " AND max_created >= " + param(p, *probe_.since, "timestamptz");
        if (probe_.until) sql += " AND min_created < " + param(p, *probe_.until, "timestamptz");
        if (probe_.before) {
            sql += " AND first_id < " + param(p, std::to_string(*probe_.before), "bigint");
        }
        if (full()) sql += " AND last_id > " + param(p, std::to_string(found_.back()), "bigint");
        if (cur) {
            // last_id alone is what the index can start from; the pair orders equal last_ids.
            const std::string last = param(p, std::to_string(cur->first), "bigint");
            sql += " AND last_id <= " + last + " AND (last_id, first_id) < (" + last + ", " +
                   param(p, std::to_string(cur->second), "bigint") + ")";
        }
        if (!whole) sql += bloom_test();
        sql += " ORDER BY last_id DESC, first_id DESC";
        if (!whole) sql += " LIMIT " + std::to_string(size);
        auto r = c_.query(sql, p);
        if (!r.ok()) return r.error();
        std::vector<chunk_row> rows;
        rows.reserve(std::size_t(r->rows()));
        for (int i = 0; i < r->rows(); ++i) rows.push_back({r->get_int(i, 0), r->get_int(i, 1)});
        if (!whole) {
            more_ = int(rows.size()) == size;
            return rows;
        }
        window_ = std::move(rows);
        return next_chunks(cur, size);
    }

    // Reads a page's ranges (disjoint, highest first) that are not read yet, in groups, each
    // clipped to the ids above the limit-th found so far.
    status read_ranges(std::vector<id_range> ranges) {
        ranges = subtract_ranges(ranges, done_);
        std::size_t next = 0;
        while (next < ranges.size()) {
            std::vector<id_range> group;
            while (next < ranges.size() && group.size() < group_size_) {
                id_range r = ranges[next++];
                if (full()) r.lo = std::max(r.lo, found_.back() + 1);
                if (r.lo <= r.hi) group.push_back(r);
            }
            if (group.empty()) {
                if (full()) break;  // the rest is lower still
                continue;
            }
            ranges_read_ += group.size();
            if (status st = read(group); !st.ok()) return st;
            next_group_size();
            done_.insert(done_.end(), group.begin(), group.end());
        }
        done_ = merge_ranges_desc(std::move(done_));
        return {};
    }

    // As many chunks as the hits so far say the limit needs, half as many again (at least the
    // first page's size, at most last_page); growing fourfold while nothing is found.
    int next_page_size(int size, std::int64_t chunks_read) const {
        if (found_.empty()) return std::min(size * 4, last_page);
        const double per_chunk = double(found_.size()) / double(chunks_read);
        const double wanted = double(limit_ - std::int64_t(found_.size())) / per_chunk * 1.5;
        return int(std::clamp(wanted, double(first_page), double(last_page)));
    }

    // As many ranges as the hits so far say the limit needs, half as many again; growing
    // fourfold while nothing is found.
    void next_group_size() {
        if (found_.empty()) {
            group_size_ *= read_growth;
        } else {
            const double per_range = double(found_.size()) / double(ranges_read_);
            const double wanted = double(limit_ - std::int64_t(found_.size())) / per_range * 1.5;
            group_size_ = std::size_t(std::clamp(wanted, double(first_read_ranges), 4096.0));
        }
    }

    status read(const std::vector<id_range>& ranges) {
        std::vector<std::int64_t> lo, hi;
        for (const auto& r : ranges) {
            lo.push_back(r.lo);
            hi.push_back(r.hi);
        }
        params_t p = params_;
        p.emplace_back(pg::bigint_array(lo));
        p.emplace_back(pg::bigint_array(hi));
        p.emplace_back(std::to_string(limit_));
        auto r = c_.query(read_sql_, p);
        if (!r.ok()) return r.error();
        std::vector<event_id> ids;
        ids.reserve(std::size_t(r->rows()));
        for (int i = 0; i < r->rows(); ++i) ids.push_back(r->get_int(i, 0));
        merge_found(found_, ids, limit_);
        return {};
    }

    pg::connection& c_;
    std::string s_;
    const chunk_probe& probe_;
    params_t params_;
    std::int64_t limit_;
    std::string read_sql_;
    std::vector<event_id> found_;  // newest first
    std::vector<id_range> done_;   // read already (or above the search), highest first
    std::size_t group_size_ = first_read_ranges;
    std::size_t ranges_read_ = 0;
    std::optional<std::vector<chunk_row>> window_;  // a bounded window's chunks, read once
    std::size_t next_in_window_ = 0;
    std::int64_t seen_ = 0, kept_ = 0;  // window chunks tested against the filters, and passed
    bool more_ = true;                  // chunks may follow the last page
};

}  // namespace

std::vector<id_range> merge_ranges_desc(std::vector<id_range> ranges) {
    std::sort(ranges.begin(), ranges.end(),
              [](const id_range& a, const id_range& b) { return a.lo < b.lo; });
    std::vector<id_range> out;
    for (const auto& r : ranges) {
        if (r.lo > r.hi) continue;
        if (!out.empty() && (r.lo <= out.back().hi || r.lo - 1 == out.back().hi)) {
            out.back().hi = std::max(out.back().hi, r.hi);
        } else {
            out.push_back(r);
        }
    }
    std::reverse(out.begin(), out.end());
    return out;
}

std::vector<id_range> subtract_ranges(const std::vector<id_range>& ranges,
                                      const std::vector<id_range>& done) {
    std::vector<id_range> out;
    std::size_t j = 0;
    for (const auto& r : ranges) {
        while (j < done.size() && done[j].lo > r.hi) ++j;  // wholly above r (and the next ones)
        event_id hi = r.hi;
        for (std::size_t k = j; k < done.size() && done[k].hi >= r.lo && hi >= r.lo; ++k) {
            if (done[k].hi < hi) out.push_back({done[k].hi + 1, hi});
            if (done[k].lo <= r.lo) {
                hi = r.lo - 1;  // the rest of r is done
            } else {
                hi = std::min(hi, done[k].lo - 1);
            }
        }
        if (hi >= r.lo) out.push_back({r.lo, hi});
    }
    return out;
}

result<std::vector<event_id>> search_by_chunks(pg::connection& c, const std::string& schema,
                                               const chunk_probe& probe,
                                               const std::string& condition,
                                               std::vector<std::optional<std::string>> params,
                                               std::int64_t limit) {
    return chunk_search(c, schema, probe, condition, std::move(params), limit).run();
}

}  // namespace pubsub
