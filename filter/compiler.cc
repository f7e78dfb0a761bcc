// Building a compiled_matcher program: compile each filter, choose its anchor, fill indexes.
#include <optional>
#include <unordered_map>

#include "filter/index.h"

namespace pubsub {
namespace {

using namespace filter_detail;

enum class anchor_kind : std::uint8_t { eq, in, prefix, suffix, infix, range, exists };

// An indexable condition of a subscriber's top-level conjunction: if the filter matches, this
// condition holds, so indexing the subscriber under it loses nothing.
struct anchor {
    anchor_kind kind = anchor_kind::eq;
    std::uint32_t slot = 0;
    const compiled_condition* cond = nullptr;
    std::string literal;            // prefix / suffix
    std::vector<std::string> keys;  // what "the same anchor" means, for sharing counts
};

std::string key_of(std::uint32_t slot, char tag, std::string_view what) {
    return std::to_string(slot) + tag + std::string(what);
}

anchor affix_anchor(anchor_kind kind, std::uint32_t slot, const compiled_condition& c,
                    std::string literal) {
    const char tag = kind == anchor_kind::prefix ? '<' : kind == anchor_kind::suffix ? '>' : '~';
    anchor a{kind, slot, &c, std::move(literal), {}};
    a.keys.push_back(key_of(slot, tag, a.literal));
    return a;
}

// A glob offers its literal prefix, its literal suffix and every gram of its literal runs;
// the cheapest wins. A run of 6 bytes or more offers only its 6-byte grams: each of its 3-byte
// grams lies inside one of them, which is then at least as selective and shared by no more
// subscribers; and the fewer gram lengths a slot has, the fewer probes every event pays (one
// per byte of the string and length).
void glob_anchors(std::uint32_t slot, const compiled_condition& c, std::vector<anchor>& out) {
    std::string pre = glob_literal_prefix(c.glob), suf = glob_literal_suffix(c.glob);
    if (!pre.empty()) out.push_back(affix_anchor(anchor_kind::prefix, slot, c, pre));
    if (!suf.empty()) out.push_back(affix_anchor(anchor_kind::suffix, slot, c, suf));
    for (const std::string& run : glob_literal_runs(c.glob)) {
        const std::size_t len =
            run.size() >= gram_index::long_len ? gram_index::long_len : gram_index::short_len;
        for (std::size_t i = 0; i + len <= run.size(); ++i) {
            out.push_back(affix_anchor(anchor_kind::infix, slot, c, run.substr(i, len)));
        }
    }
}

std::optional<anchor> anchor_of(std::uint32_t slot, const compiled_condition& c) {
    anchor a{anchor_kind::eq, slot, &c, {}, {}};
    switch (c.kind) {
        case op::eq:
            a.keys.push_back(key_of(slot, '=', describe(c.operand)));
            return a;
        case op::in:
            a.kind = anchor_kind::in;
            for (const value_ref& v : c.list) a.keys.push_back(key_of(slot, '=', describe(v)));
            return a;
        case op::prefix:
            return affix_anchor(anchor_kind::prefix, slot, c, std::string(c.operand.s));
        case op::suffix:
            return affix_anchor(anchor_kind::suffix, slot, c, std::string(c.operand.s));
        case op::gt:
        case op::gte:
        case op::lt:
        case op::lte:
            if (!is_number(c.operand.kind)) return std::nullopt;
            a.kind = anchor_kind::range;
            a.keys.push_back(key_of(slot, 'r', std::string(op_name(c.kind)) + describe(c.operand)));
            return a;
        case op::exists:
            if (!c.exists) return std::nullopt;
            a.kind = anchor_kind::exists;
            a.keys.push_back(key_of(slot, 'e', ""));
            return a;
        default:
            return std::nullopt;
    }
}

void collect(const compiled_node& n, std::vector<anchor>& out) {
    if (n.kind != node::kind_t::all) return;
    for (const compiled_field& f : n.fields) {
        for (const compiled_condition& c : f.conditions) {
            if (c.kind == op::glob) {
                glob_anchors(f.slot, c, out);
            } else if (std::optional<anchor> a = anchor_of(f.slot, c)) {
                out.push_back(std::move(*a));
            }
        }
    }
    for (const compiled_node& child : n.children) collect(child, out);
}

using share_counts = std::unordered_map<std::string, std::uint32_t>;

// Lower is better: roughly how many candidates the anchor proposes per event.
std::uint64_t cost(const anchor& a, const share_counts& counts) {
    std::uint64_t shared = 0;
    for (const std::string& k : a.keys) shared += counts.at(k);
    switch (a.kind) {
        case anchor_kind::eq:
        case anchor_kind::in:
            return shared;
        case anchor_kind::prefix:
        case anchor_kind::suffix:
            return shared + (a.literal.empty() ? 500 : a.literal.size() < 3 ? 20 : 0);
        case anchor_kind::infix:
            return 40 + shared;  // one probe per byte, weaker than affixes
        case anchor_kind::range:
            return 1000 + shared;
        case anchor_kind::exists:
            return 10000 + shared;
    }
    return shared;
}

void insert(const anchor& a, std::uint32_t sub, slot_index& idx) {
    switch (a.kind) {
        case anchor_kind::eq:
            idx.eq.add(a.cond->operand, sub);
            break;
        case anchor_kind::in:
            for (const value_ref& v : a.cond->list) idx.eq.add(v, sub);
            break;
        case anchor_kind::prefix:
            idx.prefix.add(a.literal, sub);
            break;
        case anchor_kind::suffix:
            idx.suffix.add(a.literal, sub);
            break;
        case anchor_kind::infix:
            idx.infix.add(a.literal, sub);
            break;
        case anchor_kind::range:
            idx.range.add(*a.cond, sub);
            break;
        case anchor_kind::exists:
            idx.exists.push_back(sub);
            break;
    }
}

}  // namespace

std::unique_ptr<compiled_matcher::program> compiled_matcher::program::build(
    const std::vector<const matcher_entry*>& entries) {
    auto p = std::make_unique<program>();
    std::vector<compiled_node> filters;
    for (const matcher_entry* e : entries) {
        filters.push_back(e->filter ? compile_node(e->filter->root(), p->paths) : compiled_node{});
    }
    p->size = static_cast<std::uint32_t>(filters.size());
    p->slots.resize(p->paths.slot_count());
    p->trees.resize(filters.size());
    std::vector<std::vector<anchor>> candidates(filters.size());
    share_counts counts;
    for (std::uint32_t s = 0; s < filters.size(); ++s) {
        collect(filters[s], candidates[s]);
        for (const anchor& a : candidates[s]) {
            for (const std::string& k : a.keys) ++counts[k];
        }
    }
    for (std::uint32_t s = 0; s < filters.size(); ++s) {
        const anchor* best = nullptr;
        std::uint64_t best_cost = 0;
        for (const anchor& a : candidates[s]) {
            std::uint64_t c = cost(a, counts);
            if (!best || c < best_cost) best = &a, best_cost = c;
        }
        if (best) {
            insert(*best, s, p->slots[best->slot]);
        } else {
            p->always.push_back(s);
        }
    }
    std::vector<bool> tree(filters.size());
    const place_fn place = [&](std::uint32_t s, std::uint64_t key) {
        const candidate_ref r = p->candidates.add(s, entries[s]->subscriber_index, filters[s], key);
        tree[s] = p->candidates.header(r).tree;
        return r;
    };
    for (slot_index& idx : p->slots) idx.finish_hashed(p->candidates, place);
    for (slot_index& idx : p->slots) idx.finish_others(place);
    for (std::uint32_t& s : p->always) s = place(s, 0);
    p->candidates.finish();
    for (std::uint32_t s = 0; s < filters.size(); ++s) {
        if (tree[s]) p->trees[s] = std::move(filters[s]);
    }
    return p;
}

}  // namespace pubsub
