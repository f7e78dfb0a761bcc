#include "storage/event_chunks.h"

#include <algorithm>
#include <array>
#include <bit>
#include <unordered_set>

namespace pubsub {

namespace {

// FNV-1a, streamed so that the state after each byte is that prefix's hash, then a 64-bit
// finaliser (FNV's low bits alone mix poorly for short strings). Fixed here for good: stored
// filters depend on it.
constexpr std::uint64_t fnv_offset = 14695981039346656037ull;
constexpr std::uint64_t fnv_prime = 1099511628211ull;

std::uint64_t feed(std::uint64_t h, unsigned char c) { return (h ^ c) * fnv_prime; }

std::uint64_t finish(std::uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

std::uint64_t start(chunk_field f, char kind) {
    return feed(feed(fnv_offset, f == chunk_field::type ? 't' : 's'),
                static_cast<unsigned char>(kind));
}

// Double hashing: positions h1 + i * h2 (h2 odd, so they differ modulo a power of two).
template <class F>
void for_each_bit(std::uint64_t h, F&& f) {
    const std::uint32_t h1 = static_cast<std::uint32_t>(h),
                        h2 = static_cast<std::uint32_t>(h >> 32) | 1u;
    for (int i = 0; i < chunk_bloom_hashes; ++i) {
        f(static_cast<int>((h1 + std::uint32_t(i) * h2) % std::uint32_t(chunk_bloom_bits)));
    }
}

std::vector<int> bits_of(std::uint64_t h) {
    std::vector<int> out;
    for_each_bit(h, [&](int b) { out.push_back(b); });
    return out;
}

std::uint64_t exact_hash(chunk_field f, std::string_view v) {
    std::uint64_t h = start(f, '=');
    for (unsigned char c : v) h = feed(h, c);
    return finish(h);
}

// Calls f with the hash of every prefix of v, lengths 1..chunk_prefix_max.
template <class F>
void for_each_prefix_hash(chunk_field field, std::string_view v, F&& f) {
    std::uint64_t h = start(field, '^');
    const std::size_t n = std::min(v.size(), chunk_prefix_max);
    for (std::size_t i = 0; i < n; ++i) {
        h = feed(h, static_cast<unsigned char>(v[i]));
        f(finish(h));
    }
}

class chunk_builder {
  public:
    void add(const chunk_input& r) {
        if (c_.n_events == 0) {
            c_.first_id = r.id;
            c_.min_created_us = c_.max_created_us = r.created_us;
        }
        c_.last_id = r.id;
        c_.min_created_us = std::min(c_.min_created_us, r.created_us);
        c_.max_created_us = std::max(c_.max_created_us, r.created_us);
        ++c_.n_events;
        if (types_.insert(r.type).second) add_value(chunk_field::type, r.type);
        if (sources_.insert(r.source).second) add_value(chunk_field::source, r.source);
    }
    bool empty() const { return c_.n_events == 0; }
    int size() const { return c_.n_events; }
    event_id last_id() const { return c_.last_id; }
    // Whether adding a row created at `us` would stretch the chunk past chunk_max_span_us.
    bool too_wide_for(std::int64_t us) const {
        return std::max(c_.max_created_us, us) - std::min(c_.min_created_us, us) >
               chunk_max_span_us;
    }

    event_chunk take() {
        event_chunk out = std::move(c_);
        std::size_t set = 0;
        for (std::uint64_t w : bits_) set += static_cast<std::size_t>(std::popcount(w));
        // Past 60% of bits set, a probe of 4 bits says "maybe" more than 13% of the time.
        if (set * 10 <= std::size_t(chunk_bloom_bits) * 6) {
            out.bloom.resize(chunk_bloom_bits / 8);
            for (int i = 0; i < chunk_bloom_bits / 8; ++i) {
                out.bloom[std::size_t(i)] =
                    static_cast<char>(bits_[std::size_t(i / 8)] >> (8 * (i % 8)));
            }
        }
        c_ = {};
        bits_.fill(0);
        types_.clear();
        sources_.clear();
        return out;
    }

  private:
    void set_bits(std::uint64_t h) {
        for_each_bit(h, [&](int b) { bits_[std::size_t(b / 64)] |= std::uint64_t(1) << (b % 64); });
    }
    void add_value(chunk_field f, std::string_view v) {
        set_bits(exact_hash(f, v));
        for_each_prefix_hash(f, v, [&](std::uint64_t h) { set_bits(h); });
    }

    event_chunk c_;
    // Bit b is bit b % 64 of word b / 64; taken out as bytes, that is bit b % 8 of byte b / 8.
    std::array<std::uint64_t, chunk_bloom_bits / 64> bits_{};
    std::unordered_set<std::string_view> types_, sources_;
};

}  // namespace

std::vector<event_chunk> build_chunks(std::vector<chunk_input> rows) {
    std::sort(rows.begin(), rows.end(),
              [](const chunk_input& a, const chunk_input& b) { return a.id < b.id; });
    std::vector<event_chunk> out;
    chunk_builder b;
    event_id prev = 0;
    for (const auto& r : rows) {
        if (!b.empty() && r.id == prev) continue;
        if (!b.empty() && (b.size() == chunk_max_events || r.id - prev > chunk_max_id_gap ||
                           b.too_wide_for(r.created_us))) {
            out.push_back(b.take());
        }
        b.add(r);
        prev = r.id;
    }
    if (!b.empty()) out.push_back(b.take());
    return out;
}

void encode_chunk_rows(const std::vector<event_chunk>& chunks, std::string& out) {
    static constexpr char hex[] = "0123456789abcdef";
    for (const auto& c : chunks) {
        out += std::to_string(c.first_id);
        out += '\t';
        out += std::to_string(c.last_id);
        out += '\t';
        pg::append_timestamp(out, c.min_created_us);
        out += '\t';
        pg::append_timestamp(out, c.max_created_us);
        out += '\t';
        out += std::to_string(c.n_events);
        out += '\t';
        if (c.bloom.empty()) {
            out += "\\N";
        } else {
            out += "\\\\x";  // COPY text: `\\` is one backslash, so the field reads \x...
            for (char ch : c.bloom) {
                const auto u = static_cast<unsigned char>(ch);
                out += hex[u >> 4];
                out += hex[u & 15];
            }
        }
        out += '\n';
    }
}

std::string chunks_copy_sql(const std::string& quoted_schema) {
    return "COPY " + quoted_schema +
           ".tpubsub_event_chunks (first_id, last_id, min_created, max_created, n_events, "
           "values_bloom) FROM STDIN";
}

std::vector<int> bloom_bits_exact(chunk_field field, std::string_view value) {
    return bits_of(exact_hash(field, value));
}

std::vector<int> bloom_bits_prefix(chunk_field field, std::string_view prefix) {
    if (prefix.empty()) return {};
    std::uint64_t last = 0;
    for_each_prefix_hash(field, prefix, [&](std::uint64_t h) { last = h; });
    return bits_of(last);
}

std::vector<int> bloom_bits_for_like(chunk_field field, std::string_view like) {
    std::string literal;
    for (std::size_t i = 0; i < like.size(); ++i) {
        char c = like[i];
        if (c == '%' || c == '_') return bloom_bits_prefix(field, literal);
        if (c == '\\' && i + 1 < like.size()) c = like[++i];
        literal += c;
    }
    return bloom_bits_exact(field, literal);
}

status summarize_events(pg::connection& c, const std::string& schema, event_id from, event_id to) {
    const std::string s = c.quote_identifier(schema);
    const std::string copy = chunks_copy_sql(s);
    std::string buf;
    for (event_id next = from; next <= to;) {
        auto r = c.query(
            "SELECT event_id, event_type, event_source, (extract(epoch FROM "
            "created_at) * 1000000)::bigint FROM " +
                s +
                ".tpubsub_events WHERE event_id >= $1::bigint AND event_id <= "
                "$2::bigint ORDER BY event_id LIMIT 65536",
            {std::to_string(next), std::to_string(to)});
        if (!r.ok()) return r.error();
        if (r->rows() == 0) break;
        std::vector<chunk_input> rows;
        rows.reserve(std::size_t(r->rows()));
        for (int i = 0; i < r->rows(); ++i) {
            rows.push_back({r->get_int(i, 0), r->get(i, 1), r->get(i, 2), r->get_int(i, 3)});
        }
        next = rows.back().id + 1;
        buf.clear();
        encode_chunk_rows(build_chunks(std::move(rows)), buf);
        if (status st = c.copy_in(copy, buf); !st.ok()) return st;
    }
    return {};
}

result<event_id> summarize_gaps(pg::connection& c, const std::string& schema, event_id after) {
    const std::string chunks = c.quote_identifier(schema) + ".tpubsub_event_chunks";
    auto top = c.query("SELECT coalesce(max(last_id), 0) FROM " + chunks);
    if (!top.ok()) return top.error();
    const event_id highest = top->get_int(0, 0);
    constexpr event_id page = 65536;
    for (event_id lo = after + 1; lo <= highest; lo += page) {
        const event_id hi = std::min(highest, lo + page - 1);
        auto r = c.query("SELECT first_id, last_id FROM " + chunks +
                             " WHERE last_id >= $1::bigint AND first_id <= $2::bigint ORDER BY "
                             "first_id",
                         {std::to_string(lo), std::to_string(hi)});
        if (!r.ok()) return r.error();
        event_id next = lo;  // the lowest id of the page not known to be covered
        auto fill = [&](event_id upto) -> status {
            if (upto < next) return {};
            return summarize_events(c, schema, next, upto);
        };
        for (int i = 0; i < r->rows() && next <= hi; ++i) {
            const event_id first = r->get_int(i, 0), last = r->get_int(i, 1);
            if (first > next) {
                if (status s = fill(std::min(hi, first - 1)); !s.ok()) return s;
            }
            next = std::max(next, last + 1);
        }
        if (next <= hi) {
            if (status s = fill(hi); !s.ok()) return s;
        }
    }
    return std::max(after, highest);
}

}  // namespace pubsub
