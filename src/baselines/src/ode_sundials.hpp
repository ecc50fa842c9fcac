// Private to iterop::baselines: what CVODE and ARKODE share in solve_ode (RAII owners of SUNDIALS
// objects, and the callbacks that route F and dF/dz through the counting wrapper).
#pragma once

#include <nvector/nvector_serial.h>
#include <sundials/sundials_context.h>
#include <sundials/sundials_linearsolver.h>
#include <sundials/sundials_matrix.h>
#include <sundials/sundials_nonlinearsolver.h>
#include <sunmatrix/sunmatrix_dense.h>

#include <cstddef>
#include <exception>
#include <memory>
#include <type_traits>

#include "ode_common.hpp"

namespace iterop::baselines::ode_detail {

// ---- RAII for SUNDIALS objects ------------------------------------------------------------------------

struct SunContext {
  SUNContext ctx = nullptr;
  SunContext() = default;
  SunContext(const SunContext&) = delete;
  SunContext& operator=(const SunContext&) = delete;
  ~SunContext() {
    if (ctx != nullptr) SUNContext_Free(&ctx);
  }
};
struct NVectorDeleter {
  void operator()(N_Vector v) const { N_VDestroy(v); }
};
struct MatrixDeleter {
  void operator()(SUNMatrix a) const { SUNMatDestroy(a); }
};
struct LinSolDeleter {
  void operator()(SUNLinearSolver s) const { SUNLinSolFree(s); }
};
struct NonlinSolDeleter {
  void operator()(SUNNonlinearSolver s) const { SUNNonlinSolFree(s); }
};
using NVectorPtr = std::unique_ptr<std::remove_pointer_t<N_Vector>, NVectorDeleter>;
using MatrixPtr = std::unique_ptr<std::remove_pointer_t<SUNMatrix>, MatrixDeleter>;
using LinSolPtr = std::unique_ptr<std::remove_pointer_t<SUNLinearSolver>, LinSolDeleter>;
using NonlinSolPtr = std::unique_ptr<std::remove_pointer_t<SUNNonlinearSolver>, NonlinSolDeleter>;

// ---- callbacks: F and dF/dz through the counting wrapper ---------------------------------------------
// A NaN or Inf is a recoverable failure (1): the integrator retries with a smaller step and gives up
// with a failure flag if that does not help. An exception is kept and stops the integrator (-1).

inline int rhs_callback(realtype t, N_Vector y, N_Vector ydot, void* data) {
  auto* run = static_cast<Run*>(data);
  try {
    return run->eval.rhs(t, N_VGetArrayPointer(y), N_VGetArrayPointer(ydot)) ? 0 : 1;
  } catch (...) {
    run->error = std::current_exception();
    return -1;
  }
}

inline int jacobian_callback(realtype t, N_Vector y, N_Vector, SUNMatrix jac, void* data, N_Vector, N_Vector,
                             N_Vector) {
  auto* run = static_cast<Run*>(data);
  const std::size_t n = run->eval.n();
  try {
    double* rowmajor = run->jac_buffer.data();
    if (!run->eval.jacobian(t, N_VGetArrayPointer(y), rowmajor)) return 1;
    double* colmajor = SUNDenseMatrix_Data(jac);
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t i = 0; i < n; ++i) colmajor[j * n + i] = rowmajor[i * n + j];
    return 0;
  } catch (...) {
    run->error = std::current_exception();
    return -1;
  }
}

}  // namespace iterop::baselines::ode_detail
