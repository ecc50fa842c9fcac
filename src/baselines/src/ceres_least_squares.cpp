// Ceres Solver (2.1) as a Newton-type reference: x = T(x) solved as min ||T(x) - x||^2 by
// Levenberg-Marquardt, dense QR, numeric derivatives; iterop counts every T call and judges the result.
#include <ceres/ceres.h>

#include <glog/logging.h>

#include <chrono>
#include <cmath>
#include <exception>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "iterop/baselines/ceres_least_squares.hpp"
#include "iterop/core/errors.hpp"
#include "iterop/core/norm.hpp"
#include "iterop/core/vector_ops.hpp"
#include "iterop/diagnostics/observed_rate.hpp"

namespace iterop::baselines {

void CeresLevenbergMarquardt::validate() const {
  require(max_iterations >= 1, "CeresLevenbergMarquardt::max_iterations", max_iterations, "max_iterations >= 1");
  require(function_tolerance >= 0 && std::isfinite(function_tolerance), "CeresLevenbergMarquardt::function_tolerance",
          function_tolerance, "function_tolerance >= 0 and finite");
  require(gradient_tolerance >= 0 && std::isfinite(gradient_tolerance), "CeresLevenbergMarquardt::gradient_tolerance",
          gradient_tolerance, "gradient_tolerance >= 0 and finite");
  require(parameter_tolerance >= 0 && std::isfinite(parameter_tolerance),
          "CeresLevenbergMarquardt::parameter_tolerance", parameter_tolerance, "parameter_tolerance >= 0 and finite");
  require(max_size >= 1, "CeresLevenbergMarquardt::max_size", max_size, "max_size >= 1");
}

std::string CeresLevenbergMarquardt::describe() const {
  return std::string("Ceres Levenberg-Marquardt(dense QR, ") + (central_differences ? "central" : "forward") +
         " differences)";
}

namespace {

/// State shared by the residual functor and the iteration callback.
struct Shared {
  const VectorOperator* op = nullptr;
  std::size_t n = 0;
  long evaluations = 0;
  bool saw_non_finite = false;
  std::exception_ptr error;
};

/// residual = T(x) - x; counts the call; fails (returns false) on NaN/Inf or an exception of T.
struct Residual {
  Shared* shared;
  bool operator()(double const* const* parameters, double* residual) const {
    if (shared->error) return false;
    const double* x = parameters[0];
    const std::size_t n = shared->n;
    try {
      (*shared->op)(std::span<const double>(x, n), std::span<double>(residual, n));
    } catch (...) {
      shared->error = std::current_exception();
      return false;
    }
    ++shared->evaluations;
    bool finite = true;
    for (std::size_t i = 0; i < n; ++i) {
      residual[i] -= x[i];
      finite = finite && std::isfinite(residual[i]);
    }
    if (!finite) shared->saw_non_finite = true;
    return finite;
  }
};

using Vec = std::vector<double>;

/// ||T(x) - x|| in the Stop norm; evaluates T (counted).
double true_residual(Shared& s, const Vec& x, const Stop& stop) {
  Vec g(x.size());
  (*s.op)(std::span<const double>(x), std::span<double>(g));
  ++s.evaluations;
  for (std::size_t i = 0; i < x.size(); ++i) g[i] -= x[i];
  return measure(stop.norm, g, x, stop.rel_tol, stop.abs_tol);
}

/// Records one history row per Ceres iteration (the parameter block holds the current x, since
/// update_state_every_iteration is set) and aborts on an exception of T or on Stop::max_evaluations.
class Recorder : public ceres::IterationCallback {
 public:
  using clock = std::chrono::steady_clock;
  Recorder(Shared& s, const Vec& x, const Stop& stop, std::vector<IterationRecord>& history, clock::time_point t0)
      : s_(s), x_(x), stop_(stop), history_(history), t0_(t0), prev_(x), diff_(x.size()) {
    for (const auto& r : history_) residuals_.push_back(r.residual);
  }

  ceres::CallbackReturnType operator()(const ceres::IterationSummary& it) override {
    if (s_.error) return ceres::SOLVER_ABORT;
    if (it.iteration == 0) return ceres::SOLVER_CONTINUE;  // x0 is recorded by ceres_solve
    IterationRecord rec;
    rec.iteration = it.iteration;
    // Norm::two: Ceres' cost is 0.5 ||T(x) - x||^2. Other norms need the residual vector: one more T.
    if (stop_.norm == Norm::two) {
      rec.residual = std::sqrt(2.0 * it.cost);
    } else {
      try {
        rec.residual = true_residual(s_, x_, stop_);
      } catch (...) {
        s_.error = std::current_exception();
        return ceres::SOLVER_ABORT;
      }
    }
    rec.evaluations = s_.evaluations;
    for (std::size_t i = 0; i < x_.size(); ++i) diff_[i] = x_[i] - prev_[i];
    rec.step = measure(stop_.norm, diff_, x_, stop_.rel_tol, stop_.abs_tol);
    rec.ratio = rec.residual / history_.back().residual;
    residuals_.push_back(rec.residual);
    rec.rate = observed_rate(residuals_, 5);
    prev_ = x_;
    rec.seconds = std::chrono::duration<double>(clock::now() - t0_).count();
    history_.push_back(rec);
    if (s_.evaluations >= stop_.max_evaluations) {
      budget_exhausted_ = true;
      return ceres::SOLVER_ABORT;
    }
    return ceres::SOLVER_CONTINUE;
  }

  bool budget_exhausted() const { return budget_exhausted_; }

 private:
  Shared& s_;
  const Vec& x_;
  const Stop& stop_;
  std::vector<IterationRecord>& history_;
  clock::time_point t0_;
  Vec prev_, diff_;
  std::vector<double> residuals_;
  bool budget_exhausted_ = false;
};

const char* termination_name(ceres::TerminationType t) { return ceres::TerminationTypeToString(t); }

/// Keeps glog quiet while Ceres runs: logging_type = SILENT does not cover the minimizer's LOG(ERROR)
/// lines (e.g. "Terminating: Residual and Jacobian evaluation failed."), whose text is in
/// Summary::message anyway. glog's threshold is process-wide, so the guard is reference-counted:
/// the first solve in raises it, the last one out restores the caller's value.
class QuietGlog {
 public:
  QuietGlog() {
    std::lock_guard<std::mutex> lock(mutex());
    if (count()++ == 0) {
      saved() = FLAGS_minloglevel;
      FLAGS_minloglevel = google::GLOG_FATAL;
    }
  }
  ~QuietGlog() {
    std::lock_guard<std::mutex> lock(mutex());
    if (--count() == 0) FLAGS_minloglevel = saved();
  }
  QuietGlog(const QuietGlog&) = delete;
  QuietGlog& operator=(const QuietGlog&) = delete;

 private:
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  static int& count() {
    static int c = 0;
    return c;
  }
  static int& saved() {
    static int s = 0;
    return s;
  }
};

}  // namespace

Result<std::vector<double>> ceres_solve(const VectorOperator& op, std::vector<double> x0,
                                        const CeresLevenbergMarquardt& options, const Stop& stop) {
  using clock = std::chrono::steady_clock;
  options.validate();
  stop.validate();
  require(static_cast<bool>(op), "ceres_solve: op", std::string("an empty std::function"), "a callable operator");
  require(!x0.empty(), "ceres_solve: x0.size()", x0.size(), "x0.size() >= 1");
  require(x0.size() <= static_cast<std::size_t>(options.max_size), "ceres_solve: x0.size()", x0.size(),
          "x0.size() <= CeresLevenbergMarquardt::max_size = " + std::to_string(options.max_size) +
              " (the Jacobian is dense)");

  const auto t0 = clock::now();
  Result<Vec> res;
  res.method = options.describe();
  res.norm = stop.norm;
  res.returned = Returned::last;  // Ceres returns its last accepted iterate

  Shared shared;
  shared.op = &op;
  shared.n = x0.size();

  // iterop's tolerance needs ||T(x0) - x0||: one evaluation before Ceres starts.
  const double r0 = true_residual(shared, x0, stop);
  const double tol = stop.norm == Norm::wrms ? 1.0 : stop.abs_tol + stop.rel_tol * r0;
  res.initial_residual = r0;
  {
    IterationRecord rec;
    rec.evaluations = shared.evaluations;
    rec.residual = r0;
    res.history.push_back(rec);
  }
  auto finish = [&](Status status, std::string message, Vec x, double r) {
    res.status = status;
    res.message = std::move(message);
    res.solution = std::move(x);
    res.residual = r;
    res.evaluations = shared.evaluations;
    res.seconds = std::chrono::duration<double>(clock::now() - t0).count();
    return std::move(res);
  };
  if (!std::isfinite(r0)) {
    return finish(Status::non_finite, "T(x0) - x0 is not finite (NaN or Inf).", std::move(x0), r0);
  }

  Vec x = std::move(x0);
  ceres::Problem problem;  // owns the cost function
  ceres::DynamicCostFunction* cost = nullptr;
  ceres::NumericDiffOptions nd;
  if (options.central_differences)
    cost = new ceres::DynamicNumericDiffCostFunction<Residual, ceres::CENTRAL>(new Residual{&shared},
                                                                             ceres::TAKE_OWNERSHIP, nd);
  else
    cost = new ceres::DynamicNumericDiffCostFunction<Residual, ceres::FORWARD>(new Residual{&shared},
                                                                             ceres::TAKE_OWNERSHIP, nd);
  cost->AddParameterBlock(static_cast<int>(x.size()));
  cost->SetNumResiduals(static_cast<int>(x.size()));
  problem.AddResidualBlock(cost, nullptr, x.data());

  Recorder recorder(shared, x, stop, res.history, t0);
  ceres::Solver::Options so;
  so.minimizer_type = ceres::TRUST_REGION;
  so.trust_region_strategy_type = ceres::LEVENBERG_MARQUARDT;
  so.linear_solver_type = ceres::DENSE_QR;
  so.max_num_iterations = options.max_iterations;
  so.function_tolerance = options.function_tolerance;
  so.gradient_tolerance = options.gradient_tolerance;
  so.parameter_tolerance = options.parameter_tolerance;
  so.minimizer_progress_to_stdout = false;
  so.logging_type = ceres::SILENT;
  so.num_threads = 1;
  so.update_state_every_iteration = true;
  so.callbacks.push_back(&recorder);

  ceres::Solver::Summary summary;
  {
    QuietGlog quiet;
    ceres::Solve(so, &problem, &summary);
  }
  if (shared.error) std::rethrow_exception(shared.error);

  res.iterations = summary.num_successful_steps + summary.num_unsuccessful_steps;
  res.returned_iteration = res.iterations;
  res.counters = {{"ceres_successful_steps", static_cast<double>(summary.num_successful_steps)},
                  {"ceres_unsuccessful_steps", static_cast<double>(summary.num_unsuccessful_steps)},
                  {"ceres_residual_evaluations", static_cast<double>(summary.num_residual_evaluations)},
                  {"ceres_jacobian_evaluations", static_cast<double>(summary.num_jacobian_evaluations)},
                  {"ceres_initial_cost", summary.initial_cost},
                  {"ceres_final_cost", summary.final_cost},
                  {"ceres_termination_type", static_cast<double>(summary.termination_type)}};

  const double r = true_residual(shared, x, stop);
  if (res.history.back().iteration < res.iterations) {  // Ceres ends an iteration without a callback
    IterationRecord rec;
    rec.iteration = res.iterations;
    rec.evaluations = shared.evaluations;
    rec.residual = r;
    rec.ratio = r / res.history.back().residual;
    rec.seconds = std::chrono::duration<double>(clock::now() - t0).count();
    res.history.push_back(rec);
  }
  const std::string ceres_said =
      " Ceres: " + std::string(termination_name(summary.termination_type)) + ": " + summary.message + " (" +
      summary.BriefReport() + ")";
  const std::string judged = "true residual ||T(x) - x|| = " + format_value(r) + " (" +
                             std::string(iterop::to_string(stop.norm)) + "), iterop's tolerance " + format_value(tol);
  if (!std::isfinite(r))
    return finish(Status::non_finite, "The returned iterate has a non-finite " + judged + "." + ceres_said, std::move(x),
                  r);
  if (r <= tol) return finish(Status::converged, "Converged: " + judged + "." + ceres_said, std::move(x), r);
  if (recorder.budget_exhausted())
    return finish(Status::max_evaluations,
                  "Reached Stop::max_evaluations = " + std::to_string(stop.max_evaluations) + "; " + judged + "." +
                      ceres_said,
                  std::move(x), r);
  switch (summary.termination_type) {
    case ceres::NO_CONVERGENCE:
      return finish(Status::max_iterations,
                    "Reached CeresLevenbergMarquardt::max_iterations = " + std::to_string(options.max_iterations) +
                        "; " + judged + " not met." + ceres_said,
                    std::move(x), r);
    case ceres::CONVERGENCE:
    case ceres::USER_SUCCESS:
      // Ceres declared success on its own tolerances; the true residual does not hold: the audit's status.
      return finish(Status::verification_failed,
                    "Ceres returned " + std::string(termination_name(summary.termination_type)) +
                        " (its own tolerances), but the " + judged + " is not met: not converged." + ceres_said,
                    std::move(x), r);
    default:
      return finish(shared.saw_non_finite ? Status::non_finite : Status::stagnated,
                    std::string("Ceres failed") + (shared.saw_non_finite ? " after T produced NaN or Inf" : "") +
                        "; " + judged + " not met." + ceres_said,
                    std::move(x), r);
  }
}

}  // namespace iterop::baselines
