// The names of an enum's values, written once: to_string and parse read the same table, so a value
// cannot be spelled two ways, and a bad name gets the house's one-line message listing the valid ones.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "iterop/core/errors.hpp"

namespace iterop {

/// A table of (value, name) pairs of the enum E, in the order names are listed in messages.
/// Example: `inline constexpr EnumNames<Color, 2> color_names{{{{Color::red, "red"}, {Color::blue, "blue"}}}};`
template <class E, std::size_t N>
struct EnumNames {
  std::array<std::pair<E, std::string_view>, N> entries;

  /// The name of `value` ("unknown" for a value not in the table).
  constexpr std::string_view name(E value) const {
    for (const auto& [v, n] : entries)
      if (v == value) return n;
    return "unknown";
  }

  /// Every value, in table order.
  std::vector<E> values() const {
    std::vector<E> out;
    for (const auto& e : entries) out.push_back(e.first);
    return out;
  }

  /// The names joined by ", " (the last one by `last`, e.g. " or ").
  std::string list(std::string_view last = ", ") const {
    std::string s;
    for (std::size_t i = 0; i < N; ++i) s += std::string(i == 0 ? "" : (i + 1 == N ? last : ", ")) + std::string(entries[i].second);
    return s;
  }

  /// The value called `text`. Throws iterop::invalid_option "<field> = <text>. Violated constraint: one of <names>."
  E parse(std::string_view text, std::string_view field) const {
    for (const auto& [v, n] : entries)
      if (n == text) return v;
    require(false, field, std::string(text), "one of " + list());
    return entries[0].first;  // not reached
  }
};

}  // namespace iterop
