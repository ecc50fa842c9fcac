// The recycling study: the point-set refiner per seed, its errors along the iteration and at the
// fixed point, the table over seeds and the plot. The model is operators::run_point_set_refiner.
#include "iterop/experiments/studies/recycling.hpp"

#include <fmt/format.h>

#include "iterop/experiments/runner/atomic_file.hpp"

namespace iterop::experiments {

namespace {

std::string f4(double v) { return fmt::format("{:.4f}", v); }
std::string k_text(double k) { return k < 0 ? std::string("fixed point") : fmt::format("{:.0f}", k); }

}  // namespace

Study recycling_study(const operators::RefinerOptions& options, int seeds, const ExperimentContext& context) {
  options.validate();
  Study s;
  s.name = "recycling";
  s.title = "Experiment recycling: a refinement network fed its own output";
  s.description = fmt::format(
      "A refinement step x_(k+1) = T(x_k, y) for noisy 2-D point sets (N = {} points along random ellipses and sine "
      "arcs, noise {}), written in TorchScript (Gaussian-kernel neighbourhood features of radius h = {}, a {}-wide "
      "tanh MLP), trained {} Adam steps to improve its own output over K = {} unrolled iterations (every iterate "
      "supervised, plus {} ||T(x_K) - x_K||^2), saved as a .pt file and loaded back as any user's TorchScript "
      "operator. Evaluated on {} held-out sets after k iterations and at the fixed point x* = T(x*, y) found by "
      "Anderson(5) in float64. Errors: RMSE to the clean points (per coordinate) and the mean distance to the clean "
      "curve.",
      options.points, options.noise, options.bandwidth, options.width, options.training_steps, options.train_iterations,
      options.fixed_point_weight, options.test_sets);
  s.config = {{"points", options.points}, {"noise", options.noise}, {"bandwidth", options.bandwidth},
              {"width", options.width}, {"train_iterations", options.train_iterations},
              {"training_steps", options.training_steps}, {"test_sets", options.test_sets}, {"seeds", seeds}};
  for (int i = 0; i < seeds; ++i) {
    const std::uint64_t seed = context.seed + static_cast<std::uint64_t>(i);
    s.cells.push_back({{{"seed", seed}, {"options", s.config}}, fmt::format("seed {}", seed)});
  }
  const auto folder = context.output_folder;
  s.compute = [options, folder, base = context.seed](std::size_t i) {
    operators::RefinerOptions o = options;
    o.seed = base + i;
    const auto r = operators::run_point_set_refiner(o, folder / fmt::format("refiner_seed{}.pt", o.seed));
    // The noisy points of the first held-out set, for `iterop solve fixed-point --torchscript` on the saved file.
    write_file_atomically(folder / fmt::format("noisy_seed{}.csv", o.seed), operators::tensor_csv_text(r.first_test_set));
    Record rec{{"seed", o.seed}, {"final_loss", record_number(r.final_loss)}, {"train_seconds", r.train_seconds},
               {"parameters", r.parameters}, {"fixed_point_status", r.fixed_point_status},
               {"fixed_point_iterations", r.fixed_point_iterations},
               {"fixed_point_residual", record_number(r.fixed_point_residual)},
               {"rho", record_number(r.contraction.jacobian_spectral_radius)},
               {"jacobian_norm", record_number(r.contraction.jacobian_norm)},
               {"picard_rate", record_number(r.contraction.mean_ratio)}};
    for (const auto& e : r.errors) {
      rec["k"].push_back(e.iterations);
      rec["rmse"].push_back(record_number(e.rmse));
      rec["curve_distance"].push_back(record_number(e.curve_distance));
    }
    return rec;
  };
  s.progress = [](const Record& r) {
    const auto rmse = numbers_of(r["rmse"]);
    return fmt::format(": RMSE noisy {:.4f}, 1 iteration {:.4f}, fixed point {:.4f} ({})", rmse.front(), rmse[1],
                       rmse.back(), text_of(r, "fixed_point_status"));
  };
  s.report = [](const Records& records, StudyReport& out) {
    std::vector<Record> rows;
    for (const auto& r : records) {
      const auto k = numbers_of(r["k"]), rmse = numbers_of(r["rmse"]), dist = numbers_of(r["curve_distance"]);
      for (std::size_t j = 0; j < k.size(); ++j)
        rows.push_back({{"seed", r["seed"]}, {"k", k[j]}, {"iterations", k_text(k[j])}, {"rmse", rmse[j]},
                        {"curve_distance", dist[j]}});
    }
    const Records by_k = Records(rows).summarise({"iterations"}, {"rmse", "curve_distance"});
    std::string md = "## Errors after k iterations (mean over seeds)\n\n" +
                     by_k.table({Column::text("iterations", "iterations", Align::right),
                                 Column::number("RMSE", "rmse_mean", f4), Column::number("RMSE std", "rmse_std", f4),
                                 Column::number("curve distance", "curve_distance_mean", f4),
                                 Column::number("curve distance std", "curve_distance_std", f4)})
                         .to_markdown() +
                     "\n(k = 0 is the noisy input y.)\n\n## Per seed\n\n" +
                     records
                         .table({Column::text("seed", "seed", Align::right), Column::number("final loss", "final_loss", f4),
                                 Column::text("fixed point", "fixed_point_status"),
                                 Column::text("Anderson iterations", "fixed_point_iterations", Align::right),
                                 Column::number("rho(T'(x*))", "rho", f4), Column::number("||T'(x*)||_2", "jacobian_norm", f4),
                                 Column::number("Picard rate", "picard_rate", f4),
                                 Column::number("train s", "train_seconds", format_seconds)})
                         .to_markdown() +
                     "\n";
    Panel rmse{.title = "RMSE to the clean points", .x_label = "iterations k", .y_label = "RMSE", .log_y = false};
    Panel dist{.title = "distance to the clean curve", .x_label = "iterations k", .y_label = "mean distance", .log_y = false};
    for (const auto& r : records) {
      const auto k = numbers_of(r["k"]);
      std::vector<double> ks(k.begin(), k.end() - 1);  // the fixed point drawn as a line at its level
      const auto e = numbers_of(r["rmse"]), d = numbers_of(r["curve_distance"]);
      const std::string label = "seed " + text_of(r, "seed");
      rmse.series.push_back({label, ks, {e.begin(), e.end() - 1}});
      rmse.series.push_back({label + " fixed point", {0, ks.back()}, {e.back(), e.back()}, "", 2});
      dist.series.push_back({label, ks, {d.begin(), d.end() - 1}});
      dist.series.push_back({label + " fixed point", {0, ks.back()}, {d.back(), d.back()}, "", 2});
    }
    md += out.plot("error_vs_iterations", Figure{.panels = {rmse, dist}},
                   "Errors after k iterations (solid) and at the fixed point (dashed).");
    const auto mean_at = [&](const std::string& it) {
      const Records m = by_k.where("iterations", it);
      return m.empty() ? 0.0 : number_of(m[0], "rmse_mean");
    };
    return ReportText{md,
                      fmt::format("RMSE noisy {:.4f}, k = 1 {:.4f}, k = 8 {:.4f}, fixed point {:.4f}", mean_at("0"),
                                  mean_at("1"), mean_at("8"), mean_at("fixed point")),
                      Records(rows)};
  };
  return s;
}

Experiment recycling_experiment() {
  return study_experiment(
      "recycling",
      "A point-set refinement network (TorchScript, trained in C++ to improve its own output) after 1, 2, 4, 8 "
      "iterations and at its fixed point: does iterating help?",
      false, [](const ExperimentContext& c) {
        operators::RefinerOptions o;
        const bool full = c.size == RunSize::full;
        if (full) o.training_steps = 1000;
        return recycling_study(o, full ? 5 : 1, c);
      });
}

}  // namespace iterop::experiments
