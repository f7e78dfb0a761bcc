// candidate_arena: writing subscriber records and checking a candidate.
#include "filter/candidates.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "filter/condition_eval.h"

namespace pubsub::filter_detail {
namespace {

using kind_t = node::kind_t;

// The items of an `all` node as laid out: its conditions, the items of its `all` children
// (inlined: an AND inside an AND), and one node item for each other child.
std::size_t count_items(const compiled_node& n) {
    std::size_t k = 0;
    for (const compiled_field& f : n.fields) k += f.conditions.size();
    for (const compiled_node& c : n.children) k += c.kind == kind_t::all ? count_items(c) : 1;
    return k;
}

// Whether every node's item count fits the records' 16-bit count.
bool fits(const compiled_node& n) {
    const std::size_t items = n.kind == kind_t::all ? count_items(n) : n.children.size();
    if (items >= UINT16_MAX) return false;
    for (const compiled_node& c : n.children) {
        if (!fits(c)) return false;
    }
    return true;
}

// condition_eval's view of a condition record (its list values are the records after it).
struct record_condition {
    const flat_record* r;
    const char* arena;
    value_ref value = r->operand(arena);
    op kind() const { return r->kind; }
    bool exists() const { return r->exists; }
    const value_ref& operand() const { return value; }
    stored_glob glob() const { return {arena + r->str, r->size, r->extra != 0}; }
    bool in_list(const value_ref& v) const {
        for (std::uint32_t k = 1; k <= r->extra; ++k) {
            if (values_equal(r[k].operand(arena), v)) return true;
        }
        return false;
    }
};

}  // namespace

void flat_record::set_operand(const value_ref& v) {
    vkind = v.kind;
    b = v.b;
    switch (v.kind) {
        case value_kind::integer:
            i = v.i;
            break;
        case value_kind::uinteger:
            u = v.u;
            break;
        case value_kind::real:
            d = v.d;
            break;
        default:
            break;
    }
    size = static_cast<std::uint32_t>(v.s.size());  // str is set by finish()
}

value_ref flat_record::operand(const char* arena) const {
    value_ref v;
    v.kind = vkind;
    v.b = b;
    switch (vkind) {
        case value_kind::integer:
            v.i = i;
            break;
        case value_kind::uinteger:
            v.u = u;
            break;
        case value_kind::real:
            v.d = d;
            break;
        case value_kind::string:
            v.s = std::string_view(arena + str, size);
            break;
        default:
            break;
    }
    return v;
}

candidate_ref candidate_arena::add(std::uint32_t id, std::uint32_t out_index,
                                   const compiled_node& n, std::uint64_t key) {
    const auto at = static_cast<std::uint32_t>(records_.size());
    if (at >= 1u << run_shift) std::abort();  // 8 GB of records: far beyond any subscriber set
    flat_record& h = records_.emplace_back();
    h.slot = id;
    h.extra = out_index;
    h.u = key;
    h.size = 1;
    if (!fits(n)) {
        h.tree = true;
        return ref_of(at, 1);
    }
    std::string bytes;
    if (n.kind == kind_t::all) {
        h.count = static_cast<std::uint16_t>(count_items(n));
        add_items(n, bytes);
    } else {
        h.count = 1;
        add_node(n, bytes);
    }
    const auto base = static_cast<std::uint32_t>(records_.size());
    for (std::size_t k = 0; k < bytes.size(); k += sizeof(flat_record)) {
        std::memcpy(static_cast<void*>(&records_.emplace_back()), bytes.data() + k,
                    std::min(sizeof(flat_record), bytes.size() - k));
    }
    for (std::size_t k = fixups_.size(); k-- > 0 && fixups_[k].record > at;) fixups_[k].base = base;
    records_[at].size = static_cast<std::uint32_t>(records_.size() - at);
    return ref_of(at, records_[at].size);
}

void candidate_arena::add_items(const compiled_node& n, std::string& bytes) {
    for (const compiled_field& f : n.fields) {
        for (const compiled_condition& c : f.conditions) add_condition(f.slot, c, bytes);
    }
    for (const compiled_node& child : n.children) {
        if (child.kind == kind_t::all) {
            add_items(child, bytes);
        } else {
            add_node(child, bytes);
        }
    }
}

// Node items: `any` and `negate` evaluate their children only (as evaluate() does).
void candidate_arena::add_node(const compiled_node& n, std::string& bytes) {
    const std::size_t at = records_.size();
    records_.emplace_back().node = static_cast<std::uint8_t>(1 + static_cast<int>(n.kind));
    if (n.kind == kind_t::all) {
        records_[at].count = static_cast<std::uint16_t>(count_items(n));
        add_items(n, bytes);
    } else {
        records_[at].count = static_cast<std::uint16_t>(n.children.size());
        for (const compiled_node& child : n.children) add_node(child, bytes);
    }
    records_[at].extra = static_cast<std::uint32_t>(records_.size() - at - 1);
}

void candidate_arena::add_condition(std::uint32_t slot, const compiled_condition& c,
                                    std::string& bytes) {
    flat_record& r = records_.emplace_back();
    r.set_operand(c.operand);
    r.slot = slot;
    r.kind = c.kind;
    r.exists = c.exists;
    if (c.kind == op::glob) {
        add_glob(c.glob, bytes);  // matched through its tokens, never as text
    } else {
        r.extra = static_cast<std::uint32_t>(c.list.size());
        add_string(c.operand.s, bytes);
    }
    for (const value_ref& v : c.list) {
        records_.emplace_back().set_operand(v);
        add_string(v.s, bytes);
    }
}

// Schedules the last record's operand string to view a copy of s in this candidate's bytes.
void candidate_arena::add_string(std::string_view s, std::string& bytes) {
    if (s.empty()) return;
    const auto record = static_cast<std::uint32_t>(records_.size() - 1);
    fixups_.push_back({record, 0, static_cast<std::uint32_t>(bytes.size()),
                       static_cast<std::uint32_t>(s.size())});
    bytes.append(s);
}

// Like add_string, for a glob: its segments (size: how many, extra: 1) when it has no ?,
// else its tokens (size: how many, extra: 0).
void candidate_arena::add_glob(const glob_tokens& t, std::string& bytes) {
    flat_record& r = records_.back();
    const bool segments = glob_segments::fits(t);
    r.extra = segments ? 1 : 0;
    r.size = segments ? glob_segments::count_of(t) : static_cast<std::uint32_t>(t.size());
    fixups_.push_back({static_cast<std::uint32_t>(records_.size() - 1), 0,
                       static_cast<std::uint32_t>(bytes.size()), r.size});
    if (segments) {
        glob_segments::append(t, bytes);
    } else {
        glob_token_bytes::append(t, bytes);
    }
}

void candidate_arena::finish() {
    for (const fixup& f : fixups_) {
        const std::size_t at = std::size_t{f.base} * sizeof(flat_record) + f.offset;
        if (at > UINT32_MAX) std::abort();  // an arena of 4 GB: far beyond any subscriber set
        records_[f.record].str = static_cast<std::uint32_t>(at);
    }
    fixups_.clear();
    fixups_.shrink_to_fit();
}

namespace {

// The commonest conditions (string equality and prefix, integer bounds, globs without ?)
// decided straight from
// the record, without building the operand or going through condition_eval's switches: 1 or
// 0; -1 leaves the condition to condition_eval. Same type rules: a string equals a string
// only, a missing field or one without scalar items fails, any element of an array may hold.
int quick_holds(const flat_record& r, const slot_state& st, const value_ref* items,
                const char* arena) {
    switch (r.kind) {
        case op::eq:
        case op::prefix: {
            if (r.vkind != value_kind::string) return -1;
            const bool whole = r.kind == op::eq;
            for (std::uint32_t k = st.begin; k < st.end; ++k) {
                const value_ref& v = items[k];
                if (v.kind != value_kind::string || v.s.size() < r.size) continue;
                if (whole && v.s.size() != r.size) continue;
                if (std::memcmp(v.s.data(), arena + r.str, r.size) == 0) return 1;
            }
            return 0;
        }
        case op::gt:
        case op::gte:
        case op::lt:
        case op::lte: {
            if (r.vkind != value_kind::integer) return -1;
            for (std::uint32_t k = st.begin; k < st.end; ++k) {
                const value_ref& v = items[k];
                if (v.kind != value_kind::integer) {
                    if (is_number(v.kind)) return -1;  // mixed kinds: compare_numbers decides
                    continue;                          // strings and others never compare
                }
                const bool holds = r.kind == op::gt    ? v.i > r.i
                                   : r.kind == op::gte ? v.i >= r.i
                                   : r.kind == op::lt  ? v.i < r.i
                                                       : v.i <= r.i;
                if (holds) return 1;
            }
            return 0;
        }
        case op::glob: {
            if (r.extra == 0) return -1;  // tokens (a ?): condition_eval
            const glob_segments g(arena + r.str, r.size);
            for (std::uint32_t k = st.begin; k < st.end; ++k) {
                if (items[k].kind == value_kind::string && g.match(items[k].s)) return 1;
            }
            return 0;
        }
        default:
            return -1;
    }
}

std::uint32_t item_records(const flat_record& r) {
    if (r.node != 0 || r.kind == op::in || r.kind == op::nin) return 1 + r.extra;
    return 1;
}

}  // namespace

// The items from `first` on, combined as `kind` says (a negate node has exactly one item).
bool candidate_arena::evaluate_items(const flat_record* r, std::uint16_t count, node::kind_t kind,
                                     const extract_state& ev) const {
    const char* arena = reinterpret_cast<const char*>(records_.data());
    for (; count > 0; --count) {
        bool holds;
        if (r->node != 0) {
            holds = evaluate_items(r + 1, r->count, static_cast<kind_t>(r->node - 1), ev);
        } else {
            const slot_state& st = ev.slot(r->slot);
            const int quick = quick_holds(*r, st, ev.items(), arena);
            holds = quick >= 0 ? quick == 1
                               : condition_holds(record_condition{r, arena}, st, ev.items());
        }
        if (kind == kind_t::negate) return !holds;
        if (holds == (kind == kind_t::any)) return holds;
        r += item_records(*r);
    }
    return kind == kind_t::all;
}

bool candidate_arena::evaluate(candidate_ref ref, const extract_state& ev) const {
    const flat_record& h = records_[record_of(ref)];
    return evaluate_items(&h + 1, h.count, kind_t::all, ev);
}

}  // namespace pubsub::filter_detail
