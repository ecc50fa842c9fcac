// `iterop train denoiser`: option checks, training a DDPM denoiser on a 2-D data set of
// iterop::distributions, DDPM/DDIM sample quality against a fresh data sample, optional model file.
#include "train_denoiser_command.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include "iterop/distributions/flow_datasets.hpp"
#include "iterop/distributions/sample_distances.hpp"
#include "iterop/operators/diffusion_denoiser.hpp"

namespace iterop::cli {

namespace {
nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
nlohmann::json quality_json(const distributions::SampleQuality& q) {
  return {{"n", q.n}, {"w2", number(q.w2)}, {"mmd2", number(q.mmd2)}, {"energy", number(q.energy)}, {"gamma", q.gamma}};
}
}  // namespace

TrainDenoiserCommand::TrainDenoiserCommand(CLI::App& app) {
  CLI::App* train = app.get_subcommand("train");
  denoiser_ = train->add_subcommand("denoiser", "Train a DDPM denoiser on a data set (2-D, or D-dimensional with --dim) and print its sample quality");
  denoiser_->add_option("--data", data_, "Data set: moons (default), 8gaussians, checkerboard, spirals, ...")->type_name("NAME");
  denoiser_->add_option("--steps", steps_, "Adam training steps (default 3000)")->type_name("N");
  denoiser_->add_option("--seed", seed_, "Seed of data, initialisation, training and sampling (default 0)")->type_name("S");
  denoiser_->add_option("--sample-steps", sample_steps_, "Denoising steps S of the samplers, 1..T (default 50)")->type_name("S");
  denoiser_->add_option("--diffusion-steps", diffusion_steps_, "Diffusion steps T of the model (default 100)")->type_name("T");
  denoiser_->add_option("--dim", dim_, "Data dimension D (default 2; D > 2 for normal, 4blobs, 2gaussians)")->type_name("D");
  denoiser_->add_option("--samples", samples_, "Generated and target samples for the quality metrics (default 500)")->type_name("N");
  denoiser_->add_option("--out", out_file_, "Save the trained model (options, standardisation, weights) to FILE")->type_name("FILE");
  denoiser_->add_option("--format", format_, "table (default) or json")->type_name("FORMAT");
  denoiser_->footer(
      "Model: MLP eps(x, t), width 128, depth 3, sinusoidal time embedding 32, linear beta schedule; Adam lr 1e-3,\n"
      "batch 256, on 10000 samples of the data set (seed s); quality against a fresh sample (seed s + 1000):\n"
      "exact W2, MMD^2 with gamma 2 (D = 2) or 1 / D (D > 2), energy distance. DDPM: ancestral sampling; DDIM: eta 0.\n"
      "Exit status: 0 trained (a non-finite loss is reported as the status); 2 bad usage; 3 file or LibTorch failure.\n");
}

int TrainDenoiserCommand::execute(std::ostream& out, std::ostream& progress) const {
  namespace op = operators;
  namespace dist = distributions;
  require_usage(format_ == "table" || format_ == "json", "--format", format_, "table or json");
  const auto names = dist::dataset_names();
  std::string all;
  for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
  require_usage(std::find(names.begin(), names.end(), data_) != names.end(), "--data", data_, "one of " + all);
  const int steps = static_cast<int>(parse_integer("--steps", steps_, 0, 10000000));
  const auto seed = static_cast<std::uint64_t>(parse_integer("--seed", seed_, 0, std::numeric_limits<long long>::max()));
  const int T = static_cast<int>(parse_integer("--diffusion-steps", diffusion_steps_, 2, 100000));
  const long long S = parse_integer("--sample-steps", sample_steps_, std::numeric_limits<long long>::min(),
                                    std::numeric_limits<long long>::max());
  require_usage(S >= 1 && S <= T, "--sample-steps", sample_steps_,
                "1 <= S <= the diffusion steps T (" + std::to_string(T) + ")");
  const auto samples = static_cast<std::size_t>(parse_integer("--samples", samples_, 2, 100000));
  const int dim = static_cast<int>(parse_integer("--dim", dim_, 2, 100000));
  require_usage(dim == 2 || data_ == "normal" || data_ == "4blobs" || data_ == "2gaussians", "--dim", dim_,
                "2 for the 2-D data set " + data_ + " (D > 2: normal, 4blobs, 2gaussians)");
  const double gamma = dim == 2 ? 2.0 : 1.0 / dim;
  const auto D = static_cast<std::size_t>(dim);
  if (!out_file_.empty()) {
    const auto parent = std::filesystem::path(out_file_).parent_path();
    require_usage(parent.empty() || std::filesystem::is_directory(parent), "--out", out_file_,
                  "a file in an existing folder");
  }

  op::DenoiserOptions o;
  o.dim = dim;
  o.diffusion_steps = T;
  o.training_steps = steps;
  o.seed = seed;
  const auto data = dist::sample_dataset(data_, 10000, D, seed);
  const auto target = dist::sample_dataset(data_, samples, D, seed + 1000);
  progress << "iterop train denoiser: " << data_ << " (D = " << dim << "), " << steps << " Adam steps, T = " << T << ", seed " << seed
           << std::endl;
  op::DiffusionDenoiser model(o);
  const auto rep = model.train(data, [&](const op::DenoiserProgress& p) {
    if (p.step % 500 == 0 || p.step == p.total)
      progress << fmt::format("  step {}/{}: loss {:.4f} ({:.1f} s)", p.step, p.total, p.loss, p.seconds) << std::endl;
    return Action::proceed;
  });
  struct Row {
    std::string sampler;
    dist::SampleQuality q{};
    bool finite = false;
    double seconds = 0;
  };
  std::vector<Row> rows;
  for (op::Sampler sampler : {op::Sampler::ddpm, op::Sampler::ddim}) {
    op::SamplingOptions so;
    so.sampler = sampler;
    so.steps = static_cast<int>(S);
    so.samples = samples;
    so.seed = seed + 7;
    const auto r = model.sample(so);
    Row row{std::string(op::to_string(sampler)), {}, r.samples.all_finite(), r.seconds};
    if (row.finite) row.q = dist::sample_quality(r.samples, target, gamma);
    rows.push_back(row);
  }
  const auto reference = dist::sample_quality(dist::sample_dataset(data_, samples, D, seed + 2000), target, gamma);
  if (!out_file_.empty()) model.save(out_file_);

  if (format_ == "json") {
    nlohmann::json quality = nlohmann::json::object();
    for (const auto& r : rows) quality[r.sampler] = r.finite ? quality_json(r.q) : nlohmann::json(nullptr);
    out << nlohmann::json{{"model", "denoiser"},
                          {"data", data_},
                          {"dim", dim},
                          {"seed", seed},
                          {"steps", rep.steps},
                          {"diffusion_steps", T},
                          {"train_status", std::string(op::to_string(rep.status))},
                          {"train_message", rep.message},
                          {"initial_loss", number(rep.initial_loss)},
                          {"final_loss", number(rep.final_loss)},
                          {"seconds", rep.seconds},
                          {"parameters", model.num_parameters()},
                          {"sample_steps", S},
                          {"samples", samples},
                          {"quality", quality},
                          {"reference", quality_json(reference)},
                          {"out", out_file_}}
               .dump(2)
        << "\n";
    return exit_ok;
  }
  out << fmt::format("Denoiser on {}{}: {} ({}), loss {:.4f} -> {:.4f}, {} parameters, trained in {:.2f} s\n", data_,
                     dim == 2 ? std::string() : " (D = " + std::to_string(dim) + ")", op::to_string(rep.status), rep.message, rep.initial_loss, rep.final_loss, model.num_parameters(),
                     rep.seconds);
  out << fmt::format("Quality of {} samples at S = {} against a fresh target sample (MMD gamma {}):\n", samples, S,
                     gamma);
  out << fmt::format("{:<22} {:>9} {:>11} {:>11}\n", "sampler", "W2", "MMD^2", "energy");
  for (const auto& r : rows) {
    if (!r.finite) {
      out << fmt::format("{:<22} {:>9}\n", r.sampler, "non-finite samples");
      continue;
    }
    out << fmt::format("{:<22} {:>9.4f} {:>11.3e} {:>11.3e}\n", r.sampler == "ddpm" ? "DDPM" : "DDIM (eta 0)", r.q.w2,
                       r.q.mmd2, r.q.energy);
  }
  out << fmt::format("{:<22} {:>9.4f} {:>11.3e} {:>11.3e}\n", "fresh data (floor)", reference.w2, reference.mmd2,
                     reference.energy);
  if (!out_file_.empty()) out << "Model saved to " << out_file_ << "\n";
  return exit_ok;
}

}  // namespace iterop::cli
