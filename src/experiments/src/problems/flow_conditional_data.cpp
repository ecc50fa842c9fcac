// The conditional flow data set: prompts "generate {component} shifted {direction}", targets composed
// from the words (a 2-D shape translated along a direction), a held-out set of combinations.
#include "iterop/experiments/problems/flow_conditional_data.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <sstream>

#include "iterop/core/errors.hpp"
#include "iterop/distributions/flow_datasets.hpp"
#include "iterop/experiments/runner/table.hpp"

namespace iterop::experiments {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::vector<std::string> known_components() { return {"moons", "8gaussians", "checkerboard", "spirals", "blob"}; }
std::vector<std::string> known_directions() { return {"left", "right", "up", "down"}; }

std::string conditional_prompt(const PromptCombination& c) {
  return "generate " + c.component + " shifted " + c.direction;
}

PromptCombination parse_conditional_prompt(std::string_view prompt) {
  std::istringstream in{lower(prompt)};
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  const std::string text(prompt);
  require(words.size() == 4 && words[0] == "generate" && words[2] == "shifted", "prompt", "\"" + text + "\"",
          "the form \"generate {component} shifted {direction}\"");
  require(contains(known_components(), words[1]), "prompt component", words[1],
          "one of " + join(known_components()));
  require(contains(known_directions(), words[3]), "prompt direction", words[3], "one of " + join(known_directions()));
  return {words[1], words[3]};
}

std::vector<PromptCombination> default_held_out(const std::vector<std::string>& components,
                                                const std::vector<std::string>& directions) {
  std::vector<PromptCombination> out;
  if (directions.empty()) return out;
  for (std::size_t i = 0; i < components.size(); ++i) out.push_back({components[i], directions[i % directions.size()]});
  return out;
}

std::pair<double, double> direction_offset(std::string_view direction, double shift) {
  if (direction == "left") return {-shift, 0.0};
  if (direction == "right") return {shift, 0.0};
  if (direction == "up") return {0.0, shift};
  if (direction == "down") return {0.0, -shift};
  require(false, "direction", std::string(direction), "one of " + join(known_directions()));
  return {0.0, 0.0};
}

void ConditionalFlowTask::validate() const {
  require(!components.empty(), "ConditionalFlowTask::components", std::string("[]"), "at least one component");
  require(!directions.empty(), "ConditionalFlowTask::directions", std::string("[]"), "at least one direction");
  for (std::size_t i = 0; i < components.size(); ++i) {
    require(contains(known_components(), components[i]), "ConditionalFlowTask::components", components[i],
            "one of " + join(known_components()));
    require(std::count(components.begin(), components.end(), components[i]) == 1, "ConditionalFlowTask::components",
            components[i], "each component at most once");
  }
  for (const auto& d : directions) {
    require(contains(known_directions(), d), "ConditionalFlowTask::directions", d, "one of " + join(known_directions()));
    require(std::count(directions.begin(), directions.end(), d) == 1, "ConditionalFlowTask::directions", d,
            "each direction at most once");
  }
  require(std::isfinite(shift) && shift > 0, "ConditionalFlowTask::shift", shift, "0 < shift < infinity");
  require(std::isfinite(blob_std) && blob_std > 0, "ConditionalFlowTask::blob_std", blob_std,
          "0 < blob_std < infinity");
  for (const auto& h : held_out) {
    require(contains(components, h.component), "ConditionalFlowTask::held_out component", h.component,
            "one of the task's components (" + join(components) + ")");
    require(contains(directions, h.direction), "ConditionalFlowTask::held_out direction", h.direction,
            "one of the task's directions (" + join(directions) + ")");
  }
  const auto seen = seen_combinations();
  for (const auto& c : components)
    require(std::any_of(seen.begin(), seen.end(), [&](const PromptCombination& s) { return s.component == c; }),
            "ConditionalFlowTask::held_out", "every combination with component " + c,
            "each component keeps at least one seen combination");
  for (const auto& d : directions)
    require(std::any_of(seen.begin(), seen.end(), [&](const PromptCombination& s) { return s.direction == d; }),
            "ConditionalFlowTask::held_out", "every combination with direction " + d,
            "each direction keeps at least one seen combination");
}

std::vector<PromptCombination> ConditionalFlowTask::held_out_combinations() const {
  return held_out.empty() ? default_held_out(components, directions) : held_out;
}

bool ConditionalFlowTask::is_held_out(const PromptCombination& c) const {
  const auto h = held_out_combinations();
  return std::find(h.begin(), h.end(), c) != h.end();
}

std::vector<PromptCombination> ConditionalFlowTask::seen_combinations() const {
  std::vector<PromptCombination> out;
  for (const auto& c : components)
    for (const auto& d : directions)
      if (!is_held_out({c, d})) out.push_back({c, d});
  return out;
}

distributions::SampleSet sample_conditional_target(const ConditionalFlowTask& task, const PromptCombination& c,
                                                   std::size_t n, std::uint64_t seed) {
  require(n >= 1, "sample_conditional_target n", n, "n >= 1");
  require(contains(known_components(), c.component), "component", c.component, "one of " + join(known_components()));
  const auto [dx, dy] = direction_offset(c.direction, task.shift);
  distributions::SampleSet s;
  if (c.component == "blob") {
    s = distributions::sample_dataset("normal", n, 2, seed);
    for (double& v : s.values) v *= task.blob_std;
  } else {
    s = distributions::sample_dataset(c.component, n, 2, seed);
  }
  for (std::size_t i = 0; i < s.rows; ++i) {
    s(i, 0) += dx;
    s(i, 1) += dy;
  }
  return s;
}

ConditionalTrainingSet make_conditional_training_set(const ConditionalFlowTask& task, std::size_t per_prompt,
                                                     std::uint64_t seed) {
  task.validate();
  require(per_prompt >= 1, "make_conditional_training_set per_prompt", per_prompt, "per_prompt >= 1");
  ConditionalTrainingSet out;
  const auto seen = task.seen_combinations();
  out.target = distributions::SampleSet(per_prompt * seen.size(), 2);
  for (std::size_t k = 0; k < seen.size(); ++k) {
    const auto s = sample_conditional_target(task, seen[k], per_prompt, seed + 7919 * static_cast<std::uint64_t>(k));
    std::copy(s.values.begin(), s.values.end(), out.target.values.begin() + static_cast<std::ptrdiff_t>(k * per_prompt * 2));
    const std::string p = conditional_prompt(seen[k]);
    out.prompts.insert(out.prompts.end(), per_prompt, p);
    out.seen.push_back(p);
  }
  for (const auto& h : task.held_out_combinations()) out.held_out.push_back(conditional_prompt(h));
  return out;
}

}  // namespace iterop::experiments
