// The reference interpreter: a plain tree walk; each path is looked up by its own fresh scan of
// event_data (simdjson on-demand, iterated afresh per lookup, the last matching key wins).
//
// It is the oracle the compiled matcher is tested against, and what explain_mismatch uses, so
// it favours obviousness over speed. reference_event holds the padded copy of the event so
// that a caller looping over many filters (tests, the benchmark) copies it only once.
// A reference_event is not thread-safe; the functions are reentrant.
#pragma once

#include <simdjson.h>

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "filter/filter.h"

namespace pubsub::filter_detail {

// The value at a path: missing, or present with its scalar items (one for a scalar, the
// scalar elements for an array, none for an object).
struct field_value {
    bool present = false;
    bool array = false;  // the value is an array (items are its scalar elements)
    std::vector<value_ref> items;
    std::deque<std::string> strings;  // what the string items view
};

class reference_event {
  public:
    explicit reference_event(const event_view& e);
    reference_event(const reference_event&) = delete;
    reference_event& operator=(const reference_event&) = delete;

    field_value lookup(const field_path& p) const;

  private:
    // Iterates afresh and steps into the objects at these field positions.
    bool open_object(const std::vector<std::size_t>& positions,
                     simdjson::ondemand::object& obj) const;

    event_view view_;
    simdjson::padded_string data_;
    mutable simdjson::ondemand::parser parser_;
    mutable simdjson::ondemand::document doc_;
    bool data_ok_ = false;
};

bool reference_match(const filter& f, const reference_event& e);
std::optional<std::string> explain_mismatch(const filter& f, const reference_event& e);

// Condition semantics on one field value, shared by nothing else on purpose.
bool reference_condition(const condition& c, const field_value& v);
bool reference_glob(std::string_view raw_pattern, std::string_view s);

}  // namespace pubsub::filter_detail
