// Experiment registry: registration checks and look-up; the built-in studies come from studies/study_list.cpp.
#include "iterop/experiments/runner/experiment_registry.hpp"

#include <algorithm>

#include "iterop/core/errors.hpp"

namespace iterop::experiments {

void ExperimentRegistry::add(Experiment experiment) {
  require(!experiment.name.empty(), "Experiment::name", std::string("\"\""), "a non-empty name");
  require(find(experiment.name) == nullptr, "Experiment::name", experiment.name, "a name not yet registered");
  require(static_cast<bool>(experiment.run), "Experiment::run", experiment.name, "a function to run");
  experiments_.push_back(std::move(experiment));
}

const Experiment* ExperimentRegistry::find(std::string_view name) const {
  auto it = std::find_if(experiments_.begin(), experiments_.end(), [&](const Experiment& e) { return e.name == name; });
  return it == experiments_.end() ? nullptr : &*it;
}

std::string ExperimentRegistry::names() const {
  std::string s;
  for (const auto& e : experiments_) s += (s.empty() ? "" : ", ") + e.name;
  return s;
}

const Experiment& ExperimentRegistry::default_experiment() const {
  require(!experiments_.empty(), "ExperimentRegistry", std::string("empty"), "at least one experiment registered");
  return experiments_.front();
}

std::vector<const Experiment*> ExperimentRegistry::suite() const {
  std::vector<const Experiment*> members;
  for (const auto& e : experiments_)
    if (e.in_suite) members.push_back(&e);
  return members;
}

ExperimentRegistry& default_experiment_registry() {
  static ExperimentRegistry registry = [] {
    ExperimentRegistry r;
    for (auto& e : builtin_studies()) r.add(std::move(e));
    return r;
  }();
  return registry;
}

}  // namespace iterop::experiments
