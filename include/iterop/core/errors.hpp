// Exceptions iterop throws: invalid_option for bad input (before any work), backend_error for a
// failure inside SUNDIALS, Ceres or LibTorch. Numerical outcomes are never exceptions (see Status).
#pragma once

#include <charconv>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace iterop {

/// Invalid input: the message names the field, the value and the violated rule, e.g.
/// "Anderson::memory = -1. Violated constraint: memory >= 0."
class invalid_option : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// A failure reported by a backend library, translated at the component boundary.
class backend_error : public std::runtime_error {
 public:
  backend_error(std::string backend, const std::string& message)
      : std::runtime_error(backend + ": " + message), backend_(std::move(backend)) {}
  /// The backend that failed ("KINSOL", "Ceres", "LibTorch", ...).
  const std::string& backend() const noexcept { return backend_; }

 private:
  std::string backend_;
};

/// Shortest decimal text that reads back to the same value (integers and floating point).
template <class V>
std::string format_value(V v) {
  if constexpr (std::is_same_v<V, bool>) {
    return v ? "true" : "false";
  } else if constexpr (std::is_arithmetic_v<V>) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    if (ec != std::errc{}) return "?";
    return std::string(buf, end);
  } else {
    return std::string(v);
  }
}

/// Throws invalid_option unless `ok`: "<field> = <value>. Violated constraint: <rule>."
template <class V>
void require(bool ok, std::string_view field, const V& value, std::string_view rule) {
  if (!ok) {
    std::string msg(field);
    msg += " = ";
    msg += format_value(value);
    msg += ". Violated constraint: ";
    msg += rule;
    msg += ".";
    throw invalid_option(msg);
  }
}

}  // namespace iterop
