// The one list of built-in studies, in registration order: `iterop run --list` shows them in this
// order, the first is the default experiment, and those marked in_suite form `iterop run`'s suite.
// Adding a study: one line here (see src/experiments/README.md).
#include "iterop/experiments/runner/builtin_experiment_files.hpp"
#include "iterop/experiments/runner/experiment_file.hpp"
#include "iterop/experiments/runner/experiment_registry.hpp"
#include "iterop/experiments/studies/theory_checks.hpp"
#include "iterop/experiments/studies/volterra_bench.hpp"
#if defined(ITEROP_HAVE_OPERATORS)  // the neural studies exist only in a build with LibTorch
#include "iterop/experiments/studies/denoiser.hpp"
#include "iterop/experiments/studies/flow.hpp"
#include "iterop/experiments/studies/pign.hpp"
#include "iterop/experiments/studies/recycling.hpp"
#endif

namespace iterop::experiments {

namespace {

/// An experiment file compiled into iterop, registered by its name and run like `iterop run FILE`.
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

}  // namespace

std::vector<Experiment> builtin_studies() {
  std::vector<Experiment> list;
  for (const auto& builtin : builtin_experiment_files()) list.push_back(file_experiment(builtin));  // fixed-point, volterra
  list.push_back(volterra_bench_experiment());
  list.push_back(theory_checks_experiment());
#if defined(ITEROP_HAVE_OPERATORS)
  list.push_back(pign_sbm_experiment());
  list.push_back(pign_cora_experiment());
  list.push_back(pign_search_experiment());
  for (auto& e : denoiser_experiments()) list.push_back(std::move(e));
  for (auto& e : flow_experiments()) list.push_back(std::move(e));
  list.push_back(recycling_experiment());
#endif
  return list;
}

}  // namespace iterop::experiments
