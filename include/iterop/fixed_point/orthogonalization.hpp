// Orthogonalization: how Anderson acceleration orthogonalises a new residual difference against the
// columns of its thin QR factor (classical or modified Gram-Schmidt, each applied twice).
#pragma once

#include <string_view>

namespace iterop {

/// How a new column of dF is orthogonalised against Q (Anderson::orthogonalization).
enum class Orthogonalization {
  cgs2,  ///< classical Gram-Schmidt, twice (two fused passes of dot products)
  mgs2,  ///< modified Gram-Schmidt, twice
};

/// "cgs2" or "mgs2" (the name in Anderson::describe()).
constexpr std::string_view to_string(Orthogonalization o) {
  switch (o) {
    case Orthogonalization::cgs2: return "cgs2";
    case Orthogonalization::mgs2: return "mgs2";
  }
  return "unknown";
}

}  // namespace iterop
