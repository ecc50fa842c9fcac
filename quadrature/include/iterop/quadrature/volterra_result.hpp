// VolterraResult: what a Volterra solve returns: grid, solution, Status, work counters, per-step
// statistics and, for problems with an exact solution, the maximum error over the nodes.
#pragma once

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "iterop/core/status.hpp"

namespace iterop::quadrature {

/// Result of a Volterra solve on the nodes t (the grid nodes, or the midpoints for a first-kind rule).
struct VolterraResult {
  std::string method;               ///< e.g. "trapezoid"
  int order = 0;                    ///< the method's stated order
  int dimension = 1;
  std::vector<double> t;            ///< the nodes where y is computed
  std::vector<double> y;            ///< flat: y[i * dimension + c]; only the nodes reached
  Status status = Status::converged;
  std::string message;
  long kernel_evaluations = 0;      ///< K(t, s, y) calls (a(t - s) calls for convolution kernels)
  long forcing_evaluations = 0;
  /// Kernel calls of the step verification: after an implicit step reports convergence, Phi is
  /// evaluated once more at the returned point and its true residual checked (Picard and Anderson steps;
  /// Newton tests the returned point itself). Not counted in kernel_evaluations (the method's work).
  long verification_evaluations = 0;
  long nonlinear_iterations = 0;    ///< iterations of the implicit equations, all steps
  std::vector<int> step_iterations; ///< per step (or block)
  double max_error = std::numeric_limits<double>::quiet_NaN();  ///< max_i max_c |y_c(t_i) - exact|
  double blow_up_time = std::numeric_limits<double>::quiet_NaN(); ///< where the solve stopped early, if it did
  /// Status::blow_up only (blow_up.hpp): t* of the fit y ~ C (t* - t)^(-p), the exponent p, and the
  /// last node the grid resolves (h g <= 0.1 for the growth rate g = d log|y| / dt); NaN otherwise.
  double blow_up_estimate = std::numeric_limits<double>::quiet_NaN();
  double blow_up_exponent = std::numeric_limits<double>::quiet_NaN();
  double last_reliable_time = std::numeric_limits<double>::quiet_NaN();
  double seconds = 0;

  bool converged() const { return status == Status::converged; }
  int nodes() const { return static_cast<int>(y.size()) / dimension; }
  double value(int i, int c = 0) const { return y[static_cast<std::size_t>(i) * dimension + c]; }

  std::string brief_report() const {
    char buf[512];
    std::snprintf(buf, sizeof buf, "%s (order %d): %s, %d nodes, %ld kernel evaluations, max error %.3e, %.3g s",
                  method.c_str(), order, std::string(to_string(status)).c_str(), nodes(), kernel_evaluations,
                  max_error, seconds);
    return buf;
  }
};

}  // namespace iterop::quadrature
