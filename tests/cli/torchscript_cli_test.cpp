// Runs `iterop solve fixed-point --torchscript FILE --input FILE` (built with the LibTorch operators
// only): a TorchScript step written here solves to the fixed point computed in plain C++, with its
// Jacobian diagnostics and the learned-contraction check; forward(x, inputs) with a tensor file; a file
// made in Python (skipped without /usr/bin/python3 and python3-torch); bad files and options (exit 2),
// an expansive step (exit 1).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

#if defined(ITEROP_HAVE_OPERATORS)
#include "iterop/operators/torchscript_function.hpp"

using iterop::cli_test::read_file;
using iterop::cli_test::run_iterop;
using iterop::cli_test::ScratchFolder;
namespace op = iterop::operators;

namespace {

std::string write(const std::filesystem::path& file, const std::string& text) {
  std::ofstream(file) << text;
  return file.string();
}

std::vector<std::string> solve_args(const std::string& model, const std::string& input, const std::string& format) {
  return {"solve", "fixed-point", "--torchscript", model, "--input", input, "--format", format};
}

}  // namespace

TEST(TorchScriptCli, SolvesTheStepOfASavedModuleToTheFixedPointOfTheSameStepInCpp) {
  ScratchFolder dir;
  // T(x) = 0.5 cos(x) + b (elementwise): Jacobian diag(-0.5 sin(x)), so rho = ||J|| = max |0.5 sin(x*_i)|.
  const std::vector<double> b{0.1, 0.4, -0.3, 0.8, 1.2, -1.0};
  const auto model = (dir.path() / "cos.pt").string();
  op::save_torchscript_module(model, "Cos", "def forward(self, x):\n    return 0.5 * torch.cos(x) + self.b\n",
                              {{"b", {{3, 2}, b}}});
  const auto input = write(dir.path() / "x0.csv", "a,b\n0,0\n0,0\n0,0\n");
  const auto output = (dir.path() / "x.csv").string();
  auto args = solve_args(model, input, "json");
  for (const char* extra : {"--method", "anderson", "--tol", "1e-13", "--output"}) args.push_back(extra);
  args.push_back(output);
  const auto r = run_iterop(args);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["status"], "converged");
  EXPECT_EQ(j["torchscript"]["shape"], (std::vector<int>{3, 2}));
  const auto x = j["torchscript"]["solution"].get<std::vector<double>>();
  ASSERT_EQ(x.size(), b.size());
  double rho = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    double ref = 0;  // the same step in C++: Picard, a contraction with factor 0.5
    for (int k = 0; k < 200; ++k) ref = 0.5 * std::cos(ref) + b[i];
    EXPECT_NEAR(x[i], ref, 1e-11) << i;
    rho = std::max(rho, 0.5 * std::abs(std::sin(ref)));
  }
  const auto& d = j["diagnostics"];
  EXPECT_NEAR(d["jacobian_spectral_radius"].get<double>(), rho, 1e-7);
  EXPECT_NEAR(d["jacobian_norm"].get<double>(), rho, 1e-7);
  EXPECT_EQ(j["theory_check"]["verdict"], "PASS") << j["theory_check"].dump();
  // --output: the solution as CSV, 3 rows of 2.
  EXPECT_EQ(iterop::cli_test::count_lines(read_file(output)), 3);

  const auto table = run_iterop(solve_args(model, input, "table"));
  ASSERT_EQ(table.exit_code, 0) << table.err;
  for (const char* key : {"status", "converged", "rho(J)", "||J||_2", "torchscript.learned_contraction: PASS"})
    EXPECT_NE(table.out.find(key), std::string::npos) << key << "\n" << table.out;
}

TEST(TorchScriptCli, ForwardWithInputsTakesThemFromTheInputFile) {
  ScratchFolder dir;
  const auto model = (dir.path() / "relax.pt").string();
  op::save_torchscript_module(model, "Relax", "def forward(self, x, y):\n    return 0.5 * x + 0.5 * torch.tanh(y)\n");
  const auto input = write(dir.path() / "y.csv", "1,2\n-3,0.5\n");
  const auto r = run_iterop(solve_args(model, input, "json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto x = nlohmann::json::parse(r.out)["torchscript"]["solution"].get<std::vector<double>>();
  const std::vector<double> y{1, 2, -3, 0.5};
  for (std::size_t i = 0; i < 4; ++i) EXPECT_NEAR(x[i], std::tanh(y[i]), 1e-7);
  const auto x0 = write(dir.path() / "x0.csv", "0,0\n0,0\n");
  auto with_x0 = solve_args(model, input, "json");
  with_x0.insert(with_x0.end(), {"--x0", x0});
  const auto r0 = run_iterop(with_x0);
  ASSERT_EQ(r0.exit_code, 0) << r0.err;
  EXPECT_EQ(nlohmann::json::parse(r0.out)["torchscript"]["solution"].size(), 4u);
}

TEST(TorchScriptCli, FileMadeInPython) {
  if (std::system("/usr/bin/python3 -c 'import torch' > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "no /usr/bin/python3 with python3-torch";
  ScratchFolder dir;
  const auto script = write(dir.path() / "make.py", R"(import sys, torch
torch.manual_seed(0)
class Step(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 4)
        with torch.no_grad():
            self.lin.weight.mul_(0.5 / torch.linalg.matrix_norm(self.lin.weight, 2))
    def forward(self, x, inputs):
        return torch.tanh(self.lin(x)) + inputs
torch.jit.script(Step()).save(sys.argv[1] + "/step.pt")
torch.save(torch.randn(5, 4), sys.argv[1] + "/inputs.pt")
)");
  ASSERT_EQ(std::system(("/usr/bin/python3 " + script + " " + dir.path().string()).c_str()), 0);
  const auto r = run_iterop(solve_args((dir.path() / "step.pt").string(), (dir.path() / "inputs.pt").string(), "json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["status"], "converged");
  EXPECT_EQ(j["torchscript"]["shape"], (std::vector<int>{5, 4}));
  EXPECT_LT(j["diagnostics"]["jacobian_norm"].get<double>(), 0.5 + 1e-9);  // ||diag(tanh') W||_2 <= 0.5
  EXPECT_EQ(j["theory_check"]["verdict"], "PASS") << j["theory_check"].dump();
}

TEST(TorchScriptCli, BadFilesAndOptionsAreUsageErrors) {
  ScratchFolder dir;
  const auto input = write(dir.path() / "x.csv", "1,2\n3,4\n");
  const auto ok = (dir.path() / "ok.pt").string();
  op::save_torchscript_module(ok, "Ok", "def forward(self, x):\n    return 0.5 * x\n");
  const auto shrink = (dir.path() / "shrink.pt").string();
  op::save_torchscript_module(shrink, "Shrink", "def forward(self, x):\n    return x[1:]\n");
  const auto three = (dir.path() / "three.pt").string();
  op::save_torchscript_module(three, "Three", "def forward(self, x, y, z):\n    return x\n");
  const auto text = write(dir.path() / "text.pt", "not a module");
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{"solve", "fixed-point", "--torchscript", ok}, "--input"},
      {{"solve", "fixed-point", "--torchscript", text, "--input", input}, "a TorchScript module"},
      {{"solve", "fixed-point", "--torchscript", three, "--input", input}, "forward(x) or forward(x, inputs)"},
      {{"solve", "fixed-point", "--torchscript", shrink, "--input", input}, "output shape = [1, 2]"},
      {{"solve", "fixed-point", "--torchscript", ok, "--input", input, "--problem", "heq"}, "not both"},
      {{"solve", "fixed-point", "--torchscript", ok, "--input", input, "--c", "0.5"}, "do not go with --torchscript"},
      {{"solve", "fixed-point", "--torchscript", ok, "--input", input, "--x0", input}, "only for forward(x, inputs)"},
      {{"solve", "fixed-point", "--input", input}, "only with --torchscript"},
      {{"solve", "fixed-point", "--torchscript", ok, "--input", text}, "not a saved tensor"},
      {{"solve", "fixed-point", "--torchscript", ok, "--input", write(dir.path() / "bad.csv", "1,2\n3,x\n")}, "line 2 column 2"},
  };
  for (const auto& c : cases) {
    const auto r = run_iterop(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args.back() << "\n" << r.err << r.out;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << r.err;
    EXPECT_EQ(iterop::cli_test::count_lines(r.err), 1) << r.err;
  }
  // An expansive step: the solve ends without converging (exit 1), and the check's premise fails.
  const auto grow = (dir.path() / "grow.pt").string();
  op::save_torchscript_module(grow, "Grow", "def forward(self, x):\n    return 2.0 * x + 1.0\n");
  auto args = solve_args(grow, input, "json");
  args.insert(args.end(), {"--method", "picard", "--max-iterations", "30"});
  const auto r = run_iterop(args);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["theory_check"]["verdict"], "PREMISE NOT MET");
}

#endif  // ITEROP_HAVE_OPERATORS
