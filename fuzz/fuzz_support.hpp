// Shared pieces of the libFuzzer harnesses: the input split into fields, and the one rule of every
// harness: bad input must end in one of iterop's documented errors; any other exception is a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

namespace iterop::fuzz {

/// The input as text.
inline std::string_view text_of(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// `text` split at every `separator` (so n separators give n + 1 fields), at most `most` fields (the last
/// keeps the rest).
inline std::vector<std::string> fields(std::string_view text, char separator, std::size_t most) {
  std::vector<std::string> out;
  while (out.size() + 1 < most) {
    const std::size_t at = text.find(separator);
    if (at == std::string_view::npos) break;
    out.emplace_back(text.substr(0, at));
    text.remove_prefix(at + 1);
  }
  out.emplace_back(text);
  return out;
}

/// Aborts (a libFuzzer crash, with the input saved) for an exception that is not one of the documented
/// errors: what a user would see as "iterop: error: unexpected failure".
[[noreturn]] inline void unexpected(const char* what, const char* type) {
  std::fprintf(stderr, "iterop fuzz: undocumented exception %s: %s\n", type, what);
  std::abort();
}

/// Runs `f`; the documented errors (listed by the harness in `Documented...`) are the expected outcome of
/// bad input, any other std::exception aborts.
template <class... Documented, class F>
void expect_documented_errors(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    if (!(... || (dynamic_cast<const Documented*>(&e) != nullptr))) unexpected(e.what(), typeid(e).name());
  }
}

}  // namespace iterop::fuzz
