// Ceres Solver as a Newton-type reference: x = T(x) solved as the nonlinear least-squares problem
// min ||T(x) - x||^2 by Levenberg-Marquardt with a dense QR solver and numeric derivatives.
#pragma once

#include <string>
#include <vector>

#include "iterop/baselines/vector_operator.hpp"
#include "iterop/core/result.hpp"
#include "iterop/fixed_point/stop.hpp"

namespace iterop::baselines {

/// Options of the Ceres Levenberg-Marquardt baseline.
struct CeresLevenbergMarquardt {
  int max_iterations = 100;            ///< Ceres' max_num_iterations, >= 1
  double function_tolerance = 1e-16;   ///< Ceres' function_tolerance, >= 0
  double gradient_tolerance = 1e-20;   ///< Ceres' gradient_tolerance, >= 0
  double parameter_tolerance = 1e-16;  ///< Ceres' parameter_tolerance, >= 0
  bool central_differences = true;     ///< central (true) or forward numeric Jacobian
  int max_size = 4096;                 ///< refuse larger problems (dense Jacobian), >= 1

  void validate() const;
  std::string describe() const;
};

/// Solves T(x) - x = 0 by Levenberg-Marquardt. Result::iterations is Ceres' number of successful
/// and unsuccessful steps; Result::evaluations counts every call of T, Jacobian columns included;
/// the residual of the returned x is measured by iterop in Stop::norm, and Status::converged means
/// iterop's Stop test holds at the returned x (Ceres' own termination type is in Result::message).
Result<std::vector<double>> ceres_solve(const VectorOperator& op, std::vector<double> x0,
                                        const CeresLevenbergMarquardt& options, const Stop& stop = {});

}  // namespace iterop::baselines
