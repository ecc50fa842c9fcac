// `iterop train denoiser`: typed options, training a DDPM denoiser on a built-in data set of
// iterop::distributions, DDPM/DDIM sample quality against a fresh data sample, optional model file.
#include "train_denoiser_command.hpp"

#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include "data_parallel_launch.hpp"
#include "iterop/experiments/problems/sample_quality_record.hpp"
#include "iterop/experiments/runner/report_writer.hpp"
#include "iterop/distributions/flow_datasets.hpp"
#include "iterop/distributions/sample_distances.hpp"
#include "iterop/operators/data_parallel.hpp"
#include "iterop/operators/diffusion_denoiser.hpp"

namespace iterop::cli {

TrainDenoiserCommand::TrainDenoiserCommand(CLI::App& app) {
  namespace dist = distributions;
  CLI::App* train = app.get_subcommand("train");
  denoiser_ = train->add_subcommand("denoiser", "Train a DDPM denoiser on a data set (2-D, or D-dimensional with --dim) and print its sample quality");
  denoiser_->add_option("--dataset", dataset_, "Built-in data set: " + join(dist::dataset_names()))
      ->check(one_of(dist::dataset_names()))
      ->type_name("NAME")
      ->capture_default_str();
  denoiser_->add_option("--steps", steps_, "Adam training steps")
      ->transform(integer_in("steps", 0, 10000000))
      ->type_name("N")
      ->capture_default_str();
  lr_ = operators::DenoiserOptions{}.lr;
  denoiser_->add_option("--lr", lr_, "Adam learning rate")
      ->check(number_where([](double v) { return v > 0; }, "lr > 0"))
      ->type_name("LR")
      ->capture_default_str();
  add_seed_option(*denoiser_, seed_, "data, initialisation, training and sampling");
  denoiser_->add_option("--ode-steps", ode_steps_, "Sampling steps S of the samplers (DDIM's ODE steps, DDPM's ancestral steps), 1..T")
      ->transform(integer_in("ode-steps", 1, 100000))
      ->type_name("S")
      ->capture_default_str();
  denoiser_->add_option("--diffusion-steps", diffusion_steps_, "Diffusion steps T of the model")
      ->transform(integer_in("diffusion-steps", 2, 100000))
      ->type_name("T")
      ->capture_default_str();
  denoiser_->add_option("--dim", dim_, "Data dimension D (D > 2 for normal, 4blobs, 2gaussians)")
      ->transform(integer_in("dim", 2, 100000))
      ->type_name("D")
      ->capture_default_str();
  denoiser_->add_option("--samples", samples_, "Generated and target samples for the quality metrics")
      ->transform(integer_in("samples", 2, 100000))
      ->type_name("N")
      ->capture_default_str();
  denoiser_->add_option("--model", model_file_, "Save the trained model (options, standardisation, weights) to FILE")
      ->check(file_in_existing_folder())
      ->type_name("FILE");
  add_format_option(*denoiser_, format_, {"table", "json"});
  denoiser_->add_option("--ranks", ranks_, "Data-parallel training on N local processes (Gloo; each computes 256 / N rows of "
                                           "every batch); under mpirun the ranks come from it")
      ->transform(integer_in("ranks", 1, 256))
      ->type_name("N");
  add_renamed_option(*denoiser_, "--data", "--dataset NAME (--data is a data folder)");
  add_renamed_option(*denoiser_, "--out", "--model FILE (--out is a report folder)");
  add_renamed_option(*denoiser_, "--sample-steps", "--ode-steps S");
  denoiser_->footer(
      "Model: MLP eps(x, t), width 128, depth 3, sinusoidal time embedding 32, linear beta schedule; Adam (--lr),\n"
      "batch 256, on 10000 samples of the data set (seed s); quality against a fresh sample (seed s + 1000):\n"
      "exact W2, MMD^2 with gamma 2 (D = 2) or 1 / D (D > 2), energy distance. DDPM: ancestral sampling; DDIM: eta 0.\n"
      "A non-finite training loss exits 3 (the status is printed, nothing is sampled, --model is still written).\n" +
      exit_status_text());
}

int TrainDenoiserCommand::execute(std::ostream& out, std::ostream& progress_rank0) const {
  namespace op = operators;
  namespace dist = distributions;
  const std::string& dataset = dataset_;
  const int steps = steps_;
  const std::uint64_t seed = seed_;
  const int T = diffusion_steps_;
  const int S = ode_steps_;
  require_usage(S <= T, "--ode-steps", std::to_string(S), "1 <= S <= the diffusion steps T (" + std::to_string(T) + ")");
  const auto samples = static_cast<std::size_t>(samples_);
  const int dim = dim_;
  require_usage(dim == 2 || dataset == "normal" || dataset == "4blobs" || dataset == "2gaussians", "--dim", std::to_string(dim),
                "2 for the 2-D data set " + dataset + " (D > 2: normal, 4blobs, 2gaussians)");
  const double gamma = dim == 2 ? 2.0 : 1.0 / dim;
  const auto D = static_cast<std::size_t>(dim);
  const std::string& model_file = model_file_;
  // Before any work: the model file can be written, and the samples and the exact W2 fit in memory
  // (the training pool, three sample sets of n x D values and the n x n cost matrix, twice).
  if (!model_file.empty()) require_writable_file("--model", model_file);
  const double n = static_cast<double>(samples);
  require_memory("--samples", std::to_string(samples), 8 * (10000.0 * dim + 4 * n * dim + 2 * n * n),
                 fmt::format("{} samples of dimension {} and their exact W2 (an n x n cost matrix)", samples, dim));

  // Data parallel: --ranks N spawns ranks 1..N-1 (this process is rank 0); under mpirun every rank runs this.
  op::DataParallel group(data_parallel_options(ranks_));
  std::ostream discard(nullptr);
  std::ostream& progress = group.writes_files() ? progress_rank0 : discard;
  op::DenoiserOptions o;
  o.dim = dim;
  o.diffusion_steps = T;
  o.training_steps = steps;
  o.lr = lr_;
  o.seed = seed;
  const auto data = dist::sample_dataset(dataset, 10000, D, seed);
  const auto target = dist::sample_dataset(dataset, samples, D, seed + 1000);
  progress << "iterop train denoiser: " << dataset << " (D = " << dim << "), " << steps << " Adam steps, T = " << T << ", seed " << seed
           << std::endl;
  op::DiffusionDenoiser model(o);
  const auto rep = model.train(data, [&](const op::DenoiserProgress& p) {
    if (p.step % 500 == 0 || p.step == p.total)
      progress << fmt::format("  step {}/{}: loss {:.4f} ({:.1f} s)", p.step, p.total, p.loss, p.seconds) << std::endl;
    return Action::proceed;
  });
  if (!group.writes_files()) return exit_ok;  // the other ranks end after training; rank 0 samples and reports
  if (group.finish() != 0) return exit_failure;  // a rank failed (its messages are on stderr)
  struct Row {
    std::string sampler;
    dist::SampleQuality q{};
    bool finite = false;
    double seconds = 0;
  };
  const bool finite = rep.status != op::DenoiserTrainStatus::non_finite_loss;
  std::vector<Row> rows;
  for (op::Sampler sampler : {op::Sampler::ddpm, op::Sampler::ddim}) {
    op::SamplingOptions so;
    so.sampler = sampler;
    so.steps = static_cast<int>(S);
    so.samples = samples;
    so.seed = seed + 7;
    Row row{std::string(op::to_string(sampler)), {}, false, 0};
    if (finite) {  // after a non-finite loss the weights are unusable: no samples, no quality
      const auto r = model.sample(so);
      row.finite = r.samples.all_finite();
      row.seconds = r.seconds;
      if (row.finite) row.q = dist::sample_quality(r.samples, target, gamma);
    }
    rows.push_back(row);
  }
  const auto reference = dist::sample_quality(dist::sample_dataset(dataset, samples, D, seed + 2000), target, gamma);
  if (!model_file.empty()) model.save(model_file);

  if (format_ == "json") {
    nlohmann::json quality = nlohmann::json::object();
    for (const auto& r : rows) quality[r.sampler] = r.finite ? experiments::quality_json<nlohmann::json>(r.q) : nlohmann::json(nullptr);
    out << nlohmann::json{{"model", "denoiser"},
                          {"dataset", dataset},
                          {"dim", dim},
                          {"seed", seed},
                          {"steps", rep.steps},
                          {"lr", lr_},
                          {"diffusion_steps", T},
                          {"train_status", std::string(op::to_string(rep.status))},
                          {"train_message", rep.message},
                          {"initial_loss", experiments::json_number(rep.initial_loss)},
                          {"final_loss", experiments::json_number(rep.final_loss)},
                          {"seconds", rep.seconds},
                          {"parameters", model.num_parameters()},
                          {"ode_steps", S},
                          {"samples", samples},
                          {"quality", quality},
                          {"reference", experiments::quality_json<nlohmann::json>(reference)},
                          {"model_file", model_file}}
               .dump(2)
        << "\n";
    return finite ? exit_ok : exit_failure;
  }
  out << fmt::format("Denoiser on {}{}: {} ({}), loss {:.4f} -> {:.4f}, {} parameters, trained in {:.2f} s\n", dataset,
                     dim == 2 ? std::string() : " (D = " + std::to_string(dim) + ")", op::to_string(rep.status), rep.message, rep.initial_loss, rep.final_loss, model.num_parameters(),
                     rep.seconds);
  out << fmt::format("Quality of {} samples at S = {} against a fresh target sample (MMD gamma {}):\n", samples, S,
                     gamma);
  out << fmt::format("{:<22} {:>9} {:>11} {:>11}\n", "sampler", "W2", "MMD^2", "energy");
  for (const auto& r : rows) {
    if (!r.finite) {
      out << fmt::format("{:<22} {:>9}\n", r.sampler, finite ? "non-finite samples" : "not sampled (non-finite training loss)");
      continue;
    }
    out << fmt::format("{:<22} {:>9.4f} {:>11.3e} {:>11.3e}\n", r.sampler == "ddpm" ? "DDPM" : "DDIM (eta 0)", r.q.w2,
                       r.q.mmd2, r.q.energy);
  }
  out << fmt::format("{:<22} {:>9.4f} {:>11.3e} {:>11.3e}\n", "fresh data (floor)", reference.w2, reference.mmd2,
                     reference.energy);
  if (!model_file.empty()) out << "Model saved to " << model_file << "\n";
  return finite ? exit_ok : exit_failure;
}

}  // namespace iterop::cli
