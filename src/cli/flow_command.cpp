// `iterop train flow` and `iterop sample flow`: option checks before any work, training pools drawn
// from iterop::distributions, CaLMFlow (checkpoints, resume) or CFM training with progress on stderr,
// the model file plus a JSON description beside it, generation by every sampler, CSV and distances.
#include "flow_command.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include "data_parallel_launch.hpp"
#include "iterop/distributions/flow_datasets.hpp"
#include "iterop/distributions/points_csv.hpp"
#include "iterop/distributions/sample_distances.hpp"
#include "iterop/experiments/problems/flow_ode_sampling.hpp"
#include "iterop/experiments/problems/sample_quality_record.hpp"
#include "iterop/experiments/runner/atomic_file.hpp"
#include "iterop/experiments/runner/report_writer.hpp"
#include "iterop/experiments/runner/run_time.hpp"
#include "iterop/experiments/studies/flow.hpp"
#include "iterop/operators/calmflow.hpp"
#include "iterop/operators/conditional_flow_matching.hpp"
#include "iterop/operators/data_parallel.hpp"

namespace iterop::cli {

namespace {

namespace op = operators;
namespace dist = distributions;
namespace ex = experiments;
using json = nlohmann::json;

constexpr const char* description_format = "iterop-flow-model 1";

/// The most euler/rk4 steps of `sample flow`: the limit of experiment files' step counts (2^20), so that
/// no command line starts a run of years (each step evaluates the network on every point).
constexpr long long max_ode_steps = 1LL << 20;

/// Checks the shape of a model description before any field is read, so that a description of the
/// wrong shape ([1,2,3], "dim": "two") is one usage error naming the file and the field.
void require_description_shape(const json& desc, const std::string& model, const std::string& file) {
  const auto field = [&](bool ok, const std::string& rule) {
    require_usage(ok, "--model", model, "a description " + file + " with " + rule);
  };
  field(desc.is_object(), std::string("a JSON object of format ") + description_format);
  field(desc.contains("format") && desc["format"].is_string() && desc["format"] == description_format,
        std::string("\"format\": \"") + description_format + "\"");
  field(desc.contains("model") && desc["model"].is_string() &&
            (desc["model"] == "calmflow" || desc["model"] == "icfm" || desc["model"] == "otcfm"),
        "\"model\": one of \"calmflow\", \"icfm\", \"otcfm\"");
  field(desc.contains("dim") && desc["dim"].is_number_integer() && desc["dim"].get<long long>() >= 1 &&
            desc["dim"].get<long long>() <= 100000,
        "\"dim\": an integer in [1, 100000]");
  field(desc.contains("source") && desc["source"].is_string(), "\"source\": a string");
  for (const char* key : {"source_kind", "source_file"})
    field(!desc.contains(key) || desc[key].is_string(), std::string("\"") + key + "\": a string when present");
}

/// How many values of a sample are NaN or Inf.
std::size_t non_finite_values(const dist::SampleSet& points) {
  return static_cast<std::size_t>(
      std::count_if(points.values.begin(), points.values.end(), [](double v) { return !std::isfinite(v); }));
}


std::string dataset_list() {
  std::string s;
  for (const auto& n : dist::dataset_names()) s += (s.empty() ? "" : ", ") + n;
  return s;
}

/// Checks a data set name and that it accepts dimension `dim`. `dim_from` says where the dimension
/// came from when not from --dim ("the model's dimension", "the points of --source a.csv").
void require_dataset(const char* option, const std::string& name, long long dim, const std::string& dim_from = "") {
  for (const auto& info : dist::dataset_catalogue()) {
    if (info.name != name) continue;
    if (dim_from.empty())
      require_usage(info.any_dimension || dim == 2, "--dim", std::to_string(dim),
                    "2 for the 2-D data set " + name + " (given by " + option + ")");
    else
      require_usage(info.any_dimension || dim == 2, option, name,
                    fmt::format("a data set of dimension {} ({}); {} is 2-D only", dim, dim_from, name));
    return;
  }
  require_usage(false, option, name, "one of " + dataset_list() + ", or a points file FILE.csv");
}

/// The rule for --source / --target values: a value ending in ".csv" is a points file, anything else
/// names a built-in data set.
bool is_points_file(std::string_view value) { return value.ends_with(".csv"); }

/// CLI11 check of a --source / --target value: a built-in data set name or a points file FILE.csv
/// (the file itself is read, with line-numbered errors, before any work).
CLI::Validator dataset_or_points_file() {
  return CLI::Validator(
      [names = dist::dataset_names()](std::string& text) {
        if (is_points_file(text) || std::find(names.begin(), names.end(), text) != names.end()) return std::string();
        return "= " + text + ". Violated constraint: one of " + join(names) + ", or a points file FILE.csv.";
      },
      "", "dataset_or_points_file");
}

/// The points of the file given to `option`; a bad file is one usage error "<option> <file> line <n>: <reason>".
dist::SampleSet read_points_option(const char* option, const std::string& file) {
  try {
    return dist::read_points_csv(file);
  } catch (const dist::points_file_error& e) {
    throw usage_error{std::string(option) + " " + e.what()};
  }
}

/// Requires the points of a file to have dimension `dim`; `dim_from` says where `dim` came from.
void require_points_dim(const char* option, const std::string& file, const dist::SampleSet& points, long long dim,
                        const std::string& dim_from) {
  require_usage(static_cast<long long>(points.dim) == dim, option, file,
                fmt::format("points of dimension {} ({}); its rows have {} values", dim, dim_from, points.dim));
}

std::string description_path(const std::string& model) { return model + ".json"; }

std::string seconds_text(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  if (s < 60) return fmt::format("{:.0f} s", s);
  if (s < 3600) return fmt::format("{:.0f} min {:.0f} s", std::floor(s / 60), std::fmod(s, 60));
  return fmt::format("{:.1f} h", s / 3600);
}

}  // namespace

FlowCommand::FlowCommand(CLI::App& app) {
  const auto positive = [](double v) { return v > 0; };
  CLI::App* train = app.get_subcommand("train");
  train_flow_ = train->add_subcommand("flow", "Train CaLMFlow, I-CFM or OT-CFM to carry one data set to another, and save it");
  auto* t = train_flow_;
  // CaLMFlow's defaults are the library's (shown by --help), not a second copy.
  const op::CalmFlowOptions calmflow_defaults;
  head_ = calmflow_defaults.head;
  paths_ = calmflow_defaults.paths;
  path_sigma_ = calmflow_defaults.path_sigma;
  increment_ = calmflow_defaults.increment;
  head_reads_state_ = calmflow_defaults.head_reads_state;
  t->add_option("--arch", arch_, "Kind of model: calmflow, icfm or otcfm")
      ->check(one_of({"calmflow", "icfm", "otcfm"}))
      ->type_name("KIND")
      ->capture_default_str();
  t->add_option("--source", source_,
                "Source points: a built-in data set (" + dataset_list() +
                    ") or a points file (a value ending in .csv: one point per row, see below)")
      ->check(dataset_or_points_file())
      ->type_name("NAME|FILE")
      ->capture_default_str();
  t->add_option("--target", target_, "Target points: a built-in data set or a points file FILE.csv")
      ->check(dataset_or_points_file())
      ->type_name("NAME|FILE")
      ->capture_default_str();
  t->add_option("--dim", dim_, "Dimension (the 2-D sets need 2; with a points file: the file's, which --dim must equal)")
      ->transform(integer_in("dim", 1, 100000))
      ->type_name("D")
      ->capture_default_str();
  t->add_option("--steps", steps_, "Adam steps (optimizer steps)")
      ->transform(integer_in("steps", 0, 100000000))
      ->type_name("N")
      ->capture_default_str();
  add_seed_option(*t, seed_, "initialisation, minibatches and the training pools");
  t->add_option("--model", model_file_, "Model file to write; FILE.json beside it describes the model")
      ->check(CLI::Validator(
          [](std::string& text) {
            if (text == "calmflow" || text == "icfm" || text == "otcfm")
              return "= " + text + ". Violated constraint: a model file; the kind of model is --arch " + text + ".";
            return std::string();
          },
          "", "not_a_kind"))
      ->check(file_in_existing_folder())
      ->type_name("FILE")
      ->capture_default_str();
  t->add_option("--pool", pool_, "Training pools: this many points of each built-in data set (a file's pool is its rows)")
      ->transform(integer_in("pool", 1, 100000000))
      ->type_name("N")
      ->capture_default_str();
  t->add_option("--batch", batch_, "Trajectories (CaLMFlow) or pairs (CFM) per step")
      ->transform(integer_in("batch", 1, 1000000))
      ->type_name("B")
      ->capture_default_str();
  t->add_option("--lr", lr_, "Adam learning rate")->check(number_where(positive, "lr > 0"))->type_name("LR")->capture_default_str();
  width_option_ = t->add_option("--width", width_, "CaLMFlow d_model (default 64) or CFM hidden width (default 256)")
                      ->transform(integer_in("width", 1, 65536))
                      ->type_name("W");
  t->add_option("--layers", layers_, "CaLMFlow transformer blocks")->transform(integer_in("layers", 1, 1000))->type_name("L")->capture_default_str();
  t->add_option("--heads", heads_, "CaLMFlow attention heads")->transform(integer_in("heads", 1, 1000))->type_name("H")->capture_default_str();
  t->add_option("--feedforward", feedforward_, "CaLMFlow feed-forward width")
      ->transform(integer_in("feedforward", 1, 1000000))
      ->type_name("F")
      ->capture_default_str();
  t->add_option("--time-points", time_points_, "CaLMFlow time points N")
      ->transform(integer_in("time-points", 2, 100000))
      ->type_name("N")
      ->capture_default_str();
  t->add_option("--trajectories", trajectories_, "CaLMFlow trajectories per sequence M")
      ->transform(integer_in("trajectories", 1, 100000))
      ->type_name("M")
      ->capture_default_str();
  t->add_option("--spatial-tokens", spatial_tokens_, "CaLMFlow tokens per state K")
      ->transform(integer_in("spatial-tokens", 1, 100000))
      ->type_name("K")
      ->capture_default_str();
  t->add_option("--beta", beta_, "CaLMFlow KL weight")
      ->check(number_where([](double v) { return v >= 0; }, "beta >= 0"))
      ->type_name("B")
      ->capture_default_str();
  t->add_option("--preset", preset_, "CaLMFlow settings to start from: default or paper-2d (the authors' 2-D script); "
                                     "options given explicitly override them")
      ->check(one_of(op::calmflow_preset_names()))
      ->type_name("NAME")
      ->capture_default_str();
  t->add_option("--head", head_, "CaLMFlow head: flow, gaussian, variational (the paper's) or deterministic")
      ->check(one_of({"flow", "gaussian", "variational", "deterministic"}))
      ->type_name("HEAD")
      ->capture_default_str();
  t->add_option("--paths", paths_, "CaLMFlow training paths: straight, noisy, bridge or variance-exploding")
      ->check(one_of({"straight", "noisy", "bridge", "variance-exploding"}))
      ->type_name("PATHS")
      ->capture_default_str();
  t->add_option("--path-sigma", path_sigma_, "Noise of noisy / bridge paths")
      ->check(number_where([](double v) { return v >= 0; }, "path-sigma >= 0"))
      ->type_name("S")
      ->capture_default_str();
  t->add_flag("--increment,!--no-increment", increment_, "CaLMFlow head models the increment z(t_{i+1}) - z(t_i)")
      ->capture_default_str();
  t->add_flag("--head-reads-state,!--no-head-reads-state", head_reads_state_,
              "CaLMFlow's gaussian / flow head also reads z(t_i) and z(t_0) (a skip past the K w token summaries; "
              "for high dimension)")
      ->capture_default_str();
  add_renamed_option(*t, "--deterministic", "--head deterministic", true);
  t->add_option("--depth", depth_, "CFM hidden layers")->transform(integer_in("depth", 1, 1000))->type_name("D")->capture_default_str();
  t->add_option("--activation", activation_, "CFM activation: relu, selu, silu, gelu, tanh, elu")
      ->check(one_of({"relu", "selu", "silu", "gelu", "tanh", "elu"}))
      ->type_name("A")
      ->capture_default_str();
  t->add_option("--checkpoint", checkpoint_, "CaLMFlow checkpoint file, written atomically (see --checkpoint-every)")
      ->check(file_in_existing_folder())
      ->type_name("FILE");
  checkpoint_every_option_ = t->add_option("--checkpoint-every", checkpoint_every_, "Write the checkpoint every k steps (0: at the end only)")
                                 ->transform(integer_in("checkpoint-every", 0, 100000000))
                                 ->type_name("K")
                                 ->capture_default_str();
  t->add_option("--resume", resume_, "Resume CaLMFlow training exactly from this checkpoint")
      ->check(existing_file())
      ->type_name("FILE");
  progress_every_option_ = t->add_option("--progress-every", progress_every_, "A progress line every k steps (default: steps / 10)")
                               ->transform(integer_in("progress-every", 1, 100000000))
                               ->type_name("K");
  t->add_option("--device", device_, "torch device: cpu, cuda, cuda:1, ...")->type_name("DEV")->capture_default_str();
  add_format_option(*t, format_, {"table", "json"});
  t->add_option("--ranks", ranks_, "Data-parallel training on N local processes (Gloo; each computes batch / N rows of "
                                   "every batch; rank 0 writes the model and checkpoints); under mpirun the ranks come from it")
      ->transform(integer_in("ranks", 1, 256))
      ->type_name("N");
  add_renamed_option(*t, "--out", "--model FILE (--out is a report folder)");
  t->footer(
      "Both kinds train from the same pools (seeded by --seed) for --steps steps of --batch trajectories (CaLMFlow:\n"
      "paths on N time points, teacher forcing) or pairs (CFM: independent or exact minibatch OT pairing).\n"
      "Your own data: a --source or --target value ending in .csv is a points file: one point per row, D\n"
      "comma-separated numbers, an optional header line (e.g. x1,x2 as iterop sample flow --csv writes), blank\n"
      "lines ignored, every value finite. Its rows are the pool (--pool applies to a data set side only, and is\n"
      "refused with two files); D is the file's (--dim, if given, must agree; source and target must agree). A\n"
      "bad file is one line naming the file, the line and the reason (exit 2), before any training.\n"
      "Renamed: the kind of model is --arch (formerly --model KIND), the model file is --model FILE (formerly --out).\n"
      "Progress goes to stderr. A non-finite loss exits 3 (the last finite weights are saved).\n" +
      exit_status_text());

  sample_ = app.add_subcommand("sample", "Generate from a trained model (see: iterop sample flow --help)");
  sample_->require_subcommand(1);
  sample_flow_ = sample_->add_subcommand("flow", "Generate points from a model saved by iterop train flow");
  auto* s = sample_flow_;
  s->add_option("--model", s_model_, "Model file written by iterop train flow (FILE.json must be beside it)")
      ->check(existing_file())
      ->type_name("FILE")
      ->required();
  s->add_option("--n", s_n_, "Number of points")->transform(integer_in("n", 1, 10000000))->type_name("N")->capture_default_str();
  s->add_option("--temperature", s_temperature_,
                "CaLMFlow sampling temperature tau >= 0 (default: the head's, 0.5 for variational, 1 otherwise)")
      ->check(number_where([](double v) { return v >= 0; }, "temperature >= 0"))
      ->type_name("T");
  add_seed_option(*s, s_seed_, "the source points and the sampling noise");
  s->add_option("--method", s_method_,
                "CaLMFlow: sequential (default; key/value cache), picard, anderson (parallel in time). CFM: euler "
                "(default), rk4, dopri5, cvode (= cvode_adams), cvode_bdf, cvode_adams")
      ->check(one_of({"sequential", "picard", "anderson", "euler", "rk4", "dopri5", "cvode", "cvode_bdf", "cvode_adams"}))
      ->type_name("METHOD");
  s->add_option("--ode-steps", s_ode_steps_, "euler/rk4 steps, at most 1048576 (the experiment files' limit)")
      ->transform(integer_in("ode-steps", 1, max_ode_steps))
      ->type_name("N")
      ->capture_default_str();
  s->add_option("--rtol", s_rtol_, "dopri5/cvode relative tolerance")
      ->check(number_where([](double v) { return v > 0 && v < 1; }, "0 < rtol < 1"))
      ->type_name("TOL")
      ->capture_default_str();
  s->add_option("--atol", s_atol_, "dopri5/cvode absolute tolerance")
      ->check(number_where(positive, "atol > 0"))
      ->type_name("TOL")
      ->capture_default_str();
  s->add_option("--tol", s_tol_, "picard/anderson: tolerance on the distance to the sequential sample")
      ->check(number_where(positive, "tol > 0"))
      ->type_name("TOL")
      ->capture_default_str();
  s->add_option("--csv", s_csv_, "Write the points as CSV (header x1,...,xD) to FILE")
      ->check(file_in_existing_folder())
      ->type_name("FILE");
  s->add_option("--target", s_target_,
                "Compare with this data set or points file FILE.csv: exact W2, MMD², energy distance (see below)")
      ->check(dataset_or_points_file())
      ->type_name("NAME|FILE");
  s->add_option("--source", s_source_,
                "Source data set or points file FILE.csv (default: the model's training source)")
      ->check(dataset_or_points_file())
      ->type_name("NAME|FILE");
  s->add_option("--gamma", s_gamma_, "RBF MMD gamma")->check(number_where(positive, "gamma > 0"))->type_name("G")->capture_default_str();
  s->add_option("--prompt", s_prompt_, "Prompt of a prompt-conditioned CaLMFlow")->type_name("TEXT");
  add_format_option(*s, s_format_, {"table", "json"});
  add_renamed_option(*s, "--steps", "--ode-steps N (--steps counts optimizer steps)");
  add_renamed_option(*s, "--out", "--csv FILE (--out is a report folder)");
  s->footer(
      "Source points: sample_dataset(source, n, dim, 1000003 seed + 13); the target sample for the distances:\n"
      "sample_dataset(target, n, dim, 1000003 seed + 14). A source points file (FILE.csv given to --source, or\n"
      "the file the model was trained from, read again from where it was then): n of its rows drawn uniformly\n"
      "with replacement, seeded by --seed. A target points file: all its rows when it has at most n, else n\n"
      "distinct rows drawn by --seed; the distances then compare the first m = min(n, rows) generated points\n"
      "with those m rows (exact W2 needs equal sizes). Renamed: --ode-steps (formerly --steps), --csv FILE\n"
      "(formerly --out FILE). Exit 1: the sampler did not finish (picard/anderson: not within --tol of the\n"
      "sequential sample; ODE: t = 1 not reached; status printed, points and distances still written).\n" +
      exit_status_text());
}

int FlowCommand::execute(std::ostream& out, std::ostream& progress) const {
  return train_flow_->parsed() ? train(out, progress) : sample(out, progress);
}

int FlowCommand::train(std::ostream& out, std::ostream& progress_rank0) const {
  // CLI11 has checked each option; the combinations are checked here, before any work.
  const std::string& arch = arch_;
  const bool calm = arch_ == "calmflow";
  const auto t_count = [&](const char* name) { return train_flow_->count(name) > 0; };
  const std::size_t pool = pool_;
  // Points files: read (a bad one is a usage error naming the file and the line), then D is the file's.
  const bool source_file = is_points_file(source_), target_file = is_points_file(target_);
  const dist::SampleSet source_points = source_file ? read_points_option("--source", source_) : dist::SampleSet();
  const dist::SampleSet target_points = target_file ? read_points_option("--target", target_) : dist::SampleSet();
  long long dim = dim_;
  std::string dim_from;  // where D came from, when from a file
  if (source_file || target_file) {
    const dist::SampleSet& first = source_file ? source_points : target_points;
    dim_from = std::string("the points of ") + (source_file ? "--source " + source_ : "--target " + target_);
    require_usage(!t_count("--dim") || dim_ == static_cast<long long>(first.dim), "--dim", std::to_string(dim_),
                  fmt::format("{} ({}), or leave --dim out", first.dim, dim_from));
    dim = static_cast<long long>(first.dim);
    if (source_file && target_file) {
      require_points_dim("--target", target_, target_points, dim, dim_from);
      require_usage(!t_count("--pool"), "--pool", std::to_string(pool_),
                    "not with two points files (the pools are the files' rows)");
    }
  }
  if (!source_file) require_dataset("--source", source_, dim, dim_from);
  if (!target_file) require_dataset("--target", target_, dim, dim_from);
  const int steps = steps_;
  require_usage(calm || steps >= 1, "--steps", std::to_string(steps), "steps >= 1 for --arch " + arch_);
  const std::uint64_t seed = seed_;
  const int batch = batch_;
  const double lr = lr_;
  const int width = width_option_->count() > 0 ? width_ : (calm ? 64 : 256);
  const int progress_every = progress_every_option_->count() > 0 ? progress_every_ : std::max(1, steps / 10);
  const std::string& model_file = model_file_;
  if (!calm) {
    for (const auto& [flag, value, given] :
         {std::tuple<const char*, std::string, bool>{"--checkpoint", checkpoint_, !checkpoint_.empty()},
          {"--resume", resume_, !resume_.empty()},
          {"--checkpoint-every", std::to_string(checkpoint_every_), checkpoint_every_option_->count() > 0},
          {"--preset", preset_, t_count("--preset")},
          {"--head", head_, t_count("--head")},
          {"--paths", paths_, t_count("--paths")},
          {"--path-sigma", std::to_string(path_sigma_), t_count("--path-sigma")}})
      require_usage(!given, flag, value, "only with --arch calmflow");
  }

  op::CalmFlowOptions co;
  op::CfmOptions fo;
  op::CalmFlowTrainOptions to;
  if (calm) {
    // The preset is the base; an option given on the command line (or a preset-less default) overrides it.
    co = op::calmflow_preset(preset_);
    const bool preset = preset_ != "default";
    auto set = [&](const char* name, auto& field, const auto& value) {
      if (!preset || t_count(name)) field = value;
    };
    co.dim = static_cast<int>(dim);
    co.seed = seed;
    set("--steps", co.steps, steps);
    set("--batch", co.batch, batch);
    set("--lr", co.lr, lr);
    set("--width", co.width, width);
    if (preset && co.head_width > 0 && !t_count("--width")) co.head_width = co.width;
    set("--layers", co.layers, layers_);
    set("--heads", co.heads, heads_);
    set("--feedforward", co.feedforward, feedforward_);
    set("--time-points", co.time_points, time_points_);
    set("--trajectories", co.trajectories, trajectories_);
    set("--spatial-tokens", co.spatial_tokens, spatial_tokens_);
    set("--beta", co.beta, beta_);
    set("--head", co.head, head_);
    set("--paths", co.paths, paths_);
    set("--path-sigma", co.path_sigma, path_sigma_);
    set("--increment", co.increment, increment_);
    set("--head-reads-state", co.head_reads_state, head_reads_state_);
    co.device = device_;
    require_usage(co.batch >= co.trajectories && co.batch % co.trajectories == 0, "--batch", std::to_string(co.batch),
                  "a multiple of --trajectories (" + std::to_string(co.trajectories) + ")");
    require_usage(co.width % co.heads == 0, "--width", std::to_string(co.width),
                  "a multiple of --heads (" + std::to_string(co.heads) + ")");
    co.validate();  // anything left (e.g. rotary needs an even head width) names the field
    to.checkpoint_path = checkpoint_;
    to.checkpoint_every = checkpoint_every_;
    require_usage(to.checkpoint_every == 0 || !checkpoint_.empty(), "--checkpoint-every", std::to_string(checkpoint_every_),
                  "only with --checkpoint FILE");
    to.resume_from = resume_;
    to.progress_every = progress_every_option_->count() > 0 ? progress_every_ : std::max(1, co.steps / 10);
  } else {
    fo.dim = static_cast<int>(dim);
    fo.steps = steps;
    fo.seed = seed;
    fo.batch = batch;
    fo.lr = lr;
    fo.width = width;
    fo.depth = depth_;
    fo.activation = activation_;
    fo.device = device_;
    for (const auto& [option, value, points] : {std::tuple<const char*, const std::string&, const dist::SampleSet&>{
                                                     "--source", source_, source_points},
                                                 {"--target", target_, target_points}})
      require_usage(static_cast<std::size_t>(batch) <= (points.rows > 0 ? points.rows : pool), "--batch",
                    std::to_string(batch),
                    (points.rows > 0 ? fmt::format("at most the {} rows of {} {}", points.rows, option, value)
                                     : fmt::format("at most --pool ({})", pool)) +
                        ": a CFM minibatch draws distinct pool rows");
    fo.coupling = arch_ == "otcfm" ? op::CfmCoupling::optimal_transport : op::CfmCoupling::independent;
    fo.validate();
  }

  // Before any work: the files to write can be written (a folder or an unwritable place is exit 2 now,
  // not a failure after training), and the pools fit in memory.
  require_writable_file("--model", model_file);
  if (!checkpoint_.empty()) require_writable_file("--checkpoint", checkpoint_);
  require_memory("--pool", std::to_string(pool),
                 8.0 * static_cast<double>(dim) * static_cast<double>(pool) * ((source_file ? 0 : 1) + (target_file ? 0 : 1)),
                 fmt::format("the training pools ({} points of dimension {} per data set)", pool, dim));

  // A points file's rows, or the same pools (and seeds) as the flow experiments.
  const auto d = static_cast<std::size_t>(dim);
  const dist::SampleSet source_pool =
      source_file ? source_points : dist::sample_dataset(source_, pool, d, 1000003ULL * seed + 11);
  const dist::SampleSet target_pool =
      target_file ? target_points : dist::sample_dataset(target_, pool, d, 1000003ULL * seed + 12);
  const auto label = [](const std::string& value, bool file, const dist::SampleSet& points) {
    return file ? fmt::format("{} ({} points)", value, points.rows) : value;
  };
  const std::string source_label = label(source_, source_file, source_pool);
  const std::string target_label = label(target_, target_file, target_pool);

  json trained;
  long parameters = 0;
  bool finite = true;
  // Data parallel: --ranks N spawns ranks 1..N-1 (this process is rank 0); under mpirun every rank runs this.
  op::DataParallel group(data_parallel_options(ranks_));
  std::ostream discard(nullptr);
  std::ostream& progress = group.writes_files() ? progress_rank0 : discard;
  progress << fmt::format("iterop train flow: {} {} -> {} (D = {}), {} steps, batch {}, seed {}", arch, source_label,
                          target_label, dim, calm ? co.steps : steps, calm ? co.batch : batch, seed)
           << std::endl;
  if (calm) {
    op::CalmFlow model(co);
    parameters = model.num_parameters();
    progress << fmt::format("CaLMFlow ({} preset): {} parameters; {} head on {} paths; N = {}, M = {}, K = {}, width {}, "
                            "{} layers, {} heads",
                            preset_, parameters, co.head, co.paths, co.time_points, co.trajectories, co.spatial_tokens,
                            co.width, co.layers, co.heads)
             << std::endl;
    to.progress = [&](const op::CalmFlowProgress& p) {
      progress << fmt::format("step {}/{}  loss {:.5g} (mse {:.4g}, kl {:.4g})  {:.2f} steps/s  {} left", p.step, p.steps,
                              p.loss, p.mse, p.kl, p.steps_per_second, seconds_text(p.seconds_left))
               << std::endl;
      return true;
    };
    op::CalmFlowTrainReport r = model.train({source_pool, target_pool, {}}, to);
    finite = r.status != op::CalmFlowTrainStatus::non_finite_loss;
    // The step reached is the model's (a resumed checkpoint may already be at or past --steps).
    if (r.status == op::CalmFlowTrainStatus::completed)
      r.message = r.first_step >= co.steps
                      ? fmt::format("nothing to train: the checkpoint {} is at step {}, at or past --steps {}; the "
                                    "model is the checkpoint's (step {}).",
                                    resume_, r.first_step, co.steps, r.last_step)
                      : fmt::format("trained to step {}{}.", r.last_step,
                                    r.first_step > 0 ? fmt::format(" (resumed at step {})", r.first_step) : "");
    progress << r.message << std::endl;
    if (group.writes_files()) model.save(model_file);
    trained = {{"status", op::to_string(r.status)},
               {"message", r.message},
               {"first_step", r.first_step},
               {"steps", r.last_step},
               {"seconds", r.seconds},
               {"steps_per_second", r.steps_per_second},
               {"final_loss", r.loss.empty() ? json(nullptr) : experiments::json_number(r.loss.back())},
               {"checkpoint", r.last_checkpoint},
               {"preset", preset_},
               {"head", co.head},
               {"paths", co.paths},
               {"path_sigma", co.path_sigma},
               {"increment", co.increment},
               {"head_reads_state", co.head_reads_state}};
  } else {
    op::ConditionalFlowMatching model(fo);
    parameters = model.num_parameters();
    progress << fmt::format("{}: {} parameters; MLP depth {}, width {}, {}", arch, parameters, fo.depth, fo.width,
                            fo.activation)
             << std::endl;
    const auto r = model.train(ex::distinct_pool_sampler(source_pool, 1000003ULL * seed + 21),
                               ex::distinct_pool_sampler(target_pool, 1000003ULL * seed + 22), [&](const op::CfmProgress& p) {
                                 if (p.step % progress_every == 0 || p.step == p.steps)
                                   progress << fmt::format("step {}/{}  loss {:.5g}  {:.2f} steps/s  {} left", p.step,
                                                           p.steps, p.loss, p.steps_per_second,
                                                           seconds_text(p.steps_per_second > 0
                                                                            ? (p.steps - p.step) / p.steps_per_second
                                                                            : NAN))
                                            << std::endl;
                                 return Action::proceed;
                               });
    finite = r.status != op::CfmTrainStatus::non_finite_loss;
    progress << r.message << std::endl;
    if (group.writes_files()) model.save(model_file);
    trained = {{"status", op::to_string(r.status)},
               {"message", r.message},
               {"steps", r.steps_done},
               {"seconds", r.seconds},
               {"steps_per_second", r.steps_per_second},
               {"final_loss", experiments::json_number(r.final_loss(50))},
               {"assignment_seconds", r.assignment_seconds}};
  }
  if (!group.writes_files()) return finite ? exit_ok : exit_failure;  // the other ranks end after training
  if (group.finish() != 0) return exit_failure;  // a rank failed (its messages are on stderr)
  json description = {{"format", description_format},
                      {"model", arch},
                      {"file", std::filesystem::path(model_file).filename().string()},
                      {"source", source_},
                      {"source_kind", source_file ? "file" : "dataset"},
                      {"source_rows", source_pool.rows},
                      {"target", target_},
                      {"target_kind", target_file ? "file" : "dataset"},
                      {"target_rows", target_pool.rows},
                      {"dim", dim},
                      {"seed", seed},
                      {"pool", source_file && target_file ? json(nullptr) : json(pool)},
                      {"parameters", parameters},
                      {"training", trained}};
  // Where the files are, for `sample flow` run from another folder (the description keeps them as given).
  if (source_file) description["source_file"] = std::filesystem::absolute(source_).lexically_normal().string();
  if (target_file) description["target_file"] = std::filesystem::absolute(target_).lexically_normal().string();
  experiments::write_file_atomically(description_path(model_file), description.dump(2) + "\n");

  if (format_ == "json") {
    out << description.dump(2) << "\n";
  } else {
    out << fmt::format("Trained {} ({} parameters) on {} -> {} (D = {}): {} steps in {:.1f} s ({:.2f} steps/s), final "
                       "loss {}.\nSaved to {} (description: {}).\n",
                       arch, parameters, source_label, target_label, dim, trained.value("steps", 0),
                       trained.value("seconds", 0.0), trained.value("steps_per_second", 0.0),
                       trained["final_loss"].is_null() ? std::string("n/a")
                                                       : fmt::format("{:.5g}", trained["final_loss"].get<double>()),
                       model_file, description_path(model_file));
  }
  return finite ? exit_ok : exit_failure;
}

int FlowCommand::sample(std::ostream& out, std::ostream& progress) const {
  json desc;
  {
    std::ifstream in(description_path(s_model_));
    require_usage(static_cast<bool>(in), "--model", s_model_,
                  "a model written by iterop train flow (its description " + description_path(s_model_) +
                      " must be beside it)");
    try {
      in >> desc;
    } catch (const std::exception&) {
      require_usage(false, "--model", s_model_, "a readable description " + description_path(s_model_) + " (JSON)");
    }
    require_description_shape(desc, s_model_, description_path(s_model_));
  }
  const std::string kind = desc.at("model").get<std::string>();
  const bool calm = kind == "calmflow";
  const long long dim = desc.at("dim").get<long long>();
  const std::size_t n = s_n_;
  const double temperature = s_temperature_;
  const std::uint64_t seed = s_seed_;
  const std::string method = s_method_.empty() ? (calm ? "sequential" : "euler") : s_method_;
  if (calm) {
    require_usage(method == "sequential" || method == "picard" || method == "anderson", "--method", method,
                  "sequential, picard or anderson for a CaLMFlow model");
  } else {
    require_usage(method == "euler" || method == "rk4" || method == "dopri5" || method == "cvode" ||
                      method == "cvode_bdf" || method == "cvode_adams",
                  "--method", method, "euler, rk4, dopri5, cvode, cvode_bdf or cvode_adams for a " + kind + " model");
  }
  ex::FlowOdeOptions ode;
  if (!calm) {
    ode.method = ex::parse_flow_ode_method(method == "cvode" ? "cvode_adams" : method);
    require_usage(ex::flow_ode_method_available(ode.method), "--method", method,
                  "a method this build has (rk4, dopri5 and CVODE need the SUNDIALS/Odeint baselines)");
    ode.steps = s_ode_steps_;
    ode.rtol = s_rtol_;
    ode.atol = s_atol_;
    ode.validate();
    require_usage(s_prompt_.empty(), "--prompt", s_prompt_, "only for a prompt-conditioned CaLMFlow model");
  }
  const double tol = s_tol_;
  // The source: --source NAME|FILE, else the model's training source (a file: read again from where
  // it was at training time); a file's rows are drawn with replacement.
  const std::string model_dim = fmt::format("the dimension of the model {}", s_model_);
  std::string source = s_source_;
  dist::SampleSet source_rows;
  if (source.empty()) {
    source = desc.at("source").get<std::string>();
    if (desc.value("source_kind", "dataset") == "file") {
      const std::string file = desc.value("source_file", source);
      try {
        source_rows = dist::read_points_csv(file);
      } catch (const dist::points_file_error& e) {
        throw usage_error{fmt::format("--model {}: its training source {} (the default --source): {}", s_model_,
                                      source, e.what())};
      }
      require_usage(static_cast<long long>(source_rows.dim) == dim, "--model", s_model_,
                    fmt::format("its training source {} still of dimension {} (its rows now have {} values); give "
                                "--source NAME|FILE",
                                file, dim, source_rows.dim));
    } else {
      require_dataset("--source", source, dim, model_dim);
    }
  } else if (is_points_file(source)) {
    source_rows = read_points_option("--source", source);
    require_points_dim("--source", source, source_rows, dim, model_dim);
  } else {
    require_dataset("--source", source, dim, model_dim);
  }
  dist::SampleSet target_rows;
  if (is_points_file(s_target_)) {
    target_rows = read_points_option("--target", s_target_);
    require_points_dim("--target", s_target_, target_rows, dim, model_dim);
  } else if (!s_target_.empty()) {
    require_dataset("--target", s_target_, dim, model_dim);
  }
  const double gamma = s_gamma_;
  // Memory before any allocation: source, generated points and the CSV text (about 4 copies of n x D
  // values), and with --target the exact W2's n x n cost matrix.
  const double nd = static_cast<double>(n), dd = static_cast<double>(dim);
  require_memory("--n", std::to_string(n), 4 * 8 * nd * dd + (s_target_.empty() ? 0.0 : 2 * 8 * nd * nd),
                 s_target_.empty() ? fmt::format("{} points of dimension {}", n, dim)
                                   : fmt::format("{} points of dimension {} and the exact W2 against --target (an n x n "
                                                 "cost matrix)",
                                                 n, dim));

  const dist::SampleSet x0 =
      source_rows.rows > 0 ? dist::resample_rows(source_rows, n, 1000003ULL * seed + 13)
                           : dist::sample_dataset(source, n, static_cast<std::size_t>(dim), 1000003ULL * seed + 13);
  dist::SampleSet gen;
  json info = {{"model", kind}, {"file", s_model_}, {"source", source},
               {"source_kind", source_rows.rows > 0 ? "file" : "dataset"}, {"n", n}, {"dim", dim}, {"seed", seed},
               {"method", method}};
  bool ok = true;
  const auto t0 = std::chrono::steady_clock::now();
  if (calm) {
    const op::CalmFlow model = op::CalmFlow::load(s_model_);
    if (!s_prompt_.empty())
      require_usage(model.conditional(), "--prompt", s_prompt_, "a model trained with prompts");
    op::CalmFlowSampleOptions so;
    so.temperature = temperature;
    so.seed = seed;
    so.prompt = s_prompt_;
    info["temperature"] = temperature >= 0 ? temperature : (model.options().head == "variational" ? 0.5 : 1.0);
    if (method == "sequential") {
      gen = model.sample(x0, so);
      info["forward_passes"] = model.options().time_points - 1;
    } else {
      op::CalmFlowParallelOptions po;
      po.tol = tol;
      const op::CalmFlowParallelReport r = model.sample_parallel(x0, so, po);
      const op::CalmFlowParallelSolve& solve = method == "picard" ? r.picard : r.anderson;
      gen = solve.sample;
      ok = solve.converged;
      info["sequential_passes"] = r.sequential_passes;
      info["solver"] = {{"method", solve.method},         {"status", solve.status},
                        {"converged", solve.converged},   {"iterations", solve.iterations},
                        {"evaluations", solve.evaluations}, {"sweeps_to_tol", solve.sweeps_to_tol},
                        {"error_to_sequential", experiments::json_number(solve.error)}, {"tol", tol}};
      progress << fmt::format("{}: {} after {} iterations ({} sweeps); within {} of the sequential sample after {} "
                              "sweeps (sequential generation: {} passes)",
                              solve.method, solve.status, solve.iterations, solve.evaluations, tol, solve.sweeps_to_tol,
                              r.sequential_passes)
               << std::endl;
    }
  } else {
    const op::ConditionalFlowMatching model = op::ConditionalFlowMatching::load(s_model_);
    const ex::VelocityFn v = [&model](const double* x, std::size_t rows, double t, double* o) {
      model.velocity(x, rows, t, o);
    };
    const ex::FlowSampleReport r = ex::sample_flow_ode(v, x0, ode);
    gen = r.samples;
    ok = r.usable();
    info["sampler"] = {{"method", r.method},
                       {"status", std::string(to_string(r.status))},
                       {"message", r.message},
                       {"batch_evaluations", r.batch_evaluations},
                       {"sample_evaluations", r.sample_evaluations},
                       {"steps", r.steps}};
    progress << r.method << ": " << to_string(r.status) << ", " << r.batch_evaluations << " evaluations of v ("
             << r.sample_evaluations << " per-point), " << r.steps << " steps" << std::endl;
  }
  info["seconds"] = ex::seconds_since(t0);

  // Non-finite samples are a failure (exit 3), never a CSV of NaN: nothing is written or compared.
  if (const std::size_t bad = non_finite_values(gen); bad > 0) {
    info["status"] = "non_finite";
    if (s_format_ == "json") out << info.dump(2) << "\n";
    print_error(fmt::format("sample flow: {} of the {} generated values are NaN or Inf ({} model, method {}{}); no CSV "
                            "written, no distances computed",
                            bad, gen.values.size(), kind, method,
                            calm ? fmt::format(", temperature {}", info["temperature"].get<double>()) : std::string()));
    return exit_failure;
  }

  if (!s_csv_.empty()) {
    experiments::write_file_atomically(s_csv_, dist::points_csv_text(gen));  // the one points format (header x1,...,xD)
    info["csv"] = s_csv_;
  }
  std::size_t compared = n;  // points on each side of the distances
  if (!s_target_.empty()) {
    // A target file: all its rows when it has at most n (against as many generated points), else n distinct rows.
    const dist::SampleSet ref =
        target_rows.rows > 0 ? dist::subsample_rows(target_rows, n, 1000003ULL * seed + 14)
                             : dist::sample_dataset(s_target_, n, static_cast<std::size_t>(dim), 1000003ULL * seed + 14);
    compared = ref.rows;
    const dist::SampleSet generated =
        compared == gen.rows
            ? gen
            : dist::SampleSet(compared, gen.dim,
                              std::vector<double>(gen.values.begin(),
                                                  gen.values.begin() + static_cast<std::ptrdiff_t>(compared * gen.dim)));
    const dist::SampleQuality q = dist::sample_quality(generated, ref, gamma);
    info["target"] = s_target_;
    info["target_kind"] = target_rows.rows > 0 ? "file" : "dataset";
    info["metrics"] = experiments::quality_json<json>(q);
    if (!std::isfinite(q.w2) || !std::isfinite(q.mmd2) || !std::isfinite(q.energy)) info["status"] = "non_finite_distances";
  }
  if (!info.contains("status")) info["status"] = ok ? "ok" : "not_finished";

  if (s_format_ == "json") {
    out << info.dump(2) << "\n";
  } else {
    out << fmt::format("Generated {} points with {} ({} model from {}, seed {}) in {:.2f} s{}.\n", n, method, kind,
                       source, seed, info["seconds"].get<double>(), s_csv_.empty() ? "" : "; written to " + s_csv_);
    if (info.contains("metrics")) {
      const json& m = info["metrics"];
      auto f = [](const json& v) { return v.is_null() ? std::string("n/a") : fmt::format("{:.4g}", v.get<double>()); };
      out << fmt::format("Against {} points of {}: exact W2 {}, MMD² (gamma {}) {}, energy distance {}\n",
                         compared == n ? fmt::format("{}", n) : fmt::format("all {}", compared),
                         s_target_ + (compared == n ? "" : fmt::format(" (and the first {} generated)", compared)),
                         f(m["w2"]), gamma, f(m["mmd2"]), f(m["energy"]));
    }
  }
  if (info["status"] == "non_finite_distances") {
    double largest = 0;
    for (double v : gen.values) largest = std::max(largest, std::abs(v));
    print_error(fmt::format("sample flow: the distances to {} are not finite (the generated points reach |x| = {:.3g}, "
                            "too large to compare)",
                            s_target_, largest));
    return exit_failure;
  }
  return ok ? exit_ok : exit_not_converged;
}

}  // namespace iterop::cli
