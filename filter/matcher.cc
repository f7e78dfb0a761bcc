// compiled_matcher: grouping by event_type and the per-event probe of the indexes.
#include "filter/matcher.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "filter/index.h"

namespace pubsub {

using namespace filter_detail;

namespace {
struct bucket_span {
    std::uint32_t first, last;  // arena records
    std::uint64_t hash;
};
}  // namespace

struct match_scratch::impl {
    extract_state fields;
    std::vector<std::uint32_t> seen;        // per program-local subscriber: epoch of its last check
    std::vector<candidate_ref> candidates;  // proposed by the indexes
    probe_list probes;                      // hash look-ups of this event, in stages
    std::vector<bucket_span> buckets;       // the records of the buckets they lead to
    std::uint32_t epoch = 0;
};

match_scratch::match_scratch() : impl_(std::make_unique<impl>()) {}
match_scratch::~match_scratch() = default;

namespace {
constexpr std::size_t few_candidates = 16;

struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return hash_bytes(s); }
};
}  // namespace

struct compiled_matcher::type_table {
    std::unordered_map<std::string, std::unique_ptr<program>, string_hash, std::equal_to<>> map;
};

compiled_matcher::compiled_matcher(const std::vector<matcher_entry>& entries)
    : by_type_(std::make_unique<type_table>()) {
    std::map<std::string, std::vector<const matcher_entry*>> typed;
    std::vector<const matcher_entry*> any;
    for (const matcher_entry& e : entries) {
        if (e.filter) filters_.push_back(e.filter);
        if (e.event_type == "*") {
            any.push_back(&e);
        } else {
            typed[e.event_type].push_back(&e);
        }
    }
    for (auto& [type, list] : typed) {
        list.insert(list.end(), any.begin(), any.end());
        by_type_->map.emplace(type, program::build(list));
    }
    if (!any.empty()) any_type_ = program::build(any);
}

compiled_matcher::~compiled_matcher() = default;

const compiled_matcher::program* compiled_matcher::program_for(std::string_view type) const {
    auto it = by_type_->map.find(type);
    return it != by_type_->map.end() ? it->second.get() : any_type_.get();
}

// The probes run in stages so that the memory loads of one event overlap: every hash probe of
// every value is tested against its filter first (prefetching the directory entry of those
// that pass), then resolved into bucket record ranges (prefetching those records, which are
// the candidates' runs), then the buckets are scanned for the runs posted under the probe's
// hash, and only then is each candidate checked. Done one probe at a time, each step would
// wait for the previous miss.
void compiled_matcher::match(const event_view& e, match_scratch& scratch,
                             std::vector<std::uint32_t>& out) const {
    const program* p = program_for(e.type);
    if (!p) return;
    match_scratch::impl& s = scratch.get();
    if (s.seen.size() < p->size) s.seen.resize(p->size, s.epoch);
    if (++s.epoch == 0) {
        std::fill(s.seen.begin(), s.seen.end(), 0);
        s.epoch = 1;
    }
    s.fields.extract(p->paths, e);
    s.candidates.clear();
    s.probes.clear();
    s.buckets.clear();
    auto gather = [&](candidate_ref at) {
        p->candidates.prefetch(at);
        s.candidates.push_back(at);
    };
    auto gather_all = [&](posting_span records) {
        for (candidate_ref at : records) gather(at);
    };
    const value_ref* items = s.fields.items();
    for (std::uint32_t slot = 0; slot < p->slots.size(); ++slot) {
        const slot_state& st = s.fields.slot(slot);
        if (!st.present) continue;
        const slot_index& idx = p->slots[slot];
        gather_all(idx.exists);
        for (std::uint32_t k = st.begin; k < st.end; ++k) {
            idx.eq.probe(items[k], s.probes);
            idx.range.probe(items[k], gather);
            if (items[k].kind != value_kind::string) continue;
            idx.prefix.probe(items[k].s, s.probes);
            idx.suffix.probe(items[k].s, s.probes);
            idx.infix.probe(items[k].s, s.probes);
        }
    }
    for (const hash_probe& q : s.probes) {
        const auto [first, last] = q.postings->records(q.hash);
        if (first == last) continue;
        p->candidates.prefetch(first, last);
        s.buckets.push_back({first, last, q.hash});
    }
    for (const bucket_span& b : s.buckets) {
        for (std::uint32_t r = b.first; r < b.last;) {
            const flat_record& h = p->candidates.record(r);
            if (h.u == b.hash) s.candidates.push_back(candidate_arena::ref_of(r, h.size));
            r += h.size;
        }
    }
    gather_all(p->always);
    // A subscriber may be proposed twice (an array value, a repeated gram, several $in
    // values, each with a run of its own): a few candidates are deduplicated by a scan of
    // their ids, more through the per-subscriber epochs.
    const std::vector<std::uint32_t>& cands = s.candidates;
    const bool few = cands.size() <= few_candidates;
    std::uint32_t ids[few_candidates];
    std::size_t checked = 0;
    for (const candidate_ref at : cands) {
        const flat_record& h = p->candidates.header(at);
        if (few) {
            if (std::find(ids, ids + checked, h.slot) != ids + checked) continue;
            ids[checked++] = h.slot;
        } else {
            if (s.seen[h.slot] == s.epoch) continue;
            s.seen[h.slot] = s.epoch;
        }
        const bool holds =
            h.tree ? evaluate(p->trees[h.slot], s.fields) : p->candidates.evaluate(at, s.fields);
        if (holds) out.push_back(h.extra);
    }
}

}  // namespace pubsub
