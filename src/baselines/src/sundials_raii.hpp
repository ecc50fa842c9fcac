// Private to iterop::baselines (and iterop::mpi's KINSOL adapter): RAII owners of SUNDIALS objects, one set for
// every adapter (KINSOL, CVODE, ARKODE). Header-only; includes only SUNDIALS' generic headers, so each adapter
// compiles it against its own N_Vector implementation.
#pragma once

#include <sundials/sundials_context.h>
#include <sundials/sundials_linearsolver.h>
#include <sundials/sundials_matrix.h>
#include <sundials/sundials_nonlinearsolver.h>
#include <sundials/sundials_nvector.h>

#include <memory>
#include <type_traits>

namespace iterop::baselines::sundials_detail {

/// Owns a SUNContext (created by the adapter with SUNContext_Create).
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

}  // namespace iterop::baselines::sundials_detail
