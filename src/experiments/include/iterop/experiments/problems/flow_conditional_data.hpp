// A synthetic conditional flow data set whose target distribution is composed from the words of a
// prompt "generate {component} shifted {direction}", with some combinations held out of training.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "iterop/distributions/sample_set.hpp"

namespace iterop::experiments {

/// One combination of words: a component (a 2-D shape) and a direction (a shift).
struct PromptCombination {
  std::string component;  ///< "moons", "8gaussians", "checkerboard", "spirals" or "blob"
  std::string direction;  ///< "left", "right", "up" or "down"

  friend bool operator==(const PromptCombination&, const PromptCombination&) = default;
};

/// The conditional data set. The target of prompt "generate C shifted D" is the 2-D data set C
/// (iterop::distributions::sample_dataset; "blob" is N(0, blob_std^2 I)) translated by
/// `shift` along D: left (-shift, 0), right (shift, 0), up (0, shift), down (0, -shift).
struct ConditionalFlowTask {
  std::vector<std::string> components{"moons", "8gaussians", "checkerboard", "spirals", "blob"};
  std::vector<std::string> directions{"left", "right", "up", "down"};
  double shift = 4.0;     ///< length of the translation (> 0, finite)
  double blob_std = 0.5;  ///< standard deviation of "blob" per axis (> 0, finite)
  /// Combinations left out of training. Empty: default_held_out(components, directions).
  std::vector<PromptCombination> held_out{};

  /// Throws iterop::invalid_option naming the field, the value and the rule: unknown or repeated
  /// components or directions, a held-out combination of unknown words, a held-out set that leaves a
  /// component or a direction without any seen combination (it could not be learned), bad numbers.
  void validate() const;

  /// held_out, or default_held_out() when it is empty.
  std::vector<PromptCombination> held_out_combinations() const;
  /// Every combination not held out, component-major.
  std::vector<PromptCombination> seen_combinations() const;
  /// Whether `c` is held out.
  bool is_held_out(const PromptCombination& c) const;
};

/// The words the data set knows: components and directions.
std::vector<std::string> known_components();
std::vector<std::string> known_directions();

/// "generate {component} shifted {direction}".
std::string conditional_prompt(const PromptCombination& c);

/// Reads a prompt of the form "generate C shifted D" (case and surrounding white space ignored);
/// throws iterop::invalid_option naming the prompt and the rule otherwise, or for an unknown word.
PromptCombination parse_conditional_prompt(std::string_view prompt);

/// The default held-out set: combination (components[i], directions[i mod #directions]) for each i,
/// one per component, spread over the directions (with 5 x 4 words: 5 held out, 15 seen; every word
/// keeps at least 3 seen combinations).
std::vector<PromptCombination> default_held_out(const std::vector<std::string>& components,
                                                const std::vector<std::string>& directions);

/// The translation of `direction` with length `shift` as (dx, dy).
std::pair<double, double> direction_offset(std::string_view direction, double shift);

/// `n` points of the target of `c`, seeded (std::mt19937_64 through sample_dataset).
distributions::SampleSet sample_conditional_target(const ConditionalFlowTask& task, const PromptCombination& c,
                                                   std::size_t n, std::uint64_t seed);

/// A training set: `per_prompt` target points of every seen combination, with the prompt of each row.
struct ConditionalTrainingSet {
  distributions::SampleSet target;   ///< rows = per_prompt * #seen, dim 2
  std::vector<std::string> prompts;  ///< one per row
  std::vector<std::string> seen;     ///< the prompts of the seen combinations
  std::vector<std::string> held_out; ///< the prompts of the held-out combinations (no rows)
};

/// Builds the training set (combination k uses seed + 7919 k). Validates the task first.
ConditionalTrainingSet make_conditional_training_set(const ConditionalFlowTask& task, std::size_t per_prompt,
                                                     std::uint64_t seed);

}  // namespace iterop::experiments
