// Tests of the point-set refiner (the recycling demonstration): options refused with their rule; an
// untrained step is the identity (its last layer starts at zero), so every iterate is the noisy input,
// its Jacobian is I (rho = ||J|| = 1) and the fixed point is y itself; a trained step is saved as a
// TorchScript file that TorchScriptOperator loads as forward(x, y), improves on the noisy input, and
// runs are identical for a seed.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "iterop/core/errors.hpp"
#include "iterop/operators/point_set_refiner.hpp"
#include "iterop/operators/torchscript_function.hpp"

using namespace iterop::operators;
namespace fs = std::filesystem;

namespace {

RefinerOptions small() {
  RefinerOptions o;
  o.points = 24;
  o.batch = 8;
  o.training_steps = 80;
  o.test_sets = 8;
  o.width = 16;
  return o;
}

fs::path model_path(const std::string& name) { return fs::temp_directory_path() / ("iterop_refiner_" + name + ".pt"); }

}  // namespace

TEST(PointSetRefiner, OptionsAreValidated) {
  const auto message = [](RefinerOptions o) {
    try {
      o.validate();
    } catch (const iterop::invalid_option& e) {
      return std::string(e.what());
    }
    return std::string("(none)");
  };
  RefinerOptions o;
  o.points = 3;
  EXPECT_EQ(message(o), "RefinerOptions::points = 3. Violated constraint: points >= 4.");
  o = {};
  o.eval_iterations = {1, 0};
  EXPECT_EQ(message(o), "RefinerOptions::eval_iterations = 0. Violated constraint: every entry >= 1.");
  o = {};
  o.noise = 0;
  EXPECT_NE(message(o).find("noise > 0"), std::string::npos);
}

TEST(PointSetRefiner, UntrainedStepIsTheIdentity) {
  RefinerOptions o = small();
  o.training_steps = 0;
  const auto file = model_path("identity");
  const RefinerReport r = run_point_set_refiner(o, file);
  ASSERT_EQ(r.errors.size(), 6u);  // noisy, k = 1, 2, 4, 8, fixed point
  const std::vector<int> ks{0, 1, 2, 4, 8, -1};
  for (std::size_t i = 0; i < ks.size(); ++i) {
    EXPECT_EQ(r.errors[i].iterations, ks[i]);
    EXPECT_DOUBLE_EQ(r.errors[i].rmse, r.errors[0].rmse) << i;
  }
  EXPECT_EQ(r.fixed_point_status, "converged");
  EXPECT_NEAR(r.contraction.jacobian_spectral_radius, 1.0, 1e-12);
  EXPECT_NEAR(r.contraction.jacobian_norm, 1.0, 1e-12);
  EXPECT_EQ(r.first_test_set.shape, (std::vector<std::int64_t>{24, 2}));
  fs::remove(file);
}

TEST(PointSetRefiner, TrainedStepIsASavedTorchScriptFileThatImprovesTheNoisyInput) {
  const RefinerOptions o = small();
  const auto file = model_path("trained");
  const RefinerReport r = run_point_set_refiner(o, file);
  const TorchScriptFunction f(file);
  EXPECT_EQ(f.arity(), 2);
  EXPECT_LT(r.errors[1].rmse, r.errors[0].rmse);  // one step of the trained network removes noise
  EXPECT_GT(r.parameters, 0);
  const RefinerReport again = run_point_set_refiner(o, file);
  for (std::size_t i = 0; i < r.errors.size(); ++i) EXPECT_EQ(r.errors[i].rmse, again.errors[i].rmse) << i;
  fs::remove(file);
}
