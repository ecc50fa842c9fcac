// Seeded samplers for the flow-matching data sets of PROBLEMS.md.
#include "iterop/distributions/flow_datasets.hpp"

#include <array>
#include <cmath>
#include <numbers>
#include <random>

#include "iterop/core/errors.hpp"

namespace iterop::distributions {
namespace {

using Rng = std::mt19937_64;

double normal(Rng& rng) { return std::normal_distribution<double>(0.0, 1.0)(rng); }
double uniform(Rng& rng) { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); }
std::size_t pick(Rng& rng, std::size_t count) { return std::uniform_int_distribution<std::size_t>(0, count - 1)(rng); }

void fill_normal(SampleSet& s, Rng& rng) {
  for (double& v : s.values) v = normal(rng);
}

void eight_gaussians(SampleSet& s, Rng& rng) {
  const double sd = std::sqrt(0.1);
  for (std::size_t i = 0; i < s.rows; ++i) {
    const double angle = static_cast<double>(pick(rng, 8)) * std::numbers::pi / 4.0;
    s(i, 0) = 5.0 * std::cos(angle) + sd * normal(rng);
    s(i, 1) = 5.0 * std::sin(angle) + sd * normal(rng);
  }
}

// scikit-learn's make_moons: even rows on the upper moon, odd rows on the lower one (the angle is
// uniform here rather than on a grid), Gaussian noise 0.2, then x * 3 - 1 as in CaLMFlow.
void moons(SampleSet& s, Rng& rng) {
  for (std::size_t i = 0; i < s.rows; ++i) {
    const double theta = std::numbers::pi * uniform(rng);
    double x = 0, y = 0;
    if (i % 2 == 0) {
      x = std::cos(theta);
      y = std::sin(theta);
    } else {
      x = 1.0 - std::cos(theta);
      y = 0.5 - std::sin(theta);
    }
    s(i, 0) = (x + 0.2 * normal(rng)) * 3.0 - 1.0;
    s(i, 1) = (y + 0.2 * normal(rng)) * 3.0 - 1.0;
  }
}

// FFJORD: x1 ~ U[-2, 2), x2 ~ U[0, 1) - 2 B + (floor(x1) mod 2), B ~ Bernoulli(1/2); both times 2.
void checkerboard(SampleSet& s, Rng& rng) {
  for (std::size_t i = 0; i < s.rows; ++i) {
    const double x1 = 4.0 * uniform(rng) - 2.0;
    const double shift = 2.0 * static_cast<double>(pick(rng, 2));
    const double column = std::floor(x1);
    const double parity = column - 2.0 * std::floor(column / 2.0);  // floor(x1) mod 2, in {0, 1}
    const double x2 = uniform(rng) - shift + parity;
    s(i, 0) = 2.0 * x1;
    s(i, 1) = 2.0 * x2;
  }
}

// FFJORD "2spirals": r = sqrt(u) * 540 degrees, arm (-cos r r, sin r r) + U[0, 0.5)^2 and its mirror
// image, divided by 3, plus N(0, 0.1^2) noise. Even rows on one arm, odd rows on the other.
void spirals(SampleSet& s, Rng& rng) {
  for (std::size_t i = 0; i < s.rows; ++i) {
    const double r = std::sqrt(uniform(rng)) * 540.0 * 2.0 * std::numbers::pi / 360.0;
    double x = -std::cos(r) * r + 0.5 * uniform(rng);
    double y = std::sin(r) * r + 0.5 * uniform(rng);
    if (i % 2 == 1) {
      x = -x;
      y = -y;
    }
    s(i, 0) = x / 3.0 + 0.1 * normal(rng);
    s(i, 1) = y / 3.0 + 0.1 * normal(rng);
  }
}

template <std::size_t M>
void mixture_on_first_axis(SampleSet& s, Rng& rng, const std::array<double, M>& means) {
  fill_normal(s, rng);
  for (std::size_t i = 0; i < s.rows; ++i) s(i, 0) += means[pick(rng, M)];
}

}  // namespace

std::vector<DatasetInfo> dataset_catalogue() {
  return {
      {"normal", "standard normal N(0, I)", true},
      {"8gaussians", "8 Gaussians: centres 5 (cos k pi/4, sin k pi/4), variance 0.1", false},
      {"moons", "two moons (noise 0.2), scaled x * 3 - 1", false},
      {"checkerboard", "checkerboard on [-4, 4]^2, 8 dark squares of side 2", false},
      {"spirals", "two spirals of 540 degrees, noise 0.1", false},
      {"2gaussians", "Gaussians N(+-5 e_1, I), equal weights", true},
      {"4blobs", "Gaussians N(m e_1, I), m in {-15, -5, 5, 15}, equal weights", true},
  };
}

std::vector<std::string> dataset_names() {
  std::vector<std::string> names;
  for (const auto& d : dataset_catalogue()) names.push_back(d.name);
  return names;
}

SampleSet sample_dataset(std::string_view name, std::size_t n, std::size_t dim, std::uint64_t seed) {
  const auto catalogue = dataset_catalogue();
  const DatasetInfo* info = nullptr;
  std::string known;
  for (const auto& d : catalogue) {
    if (d.name == name) info = &d;
    known += (known.empty() ? "" : ", ") + d.name;
  }
  require(info != nullptr, "dataset", std::string(name), "one of " + known);
  require(n >= 1, "dataset " + std::string(name) + " size", n, "size >= 1");
  require(dim >= 1, "dataset " + std::string(name) + " dimension", dim, "dimension >= 1");
  require(info->any_dimension || dim == 2, "dataset " + std::string(name) + " dimension", dim,
          "dimension == 2 (a 2-D data set)");

  SampleSet s(n, dim);
  Rng rng(seed);
  if (name == "normal") fill_normal(s, rng);
  else if (name == "8gaussians") eight_gaussians(s, rng);
  else if (name == "moons") moons(s, rng);
  else if (name == "checkerboard") checkerboard(s, rng);
  else if (name == "spirals") spirals(s, rng);
  else if (name == "2gaussians") mixture_on_first_axis(s, rng, std::array<double, 2>{-5.0, 5.0});
  else mixture_on_first_axis(s, rng, std::array<double, 4>{-15.0, -5.0, 5.0, 15.0});
  return s;
}

}  // namespace iterop::distributions
