// The filter AST: what parse_filter() produces and every evaluator reads.
//
// A filter is a tree of nodes. An `all` node holds field tests (a path and the conditions on
// it) and child nodes, all of which must hold; `any` holds if one child holds; `negate` holds
// if its single child does not. The parser builds it once; afterwards it is immutable and may
// be read from any thread. See filter.h for the language and its type rules.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "filter/value.h"

namespace pubsub::filter_detail {

enum class op : std::uint8_t { eq, ne, gt, gte, lt, lte, in, nin, exists, prefix, suffix, glob };
std::string_view op_name(op o);  // "$eq", ...

enum class field_root : std::uint8_t { event_type, event_source, event_data };

struct field_path {
    field_root root = field_root::event_type;
    std::vector<std::string> keys;  // the keys below event_data; empty for the other roots
    std::string text;               // the path as written in the filter, for messages
};

// An owned scalar; ref() views it (valid while the scalar lives and is not moved).
struct scalar {
    value_kind kind = value_kind::null;
    bool b = false;
    std::int64_t i = 0;
    std::uint64_t u = 0;
    double d = 0;
    std::string s;

    static scalar from(const value_ref& v);
    value_ref ref() const;
};

struct condition {
    op kind = op::eq;
    scalar operand;            // eq ne gt gte lt lte prefix suffix; glob: the raw pattern
    std::vector<scalar> list;  // in nin
    bool exists = true;        // exists
};
std::string describe(const condition& c);  // {"$gt":10}, as a filter would write it

struct field_test {
    field_path path;
    std::vector<condition> conditions;
};

struct node {
    enum class kind_t : std::uint8_t { all, any, negate };
    kind_t kind = kind_t::all;
    std::vector<field_test> fields;  // all only
    std::vector<node> children;      // all: ANDed; any: ORed; negate: exactly one
};

}  // namespace pubsub::filter_detail

namespace pubsub {

// A parsed, validated filter. Immutable; share it as filter_ptr across threads freely.
class filter {
  public:
    explicit filter(filter_detail::node root) : root_(std::move(root)) {}
    const filter_detail::node& root() const { return root_; }
    // True for {} (and empty text): matches every event of the subscriber's type.
    bool matches_everything() const { return root_.fields.empty() && root_.children.empty(); }

  private:
    filter_detail::node root_;
};

}  // namespace pubsub
