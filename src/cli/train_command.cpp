// `iterop train pign`: typed options, data (a Planetoid folder or the SBM generator), feature noise,
// PIGN training with the tuned defaults, the non-finite-loss status, and the table or JSON output.
#include "train_command.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include "data_parallel_launch.hpp"
#include "iterop/experiments/problems/sample_quality_record.hpp"
#include "iterop/experiments/runner/report_writer.hpp"
#include "iterop/experiments/studies/pign.hpp"
#include "iterop/operators/pign.hpp"
#include "iterop/operators/planetoid.hpp"

namespace iterop::cli {

namespace {
}  // namespace

TrainCommand::TrainCommand(CLI::App& app) {
  train_ = app.add_subcommand("train", "Train a neural operator and print its accuracy (see: iterop train pign --help)");
  train_->require_subcommand(1);
  pign_ = train_->add_subcommand("pign", "Train PIGN (Picard-iterative graph network) on a Planetoid folder or the SBM generator");
  pign_->add_option("--data", data_, "Planetoid folder (features.tsv, labels.tsv, edges.tsv, split.tsv), e.g. "
                                     "../shared/data/planetoid/cora")
      ->check(existing_folder())
      ->type_name("DIR");
  dataset_option_ = pign_->add_option("--dataset", dataset_, "Built-in graph when --data is not given: sbm (the "
                                                             "stochastic-block-model generator, seeded by --seed)")
                        ->check(one_of({"sbm"}))
                        ->type_name("NAME")
                        ->capture_default_str();
  pign_->add_option("--noise", noise_, "Feature noise p: +1 on each feature entry with probability p")
      ->check(number_in("p", 0, 1))
      ->type_name("P")
      ->capture_default_str();
  add_seed_option(*pign_, seed_, "training, noise and generator");
  pign_->add_option("--epochs", epochs_, "Training epochs (full batch: one Adam step each)")
      ->transform(integer_in("epochs", 1, 100000))
      ->type_name("N")
      ->capture_default_str();
  lr_ = experiments::tuned_pign_options().lr;
  pign_->add_option("--lr", lr_, "Adam learning rate")
      ->check(number_where([](double v) { return v > 0; }, "lr > 0"))
      ->type_name("LR")
      ->capture_default_str();
  pign_->add_option("--k", k_, "Training iterations K of the shared layer")
      ->transform(integer_in("k", 1, 1000))
      ->type_name("K")
      ->capture_default_str();
  pign_->add_option("--alpha", alpha_, "Relaxation alpha (weight on the previous iterate)")
      ->check(number_where([](double v) { return v >= 0 && v < 1; }, "0 <= alpha < 1"))
      ->type_name("A")
      ->capture_default_str();
  pign_->add_option("--width", width_, "Hidden width")->transform(integer_in("width", 1, 4096))->type_name("W")->capture_default_str();
  pign_->add_option("--infer", infer_, "Length of the inference schedule at constant alpha (default 2 K)")
      ->transform(integer_in("infer", 1, 10000))
      ->type_name("N");
  pign_->add_option("--spectral-norm", spectral_norm_,
                    "Spectral normalisation ||W||_2 <= C of the shared layer (0: off); C < 1 makes the step a "
                    "contraction with factor alpha + (1 - alpha) C")
      ->check(number_where([](double v) { return v >= 0; }, "0 (off) or a bound C > 0"))
      ->type_name("C")
      ->capture_default_str();
  pign_->add_option("--mode", mode_,
                    "unrolled: K steps, backpropagation through them; equilibrium: the step reads the encoder output, "
                    "is solved to its fixed point by Anderson and trained by implicit gradients (needs a contraction: "
                    "--spectral-norm C < 1)")
      ->check(one_of({"unrolled", "equilibrium"}))
      ->capture_default_str();
  pign_->add_option("--weight-bound", weight_bound_,
                    "How --spectral-norm C is kept: spectral (W / max(1, sigma / C)) or frobenius (W / max(1, ||W||_F / C), "
                    "exact at every step)")
      ->check(one_of({"spectral", "frobenius"}))
      ->capture_default_str();
  pign_->add_option("--jacobian-penalty", jacobian_penalty_,
                    "gamma: adds gamma ||J||_F^2 / n (Hutchinson estimate at the training state) to the loss")
      ->check(number_where([](double v) { return v >= 0; }, "gamma >= 0"))
      ->type_name("G")
      ->capture_default_str();
  pign_->add_option("--feature-scaling", feature_scaling_,
                    "none, or standardise: each feature column to mean 0 and variance 1 over all nodes (no label read)")
      ->check(one_of({"none", "standardise"}))
      ->capture_default_str();
  pign_->add_option("--step", step_,
                    "The map inside the relaxation: gcn (ReLU(A_hat x W + b), + e in equilibrium mode) or propagate "
                    "((1 - B) A_hat x + B e, APPNP's step with teleport B to the encoder output e: a contraction with "
                    "factor alpha + (1 - alpha) (1 - B))")
      ->check(one_of({"gcn", "propagate"}))
      ->capture_default_str();
  pign_->add_option("--teleport", teleport_, "B: the weight of the encoder output in --step propagate")
      ->check(number_where([](double v) { return v > 0 && v <= 1; }, "0 < B <= 1"))
      ->type_name("B")
      ->capture_default_str();
  pign_->add_option("--ranks", ranks_,
                    "Data-parallel training on N local processes (Gloo): each runs the whole graph and the loss of 1 / N "
                    "of the training nodes, the gradients summed; the same training as one process to float rounding "
                    "(in equilibrium mode to the solves' tolerance: the selected epoch may differ). Full-batch graph "
                    "training: no speed-up, the forward pass is repeated on every rank. Under mpirun the ranks come "
                    "from it")
      ->transform(integer_in("ranks", 1, 256))
      ->type_name("N");
  add_format_option(*pign_, format_, {"table", "json"});
  add_renamed_option(*pign_, "--sbm", "--dataset sbm (the default without --data)", true);
  pign_->footer(
      "Data: the Planetoid folder --data DIR, else the built-in --dataset (sbm). No environment variable is read.\n"
      "PIGN: input dropout 0.5, dropout 0.5 after the encoder only, no row normalisation, Adam (--lr), weight decay\n"
      "5e-4 (the setting pign-search selected on Cora validation).\n"
      "Test accuracy is read at the epoch of best validation accuracy.\n"
      "Also printed: the contraction of the trained step at alpha: the bound alpha + (1 - alpha) ||W||_2, the observed\n"
      "rate of its iteration and the spectral radius and norm of its Jacobian at the last iterate (autograd JVPs).\n"
      "A malformed data folder is bad input (exit 2, naming the file, the line and the reason); a non-finite training\n"
      "loss exits 3 after printing what was trained.\n" +
      exit_status_text());
}

int TrainCommand::execute(std::ostream& out, std::ostream& progress_rank0) const {
  namespace op = operators;
  require_usage(data_.empty() || dataset_option_->count() == 0, "--dataset", dataset_ + " with --data " + data_,
                "at most one of --data and --dataset");
  const double noise = noise_;
  const std::uint64_t seed = seed_;
  const int epochs = epochs_;
  const int k = k_;
  const double alpha = alpha_;
  const int width = width_;
  const int infer = infer_ == 0 ? 2 * k : infer_;
  const double spectral_norm = spectral_norm_;

  op::GraphData g = data_.empty() ? op::make_sbm({.seed = seed}) : op::read_planetoid(data_);
  op::add_feature_noise(g, noise, 1000003 * seed + 17);

  // Data parallel: --ranks N spawns ranks 1..N-1 (this process is rank 0); under mpirun every rank runs this.
  op::DataParallel group(data_parallel_options(ranks_));
  std::ostream discard(nullptr);
  std::ostream& progress = group.writes_files() ? progress_rank0 : discard;
  op::PignOptions o = experiments::tuned_pign_options();
  o.epochs = epochs;
  o.iterations = k;
  o.alpha = alpha;
  o.hidden = width;
  o.seed = seed;
  o.lr = lr_;
  o.spectral_norm_bound = spectral_norm;
  o.mode = mode_;
  o.weight_bound = weight_bound_;
  o.jacobian_penalty = jacobian_penalty_;
  o.feature_scaling = feature_scaling_;
  o.step = step_;
  o.teleport = teleport_;
  progress << "iterop train pign: " << g.name << " (" << g.num_nodes << " nodes), p = " << noise << ", seed " << seed
           << ", " << epochs << " epochs, K = " << k << ", alpha " << alpha << ", width " << width << std::endl;
  op::Pign model(g, o);
  const op::TrainReport r = model.train();
  if (!group.writes_files()) return exit_ok;  // the other ranks end after training; rank 0 evaluates and reports
  if (group.finish() != 0) return exit_failure;  // a rank failed (its messages are on stderr)
  // PIGN's training has no status of its own: a non-finite loss in any epoch is the trainers' non_finite_loss.
  const auto bad_epoch = std::find_if(r.epochs.begin(), r.epochs.end(),
                                      [](const op::EpochRecord& e) { return !std::isfinite(e.loss); });
  const bool finite = bad_epoch == r.epochs.end();
  const std::string status = finite ? "completed" : "non_finite_loss";
  const std::string message =
      finite ? "" : "the training loss was not finite at epoch " + std::to_string(bad_epoch->epoch);
  if (!finite) progress << "iterop train pign: " << message << std::endl;
  const auto recs = model.evaluate(std::vector<double>(static_cast<std::size_t>(infer), alpha));
  const op::PignContraction c = model.contraction(alpha, 200);
  const nlohmann::json contraction = {{"alpha", alpha},
                                      {"weight_norm", experiments::json_number(c.weight_norm)},
                                      {"bound", experiments::json_number(c.bound)},
                                      {"observed_rate", experiments::json_number(c.mean_ratio)},
                                      {"max_step_ratio", experiments::json_number(c.max_ratio)},
                                      {"jacobian_spectral_radius", experiments::json_number(c.jacobian_spectral_radius)},
                                      {"jacobian_norm", experiments::json_number(c.jacobian_norm)},
                                      {"final_residual", experiments::json_number(c.final_residual)},
                                      {"iterations", c.iterations}};

  if (format_ == "json") {
    nlohmann::json iters = nlohmann::json::array();
    for (const auto& rec : recs)
      iters.push_back({{"iteration", rec.iteration}, {"alpha", rec.alpha}, {"train_acc", experiments::json_number(rec.train_acc)},
                       {"val_acc", experiments::json_number(rec.val_acc)}, {"test_acc", experiments::json_number(rec.test_acc)}, {"mad", experiments::json_number(rec.mad)},
                       {"step", experiments::json_number(rec.step)}});
    out << nlohmann::json{{"model", "pign"},
                          {"data", g.name},
                          {"nodes", g.num_nodes},
                          {"noise", noise},
                          {"seed", seed},
                          {"epochs", epochs},
                          {"lr", lr_},
                          {"train_status", status},
                          {"train_message", message},
                          {"k", k},
                          {"alpha", alpha},
                          {"width", width},
                          {"spectral_norm", spectral_norm},
                          {"mode", mode_},
                          {"weight_bound", weight_bound_},
                          {"jacobian_penalty", jacobian_penalty_},
                          {"feature_scaling", o.feature_scaling},
                          {"step", o.step},
                          {"teleport", o.teleport},
                          {"equilibrium_solves", {{"mean_forward_iterations", r.mean_forward_iterations},
                                                  {"mean_backward_iterations", r.mean_backward_iterations},
                                                  {"forward_failures", r.forward_failures},
                                                  {"backward_failures", r.backward_failures},
                                                  {"skipped_steps", r.skipped_steps}}},
                          {"contraction", contraction},
                          {"best_epoch", r.best_epoch},
                          {"val_acc", experiments::json_number(r.best_val_acc)},
                          {"test_acc", experiments::json_number(r.test_acc)},
                          {"seconds", r.seconds},
                          {"iterations", iters}}
               .dump(2)
        << "\n";
    return finite ? exit_ok : exit_failure;
  }
  out << fmt::format("PIGN on {}: {}{}, best epoch {} of {}, validation {:.1f} %, test {:.1f} %, trained in {:.2f} s\n",
                     g.name, status, finite ? "" : " (" + message + ")", r.best_epoch, epochs, 100 * r.best_val_acc,
                     100 * r.test_acc, r.seconds);
  if (mode_ == "equilibrium")
    out << fmt::format("Equilibrium training: {:.1f} forward and {:.1f} adjoint iterations per epoch; solves not "
                       "converged: {} forward, {} adjoint ({} optimizer steps skipped)\n",
                       r.mean_forward_iterations, r.mean_backward_iterations, r.forward_failures, r.backward_failures,
                       r.skipped_steps);
  out << fmt::format("{:>9} {:>6} {:>9} {:>9} {:>9} {:>8} {:>10}\n", "iteration", "alpha", "train %", "val %", "test %",
                     "MAD", "step");
  for (const auto& rec : recs)
    out << fmt::format("{:>9} {:>6.3f} {:>9.1f} {:>9.1f} {:>9.1f} {:>8.4f} {:>10.3g}\n", rec.iteration, rec.alpha,
                       100 * rec.train_acc, 100 * rec.val_acc, 100 * rec.test_acc, rec.mad, rec.step);
  const std::string lipschitz = o.step == "propagate" ? "(1 - teleport)" : "||W||_2";  // of the map inside the relaxation
  out << fmt::format("Contraction at alpha {}: {} {:.4g}, bound alpha + (1 - alpha) {} = {:.4g}; observed rate "
                     "{:.4g} (max step ratio {:.4g}) over {} iterations; at the last iterate (residual {:.2g}) "
                     "rho(J) = {:.4g}, ||J||_2 = {:.4g}\n",
                     alpha, lipschitz, c.weight_norm, lipschitz, c.bound, c.mean_ratio, c.max_ratio, c.iterations, c.final_residual,
                     c.jacobian_spectral_radius, c.jacobian_norm);
  return finite ? exit_ok : exit_failure;
}

}  // namespace iterop::cli
