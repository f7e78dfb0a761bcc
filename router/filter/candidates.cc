// candidate_arena: writing subscriber records and checking a candidate.
#include "router/filter/candidates.h"

#include <cstdlib>
#include <cstring>

#include "router/filter/condition_eval.h"

namespace pubsub::filter_detail {
namespace {

bool is_conjunction(const compiled_node& n) {
    if (n.kind != node::kind_t::all) return false;
    for (const compiled_node& c : n.children) {
        if (!is_conjunction(c)) return false;
    }
    return true;
}

std::uint16_t count_conditions(const compiled_node& n) {
    std::size_t k = 0;
    for (const compiled_field& f : n.fields) k += f.conditions.size();
    for (const compiled_node& c : n.children) k += count_conditions(c);
    return static_cast<std::uint16_t>(k);
}

// condition_eval's view of a condition record (its list values are the records after it).
struct record_condition {
    const flat_record* r;
    const std::vector<glob_tokens>* globs;
    const char* arena;
    value_ref value = r->operand(arena);
    op kind() const { return r->kind; }
    bool exists() const { return r->exists; }
    const value_ref& operand() const { return value; }
    const glob_tokens& glob() const { return (*globs)[r->extra]; }
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

std::uint32_t candidate_arena::add(std::uint32_t id, std::uint32_t out_index,
                                   const compiled_node& n) {
    const auto at = static_cast<std::uint32_t>(records_.size());
    flat_record& h = records_.emplace_back();
    h.slot = id;
    h.extra = out_index;
    const bool flat = is_conjunction(n) && count_conditions(n) < UINT16_MAX;
    if (!flat) {
        h.tree = true;
        return at;
    }
    h.count = count_conditions(n);
    std::string bytes;
    add_conditions(n, bytes);
    const auto base = static_cast<std::uint32_t>(records_.size());
    for (std::size_t k = 0; k < bytes.size(); k += sizeof(flat_record)) {
        std::memcpy(static_cast<void*>(&records_.emplace_back()), bytes.data() + k,
                    std::min(sizeof(flat_record), bytes.size() - k));
    }
    for (std::size_t k = fixups_.size(); k-- > 0 && fixups_[k].record > at;) fixups_[k].base = base;
    return at;
}

void candidate_arena::add_conditions(const compiled_node& n, std::string& bytes) {
    for (const compiled_field& f : n.fields) {
        for (const compiled_condition& c : f.conditions) {
            flat_record& r = records_.emplace_back();
            r.set_operand(c.operand);
            r.slot = f.slot;
            r.kind = c.kind;
            r.exists = c.exists;
            if (c.kind == op::glob) {
                r.size = 0;  // the pattern is matched through its tokens, never as text
                r.extra = static_cast<std::uint32_t>(globs_.size());
                globs_.push_back(c.glob);
            } else {
                r.extra = static_cast<std::uint32_t>(c.list.size());
                add_string(c.operand.s, bytes);
            }
            for (const value_ref& v : c.list) {
                records_.emplace_back().set_operand(v);
                add_string(v.s, bytes);
            }
        }
    }
    for (const compiled_node& child : n.children) add_conditions(child, bytes);
}

// Schedules the last record's operand string to view a copy of s in this candidate's bytes.
void candidate_arena::add_string(std::string_view s, std::string& bytes) {
    if (s.empty()) return;
    const auto record = static_cast<std::uint32_t>(records_.size() - 1);
    fixups_.push_back({record, 0, static_cast<std::uint32_t>(bytes.size()),
                       static_cast<std::uint32_t>(s.size())});
    bytes.append(s);
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

bool candidate_arena::evaluate(std::uint32_t at, const extract_state& ev) const {
    const flat_record* r = &records_[at + 1];
    for (std::uint16_t k = records_[at].count; k > 0; --k) {
        const char* arena = reinterpret_cast<const char*>(records_.data());
        if (!condition_holds(record_condition{r, &globs_, arena}, ev.slot(r->slot), ev.items())) {
            return false;
        }
        r += 1 + (r->kind == op::in || r->kind == op::nin ? r->extra : 0);
    }
    return true;
}

}  // namespace pubsub::filter_detail
