// Tests of TorchScriptOperator: TorchScript steps written here (torch::jit::Module::define, saved and
// loaded back) solve to the same fixed point as the same step in C++ with Picard, KM and Anderson;
// forward(x, inputs); the Jacobian diagnostics against eigenvalues and SVD; bad files and bad steps
// refused with a message; tensor files (CSV, torch::save, torch::pickle_save); the plain facade.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/script.h>
#include <torch/torch.h>

#include "iterop/core/errors.hpp"
#include "iterop/iterop.hpp"
#include "iterop/operators/torch_vector_ops.hpp"
#include "iterop/operators/torchscript_operator.hpp"

using namespace iterop::operators;
namespace fs = std::filesystem;

namespace {

/// A folder under the temporary folder, removed at the end of the test.
struct Scratch {
  fs::path path;
  Scratch() {
    path = fs::temp_directory_path() /
           ("iterop_ts_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Scratch() { fs::remove_all(path); }
};

/// Saves a module with float64 parameters `params` and TorchScript `source` to dir/name.
fs::path save_module(const fs::path& dir, const std::string& name,
                     const std::vector<std::pair<std::string, torch::Tensor>>& params, const std::string& source) {
  torch::jit::Module m("Step");
  for (const auto& [n, t] : params) m.register_parameter(n, t, /*is_buffer=*/false);
  m.define(source);
  const fs::path file = dir / name;
  m.save(file.string());
  return file;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const iterop::invalid_option& e) {
    return e.what();
  }
  return "(no invalid_option thrown)";
}

/// W with ||W||_2 = 0.6 (seeded), b, and the C++ step tanh(W x + b).
struct Layer {
  torch::Tensor w, b;
  explicit Layer(int64_t n, std::uint64_t seed) {
    torch::manual_seed(seed);
    w = torch::randn({n, n}, torch::kFloat64);
    w = 0.6 * w / torch::linalg::svdvals(w, c10::nullopt).max();
    b = torch::randn({n}, torch::kFloat64);
  }
  torch::Tensor operator()(const torch::Tensor& x) const { return torch::tanh(torch::mv(w, x) + b); }
  /// The same step in TorchScript, saved to dir/name.
  fs::path save(const fs::path& dir, const std::string& name) const {
    return save_module(dir, name, {{"w", w}, {"b", b}},
                       "def forward(self, x):\n    return torch.tanh(torch.mv(self.w, x) + self.b)\n");
  }
};

const iterop::Stop tight{.abs_tol = 1e-13, .rel_tol = 0.0, .max_iterations = 500};

}  // namespace

TEST(TorchScriptOperator, StepWrittenInTorchScriptSolvesToTheFixedPointOfTheSameStepInCpp) {
  Scratch dir;
  const Layer layer(16, 7);
  const auto file = layer.save(dir.path, "step.pt");
  const TorchScriptOperator op(file);
  EXPECT_EQ(op.arity(), 1);
  EXPECT_NE(op.signature().find("Tensor x"), std::string::npos) << op.signature();
  const torch::Tensor x0 = torch::zeros({16}, torch::kFloat64);
  const auto cpp_step = [&](const torch::Tensor& x) { return layer(x); };
  const auto reference = iterop::solve(cpp_step, x0, iterop::Anderson{.memory = 5}, tight);
  ASSERT_TRUE(reference.usable()) << reference.full_report();
  EXPECT_LT((layer(reference.solution) - reference.solution).abs().max().item<double>(), 1e-12);
  const auto check = [&](const auto& r) {
    ASSERT_TRUE(r.usable()) << r.full_report();
    EXPECT_LT((r.solution - reference.solution).abs().max().template item<double>(), 1e-11) << r.brief_report();
  };
  check(iterop::solve(op, x0, iterop::Picard{}, tight));
  check(iterop::solve(op, x0, iterop::KrasnoselskiiMann{.relaxation = 0.7}, tight));
  check(iterop::solve(op, x0, iterop::Anderson{.memory = 5}, tight));
  // The same evaluations on one point, and the step is differentiable (its Jacobian is W's, scaled).
  const auto x = torch::randn({16}, torch::kFloat64);
  EXPECT_LT((op(x) - layer(x)).abs().max().item<double>(), 1e-15);
  EXPECT_LT((op.step()(x) - layer(x)).abs().max().item<double>(), 1e-15);
}

TEST(TorchScriptOperator, ForwardWithInputsIteratesXWithTheInputsFixed) {
  Scratch dir;
  const auto file = save_module(dir.path, "step2.pt", {},
                                "def forward(self, x, inputs):\n    return 0.5 * torch.sin(x) + inputs\n");
  TorchScriptOperator op(file);
  EXPECT_EQ(op.arity(), 2);
  const auto x0 = torch::zeros({3, 4}, torch::kFloat64);
  EXPECT_NE(message_of([&] { op(x0); }).find("set_inputs"), std::string::npos);
  torch::manual_seed(1);
  const auto inputs = torch::randn({3, 4}, torch::kFloat64);
  op.set_inputs(inputs);
  const auto r = iterop::solve(op, x0, iterop::Anderson{.memory = 3}, tight);
  ASSERT_TRUE(r.usable()) << r.full_report();
  const auto cpp = iterop::solve([&](const torch::Tensor& x) { return 0.5 * torch::sin(x) + inputs; }, x0,
                                 iterop::Anderson{.memory = 3}, tight);
  EXPECT_LT((r.solution - cpp.solution).abs().max().item<double>(), 1e-11);
  EXPECT_EQ(r.solution.sizes(), x0.sizes());
}

TEST(TorchScriptOperator, DiagnosticsOfALinearStepAreItsEigenvaluesAndSingularValues) {
  Scratch dir;
  const int64_t n = 10;
  torch::manual_seed(4);
  std::vector<double> eig{0.85, -0.5, 0.4, 0.3, -0.25, 0.2, 0.1, 0.05, 0.0, -0.1};
  auto s = torch::eye(n, torch::kFloat64) + 0.3 * torch::randn({n, n}, torch::kFloat64) / std::sqrt(double(n));
  const auto a = torch::mm(torch::mm(s, torch::diag(torch::tensor(eig, torch::kFloat64))), torch::inverse(s));
  const auto b = torch::randn({n}, torch::kFloat64);
  const auto file =
      save_module(dir.path, "linear.pt", {{"a", a}, {"b", b}}, "def forward(self, x):\n    return torch.mv(self.a, x) + self.b\n");
  const TorchScriptOperator op(file);
  const StepContraction c = step_contraction(op.step(), torch::zeros({n}, torch::kFloat64), 400);
  EXPECT_NEAR(c.jacobian_spectral_radius, 0.85, 1e-8);
  EXPECT_TRUE(c.jacobian_radius_converged);
  EXPECT_NEAR(c.jacobian_norm, torch::linalg::svdvals(a, c10::nullopt).max().item<double>(), 1e-8);
  EXPECT_LT(c.final_residual, 1e-9);
  EXPECT_NEAR(c.mean_ratio, 0.85, 0.01) << c.iterations << " iterations";  // Picard's observed rate is rho
}

TEST(TorchScriptOperator, BadFilesAndStepsAreRefusedWithAMessage) {
  Scratch dir;
  EXPECT_NE(message_of([&] { TorchScriptOperator(dir.path / "absent.pt"); }).find("absent.pt = missing"),
            std::string::npos);
  const fs::path text = dir.path / "text.pt";
  std::ofstream(text) << "not a module\n";
  EXPECT_NE(message_of([&] { TorchScriptOperator{text}; }).find("a TorchScript module"), std::string::npos);
  const auto three = save_module(dir.path, "three.pt", {}, "def forward(self, x, y, z):\n    return x + y + z\n");
  const std::string m3 = message_of([&] { TorchScriptOperator{three}; });
  EXPECT_NE(m3.find("forward(x) or forward(x, inputs)"), std::string::npos) << m3;
  EXPECT_NE(m3.find("Tensor z"), std::string::npos) << m3;  // the schema is printed
  const auto integer = save_module(dir.path, "int.pt", {}, "def forward(self, x: int):\n    return torch.zeros(x)\n");
  EXPECT_NE(message_of([&] { TorchScriptOperator{integer}; }).find("Tensor arguments"), std::string::npos);
  const auto x = torch::ones({4}, torch::kFloat64);
  const TorchScriptOperator shrink(save_module(dir.path, "shrink.pt", {}, "def forward(self, x):\n    return x[1:]\n"));
  const std::string ms = message_of([&] { shrink(x); });
  EXPECT_NE(ms.find("output shape = [3]"), std::string::npos) << ms;
  EXPECT_NE(ms.find("[4]"), std::string::npos) << ms;
  const TorchScriptOperator pair(
      save_module(dir.path, "pair.pt", {}, "def forward(self, x):\n    return (x, x)\n"));
  EXPECT_NE(message_of([&] { pair(x); }).find("output = Tuple"), std::string::npos) << message_of([&] { pair(x); });
  TorchScriptOperator one(save_module(dir.path, "one.pt", {}, "def forward(self, x):\n    return 0.5 * x\n"));
  EXPECT_NE(message_of([&] { one.set_inputs(x); }).find("only for forward(x, inputs)"), std::string::npos);
  EXPECT_NE(message_of([&] { TorchScriptOperator(dir.path / "one.pt", {.dtype = "int"}); }).find("float64 or float32"),
            std::string::npos);
  // A step that fails inside TorchScript is a LibTorch backend error, not a crash.
  const TorchScriptOperator broken(
      save_module(dir.path, "broken.pt", {}, "def forward(self, x):\n    return torch.mm(x, x)\n"));
  EXPECT_THROW(broken(x), iterop::backend_error);
}

TEST(TorchScriptOperator, Float32ModulesRunInFloat32AndReturnTheCallersDtype) {
  Scratch dir;
  const Layer layer(6, 2);
  const auto file = layer.save(dir.path, "f32.pt");
  const TorchScriptOperator op(file, {.dtype = "float32"});
  const auto x = torch::randn({6}, torch::kFloat64);
  const auto y = op(x);
  EXPECT_EQ(y.scalar_type(), torch::kFloat64);
  const double err = (y - layer(x)).abs().max().item<double>();
  EXPECT_GT(err, 0.0);  // float32 arithmetic inside
  EXPECT_LT(err, 1e-6);
}

TEST(TorchScriptOperator, TensorFilesCsvTorchSaveAndPickle) {
  Scratch dir;
  std::ofstream(dir.path / "x.csv") << "x,y\n1,2\n3.5,-4e-1\n\n5,6\n";
  const TensorData csv = read_tensor_file(dir.path / "x.csv");
  EXPECT_EQ(csv.shape, (std::vector<std::int64_t>{3, 2}));
  EXPECT_EQ(csv.values, (std::vector<double>{1, 2, 3.5, -0.4, 5, 6}));
  EXPECT_EQ(tensor_csv_text(csv), "1,2\n3.5,-0.4\n5,6\n");
  std::ofstream(dir.path / "ragged.csv") << "1,2\n3\n";
  EXPECT_NE(message_of([&] { read_tensor_file(dir.path / "ragged.csv"); }).find("line 2 = 1 columns"), std::string::npos);
  std::ofstream(dir.path / "word.csv") << "1,2\n3,abc\n";
  const std::string mw = message_of([&] { read_tensor_file(dir.path / "word.csv"); });
  EXPECT_NE(mw.find("line 2 column 2 = 'abc'"), std::string::npos) << mw;
  std::ofstream(dir.path / "nan.csv") << "1,nan\n";
  EXPECT_NE(message_of([&] { read_tensor_file(dir.path / "nan.csv"); }).find("finite"), std::string::npos);
  EXPECT_NE(message_of([&] { read_tensor_file(dir.path / "none.pt"); }).find("missing"), std::string::npos);

  const auto t = torch::arange(24, torch::kFloat64).reshape({2, 3, 4}) / 7.0;
  torch::save(t, (dir.path / "cpp.pt").string());  // C++ archive
  const TensorData a = read_tensor_file(dir.path / "cpp.pt");
  EXPECT_EQ(a.shape, (std::vector<std::int64_t>{2, 3, 4}));
  EXPECT_DOUBLE_EQ(a.values[23], 23.0 / 7.0);
  const auto bytes = torch::jit::pickle_save(t.to(torch::kFloat32));  // the format of Python's torch.save
  std::ofstream(dir.path / "py.pt", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  const TensorData p = read_tensor_file(dir.path / "py.pt");
  EXPECT_EQ(p.shape, a.shape);
  EXPECT_NEAR(p.values[23], 23.0 / 7.0, 1e-6);
  torch::save(torch::arange(3), (dir.path / "long.pt").string());
  EXPECT_NE(message_of([&] { read_tensor_file(dir.path / "long.pt"); }).find("a floating dtype"), std::string::npos);
  std::ofstream(dir.path / "junk.pt") << "junk";
  EXPECT_NE(message_of([&] { read_tensor_file(dir.path / "junk.pt"); }).find("not a saved tensor"), std::string::npos);
}

TEST(TorchScriptOperator, PlainFacadeAppliesTheSameStep) {
  Scratch dir;
  const Layer layer(5, 9);
  const auto file = layer.save(dir.path, "step.pt");
  const TorchScriptFunction f(file);
  EXPECT_EQ(f.arity(), 1);
  const std::vector<double> x{0.1, -0.2, 0.3, 0.4, -0.5};
  std::vector<double> y(5);
  f.apply({5}, x, y);
  const auto ref = layer(torch::tensor(x, torch::kFloat64));
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(y[i], ref[i].item<double>(), 1e-15);
  const StepContraction c = f.contraction({{5}, x});
  EXPECT_LT(c.final_residual, 1e-9);
  EXPECT_LT(c.jacobian_spectral_radius, c.jacobian_norm + 1e-12);
  EXPECT_LT(c.jacobian_norm, 0.6 + 1e-9);  // ||diag(tanh') W||_2 <= ||W||_2 = 0.6
  EXPECT_NEAR(c.mean_ratio, c.jacobian_spectral_radius, 0.05 * c.jacobian_spectral_radius);
}
