// A TorchScript network's step y = T(x) as plain data, for programs that do not include torch (the
// iterop command): tensor files read into shape + values, the step on flat arrays, its contraction.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace iterop::operators {

/// Options of loading a TorchScript step (TorchScriptOperator, TorchScriptFunction).
struct TorchScriptOptions {
  /// The module's floating-point parameters and buffers are cast to this dtype, and the step runs in
  /// it: "float64" (default; diagnostics and tight tolerances need it) or "float32".
  std::string dtype = "float64";

  /// Throws iterop::invalid_option naming the field, the value and the rule.
  void validate() const;
};

/// A tensor as plain data: its shape and its entries in row-major order, as float64.
struct TensorData {
  std::vector<std::int64_t> shape;
  std::vector<double> values;

  /// The product of the shape (1 for a 0-dimensional tensor).
  std::size_t numel() const;
  /// Throws iterop::invalid_option when values.size() differs from numel() or a size is negative.
  void validate() const;
};

/// Reads a tensor file. By its ending: ".csv" is a table of numbers, one row per line, separated by
/// commas (an optional first line that is not numeric is a header and skipped): an R x C file gives a
/// tensor of shape {R, C}. Any other ending is a tensor saved by PyTorch: Python's torch.save(t, FILE)
/// (read with torch::pickle_load), or C++'s torch::save(t, FILE) (read with torch::load). Throws
/// iterop::invalid_option naming the file (and line and column for CSV) and what is wrong: missing,
/// empty, ragged rows, a cell that is not a finite number, not a tensor, a non-floating tensor.
TensorData read_tensor_file(const std::filesystem::path& file);

/// "a,b\nc,d\n": a 1-D tensor as one column, a 2-D tensor as rows, higher ranks flattened to
/// {shape[0], rest} rows; shortest round-trip decimal text.
std::string tensor_csv_text(const TensorData& t);

/// Writes a TorchScript module to `file` (torch::jit::Module::save, readable by torch.jit.load and by
/// TorchScriptOperator): class name `name`, the named float64 `parameters` (self.NAME in the source) and
/// `source`, TorchScript method definitions such as "def forward(self, x):\n    return 0.5 * x\n".
/// Throws invalid_option (naming the source's error) when the source does not compile.
void save_torchscript_module(const std::filesystem::path& file, const std::string& name, const std::string& source,
                             const std::vector<std::pair<std::string, TensorData>>& parameters = {});

/// Contraction diagnostics of a step T along Picard iteration x_{k+1} = T(x_k) from x_0 (float64).
struct StepContraction {
  int iterations = 0;          ///< Picard steps run (stops when ||x_{k+1} - x_k|| <= 1e-13 ||x_{k+1}||)
  double max_ratio = 0;        ///< max_k ||x_{k+1} - x_k|| / ||x_k - x_{k-1}||
  double mean_ratio = 0;       ///< observed rate: geometric mean of those ratios over the second half
  double final_residual = 0;   ///< ||T(x_K) - x_K|| / ||x_K|| at the last iterate x_K
  /// rho(T'(x_K)) by power iteration on Jacobian-vector products (jacobian_spectral_radius): the
  /// asymptotic rate of Picard at a fixed point.
  double jacobian_spectral_radius = 0;
  bool jacobian_radius_converged = false;
  /// ||T'(x_K)||_2 by power iteration on J^T J (jacobian_spectral_norm): the local Lipschitz constant.
  double jacobian_norm = 0;
  bool jacobian_norm_converged = false;
};

/// A TorchScript step behind a pimpl (see TorchScriptOperator for the rules of the file), on flat
/// float64 arrays of a fixed shape: what the iterop command turns into a fixed-point problem.
class TorchScriptFunction {
 public:
  /// Loads `file` (see TorchScriptOperator::TorchScriptOperator).
  explicit TorchScriptFunction(const std::filesystem::path& file, const TorchScriptOptions& o = {});
  ~TorchScriptFunction();
  TorchScriptFunction(TorchScriptFunction&&) noexcept;
  TorchScriptFunction& operator=(TorchScriptFunction&&) noexcept;

  /// 1 for forward(x), 2 for forward(x, inputs).
  int arity() const;
  /// forward's schema as TorchScript prints it, e.g. "forward(__torch__.Step self, Tensor x) -> Tensor".
  std::string signature() const;
  /// The second argument of a forward(x, inputs); throws invalid_option for a one-argument forward.
  void set_inputs(const TensorData& inputs);

  /// y = T(x) for x of `shape` (row-major, x.size() entries); y must have x.size() entries. Throws
  /// invalid_option for an output that is not a tensor or whose shape differs from x's.
  void apply(const std::vector<std::int64_t>& shape, std::span<const double> x, std::span<double> y) const;

  /// Picard from x0 for at most `iterations` steps, then the Jacobian's spectral radius and norm at
  /// the last iterate by `power_iterations` steps of power iteration (see StepContraction).
  StepContraction contraction(const TensorData& x0, int iterations = 200, int power_iterations = 500) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace iterop::operators
