// Experiment registry: registration checks, look-up, and the list of built-in experiments.
#include "iterop/experiments/experiment_registry.hpp"

#include <algorithm>

#include "iterop/core/errors.hpp"
#include "iterop/experiments/builtin_experiment_files.hpp"
#include "iterop/experiments/experiment_file.hpp"
#if defined(ITEROP_HAVE_OPERATORS)
#include "iterop/experiments/studies/pign.hpp"
#include "iterop/experiments/studies/denoiser.hpp"
#include "iterop/experiments/studies/flow.hpp"
#endif
#include "iterop/experiments/theory_checks_experiment.hpp"
#include "iterop/experiments/volterra_bench.hpp"

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

Experiment file_experiment(const BuiltinExperimentFile& builtin) {
  const std::string text(builtin.text);
  const std::filesystem::path path(builtin.path);
  const ExperimentFile file = load_experiment_text(text, path);  // a broken built-in file fails every test at once
  Experiment e;
  e.name = file.name;
  e.description = file.description;
  e.run = [text, path](const ExperimentContext& context) {
    return run_experiment_file(load_experiment_text(text, path, context.seed), context);
  };
  return e;
}

void register_builtin_experiments(ExperimentRegistry& registry) {
  for (const auto& builtin : builtin_experiment_files()) registry.add(file_experiment(builtin));
  registry.add(volterra_bench_experiment());
  registry.add(theory_checks_experiment());
#if defined(ITEROP_HAVE_OPERATORS)
  registry.add(pign_sbm_experiment());   // a few seconds; not in the suite yet
  registry.add(pign_cora_experiment());  // not in the suite (minutes)
  registry.add(pign_search_experiment());  // not in the suite (SBM: about a minute; Cora: --data, many minutes)
  for (auto& e : denoiser_experiments()) registry.add(std::move(e));  // denoiser-2d-quick in the suite
  for (auto& e : flow_experiments()) registry.add(std::move(e));  // flow-quick in the suite (seconds), the others minutes
#endif
}

ExperimentRegistry& default_experiment_registry() {
  static ExperimentRegistry registry = [] {
    ExperimentRegistry r;
    register_builtin_experiments(r);
    return r;
  }();
  return registry;
}

}  // namespace iterop::experiments
