// A generated sample's distances to its target (distributions::SampleQuality) as JSON fields: the one
// spelling of n, w2, mmd2, energy and gamma in the studies' records and in the training commands' JSON.
#pragma once

#include <cmath>
#include <string>

#include "iterop/distributions/sample_distances.hpp"

namespace iterop::experiments {

/// Sets <prefix>n, <prefix>w2, <prefix>mmd2, <prefix>energy and <prefix>gamma of the JSON object `r`
/// (a Record or an nlohmann::json); a distance that is not finite becomes null.
template <class Json>
void put_quality(Json& r, const distributions::SampleQuality& q, const std::string& prefix = "") {
  auto number = [](double v) { return std::isfinite(v) ? Json(v) : Json(); };
  r[prefix + "n"] = q.n;
  r[prefix + "w2"] = number(q.w2);
  r[prefix + "mmd2"] = number(q.mmd2);
  r[prefix + "energy"] = number(q.energy);
  r[prefix + "gamma"] = q.gamma;
}

/// The same fields as an object of their own.
template <class Json>
Json quality_json(const distributions::SampleQuality& q) {
  Json r = Json::object();
  put_quality(r, q);
  return r;
}

}  // namespace iterop::experiments
