// compiled_matcher: every active subscriber's filter compiled into one structure, so that
// routing an event costs about the same whether there are ten subscribers or a hundred
// thousand.
//
// DESIGN: subscribers are grouped by event_type ("*" subscribers join every group); within a
// group each is indexed under one "anchor", the most selective indexable condition of its
// top-level conjunction (hashes of exact values, prefixes, suffixes and glob literals, 3- and
// 6-byte grams, sorted numeric bounds). An event is parsed once (extract.h), the indexes are
// probed with the values found, and each candidate's full filter runs once (candidates.h), so
// the cost is the parse plus candidates x filter size. Subscribers with nothing indexable are
// evaluated on every event of their type: only they pay for it.
//
// Thread-safety: immutable after construction; match() is const and thread-safe as long as
// each thread passes its own match_scratch. Build it off the hot path and publish it with a
// shared_ptr swap. It keeps the filters it was built from alive.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "filter/filter.h"

namespace pubsub {

struct matcher_entry {
    std::uint32_t subscriber_index = 0;
    std::string event_type;  // "*" = any type
    filter_ptr filter;       // null = match everything
};

// Per-thread working memory of match(): the on-demand parser and buffers. Not thread-safe;
// reusable across matchers. Allocates only while its buffers grow.
class match_scratch {
  public:
    match_scratch();
    ~match_scratch();
    match_scratch(const match_scratch&) = delete;
    match_scratch& operator=(const match_scratch&) = delete;

    struct impl;
    impl& get() { return *impl_; }

  private:
    std::unique_ptr<impl> impl_;
};

class compiled_matcher {
  public:
    // Builds the indexes. Subscriber indexes are expected to be distinct. Allocates; not for
    // the hot path.
    explicit compiled_matcher(const std::vector<matcher_entry>& entries);
    ~compiled_matcher();
    compiled_matcher(const compiled_matcher&) = delete;
    compiled_matcher& operator=(const compiled_matcher&) = delete;

    // Appends the subscriber_index of every entry whose type and filter match, each once, in
    // no particular order. Thread-safe with a per-thread scratch; allocates only when `out`
    // or the scratch grow.
    void match(const event_view& e, match_scratch& scratch, std::vector<std::uint32_t>& out) const;

    struct program;  // one event_type group, in index.h

  private:
    const program* program_for(std::string_view type) const;

    struct type_table;
    std::unique_ptr<type_table> by_type_;
    std::unique_ptr<program> any_type_;
    std::vector<filter_ptr> filters_;  // keeps the ASTs the programs view alive
};

}  // namespace pubsub
