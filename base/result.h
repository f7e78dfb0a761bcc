// result<T> and status: errors as values at module borders (STYLE.md 6).
//
// A status is either ok or carries a human-readable message that says what is wrong and where.
// result<T> holds either a T or such a message. Both are cheap to move, not thread-safe to
// share mutably (like any value), and [[nodiscard]] so an ignored error is a compile warning.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace pubsub {

class [[nodiscard]] status {
  public:
    status() = default;  // ok
    static status error(std::string message) { return status(std::move(message)); }

    bool ok() const { return !failed_; }
    explicit operator bool() const { return ok(); }
    const std::string& message() const { return message_; }

  private:
    explicit status(std::string message) : failed_(true), message_(std::move(message)) {}
    bool failed_ = false;
    std::string message_;
};

inline status ok_status() { return {}; }

template <class T>
class [[nodiscard]] result {
  public:
    result(T value) : v_(std::move(value)) {}  // NOLINT: implicit on purpose, like std::expected
    result(status error) : v_(std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    // The error; only meaningful when !ok().
    const std::string& message() const { return std::get<1>(v_).message(); }
    status error() const { return ok() ? status() : std::get<1>(v_); }

  private:
    std::variant<T, status> v_;
};

}  // namespace pubsub
