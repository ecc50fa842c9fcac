// A TorchScript module's forward as an operator: loading and signature checks, the step on tensors and
// on flat arrays, tensor files (CSV, torch.save, torch::save), and contraction diagnostics of a step.
#include "iterop/operators/torchscript_operator.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>
#include <utility>
#include <vector>

#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/script.h>
#include <torch/serialize.h>

#include "detail/graph_tensors.hpp"
#include "iterop/core/errors.hpp"

namespace iterop::operators {

namespace {

std::string shape_text(c10::IntArrayRef s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

torch::ScalarType parse_dtype(const std::string& d) {
  return d == "float32" ? torch::kFloat32 : torch::kFloat64;
}

}  // namespace

void TorchScriptOptions::validate() const {
  require(dtype == "float64" || dtype == "float32", "TorchScriptOptions::dtype", dtype, "float64 or float32");
}

std::size_t TensorData::numel() const {
  std::size_t n = 1;
  for (auto s : shape) n *= static_cast<std::size_t>(std::max<std::int64_t>(s, 0));
  return n;
}

void TensorData::validate() const {
  for (auto s : shape) require(s >= 0, "TensorData::shape", s, "sizes >= 0");
  require(values.size() == numel(), "TensorData::values.size()", values.size(),
          "the product of the shape, " + std::to_string(numel()));
}

// ---- TorchScriptOperator ----

struct TorchScriptOperator::Impl {
  std::filesystem::path file;
  torch::jit::Module module;
  torch::ScalarType dtype = torch::kFloat64;
  int arity = 1;
  std::string signature;
  torch::Tensor inputs;

  /// forward(x[, inputs]) in the module's dtype; the output checked and cast back to x's dtype.
  torch::Tensor call(const torch::Tensor& x) {
    const auto what = [&] { return "TorchScript step " + file.string(); };  // messages built only on failure
    if (arity == 2 && !inputs.defined())
      require(false, what() + " inputs", "not set", "set_inputs() before calling forward(x, inputs)");
    if (!x.defined() || !x.is_floating_point())
      require(false, what() + " x", x.defined() ? "non-floating" : "undefined", "a floating tensor");
    std::vector<c10::IValue> args{x.to(dtype)};
    if (arity == 2) args.emplace_back(inputs);
    // Plain interpretation (no profiling / fusion): the same arithmetic on every call, and autograd
    // graphs that support double backward (the Jacobian-vector products of the diagnostics).
    torch::jit::GraphOptimizerEnabledGuard plain(false);
    c10::IValue out;
    try {
      out = module.forward(args);
    } catch (const c10::Error& e) {
      throw backend_error("LibTorch", e.what_without_backtrace());
    } catch (const std::runtime_error& e) {  // torch::jit::JITException: an error inside the TorchScript code
      throw backend_error("LibTorch", e.what());
    }
    if (!out.isTensor()) require(false, what() + " output", out.tagKind(), "forward returns one Tensor");
    torch::Tensor y = out.toTensor();
    if (y.sizes() != x.sizes())
      require(false, what() + " output shape", shape_text(y.sizes()),
              "the shape of x, " + shape_text(x.sizes()) + " (a step maps x to a tensor of its own shape)");
    if (!y.is_floating_point())
      require(false, what() + " output dtype", std::string(c10::toString(y.scalar_type())), "a floating dtype");
    return y.to(x.scalar_type());
  }
};

TorchScriptOperator::TorchScriptOperator(const std::filesystem::path& file, const TorchScriptOptions& o)
    : impl_(std::make_shared<Impl>()) {
  o.validate();
  auto& m = *impl_;
  m.file = file;
  m.dtype = parse_dtype(o.dtype);
  const std::string what = "TorchScript file " + file.string();
  std::error_code ec;
  require(std::filesystem::is_regular_file(file, ec), what, "missing", "an existing file");
  try {
    m.module = torch::jit::load(file.string(), torch::kCPU);
  } catch (const c10::Error& e) {
    require(false, what, "unreadable",
            std::string("a TorchScript module saved by torch.jit.save / torch::jit::Module::save (torch::jit::load: ") +
                e.what_without_backtrace() + ")");
  }
  const auto forward = m.module.find_method("forward");
  require(forward.has_value(), what, "no forward method", "a module with forward(x) or forward(x, inputs)");
  const c10::FunctionSchema& schema = forward->function().getSchema();
  std::ostringstream s;
  s << schema;
  m.signature = s.str();
  const auto& args = schema.arguments();  // self first
  bool tensors = args.size() == 2 || args.size() == 3;
  for (std::size_t i = 1; i < args.size(); ++i)
    tensors = tensors && args[i].type()->kind() == c10::TypeKind::TensorType;
  require(tensors, what + " forward", m.signature,
          "forward(x) or forward(x, inputs) taking Tensor arguments and returning a Tensor of x's shape");
  m.arity = static_cast<int>(args.size()) - 1;
  detail::translate_torch_errors([&] {
    m.module.eval();
    m.module.to(m.dtype);
    return 0;
  });
}

int TorchScriptOperator::arity() const { return impl_->arity; }
const std::string& TorchScriptOperator::signature() const { return impl_->signature; }
const std::filesystem::path& TorchScriptOperator::file() const { return impl_->file; }

void TorchScriptOperator::set_inputs(const torch::Tensor& inputs) {
  const std::string what = "TorchScript step " + impl_->file.string();
  require(impl_->arity == 2, what + " inputs", "given", "only for forward(x, inputs); this forward is " + impl_->signature);
  require(inputs.defined() && inputs.is_floating_point(), what + " inputs",
          inputs.defined() ? std::string(c10::toString(inputs.scalar_type())) : std::string("undefined"),
          "a floating tensor");
  impl_->inputs = inputs.detach().to(impl_->dtype);
}

const torch::Tensor& TorchScriptOperator::inputs() const { return impl_->inputs; }

torch::Tensor TorchScriptOperator::operator()(const torch::Tensor& x) const {
  torch::NoGradGuard no_grad;
  return impl_->call(x);
}

TensorStep TorchScriptOperator::step() const {
  return [impl = impl_](const torch::Tensor& x) { return impl->call(x); };
}

// ---- Contraction diagnostics along Picard ----

StepContraction step_contraction(const TensorStep& step, const torch::Tensor& x0, int iterations,
                                 const PowerIterationOptions& power) {
  require(iterations >= 2, "step_contraction iterations", iterations, "iterations >= 2");
  require(static_cast<bool>(step), "step_contraction step", "empty", "a callable step");
  power.validate();
  StepContraction c;
  torch::Tensor x;
  {
    torch::NoGradGuard no_grad;
    x = x0.detach().to(torch::kFloat64);
    std::vector<double> steps;
    for (int k = 0; k < iterations; ++k) {
      auto xn = step(x);
      require(xn.sizes() == x.sizes(), "step_contraction T(x) shape", shape_text(xn.sizes()),
              "the shape of x, " + shape_text(x.sizes()));
      xn = xn.to(torch::kFloat64);
      const double s = (xn - x).norm().item<double>();
      const double scale = xn.norm().item<double>();
      x = xn;
      steps.push_back(s);
      c.iterations = k + 1;
      if (!std::isfinite(s) || s <= 1e-13 * scale) break;
    }
    double log_sum = 0;
    int count = 0;
    for (std::size_t k = 1; k < steps.size(); ++k) {
      if (!(steps[k - 1] > 0)) continue;
      const double ratio = steps[k] / steps[k - 1];
      c.max_ratio = std::max(c.max_ratio, ratio);
      if (k - 1 >= (steps.size() - 1) / 2 && ratio > 0) {
        log_sum += std::log(ratio);
        ++count;
      }
    }
    c.mean_ratio = count ? std::exp(log_sum / count) : 0.0;
    const double xn = x.norm().item<double>();
    c.final_residual = (step(x).to(torch::kFloat64) - x).norm().item<double>() / (xn > 0 ? xn : 1.0);
  }
  if (!x.isfinite().all().item<bool>()) return c;  // no Jacobian at a non-finite point
  const auto rho = jacobian_spectral_radius(step, x, power);
  const auto norm = jacobian_spectral_norm(step, x, power);
  c.jacobian_spectral_radius = rho.value;
  c.jacobian_radius_converged = rho.converged;
  c.jacobian_norm = norm.value;
  c.jacobian_norm_converged = norm.converged;
  return c;
}

// ---- Tensor files ----

namespace {

TensorData to_data(const torch::Tensor& t) {
  TensorData d;
  const auto c = t.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  d.shape.assign(c.sizes().begin(), c.sizes().end());
  d.values.assign(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
  return d;
}

torch::Tensor to_tensor(const TensorData& d) {
  d.validate();
  return torch::tensor(d.values, torch::kFloat64).reshape(d.shape);
}

std::string trim(std::string s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

std::vector<std::string> split_commas(const std::string& line) {
  std::vector<std::string> cells;
  std::size_t start = 0;
  while (true) {
    const auto comma = line.find(',', start);
    cells.push_back(trim(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    if (comma == std::string::npos) return cells;
    start = comma + 1;
  }
}

bool parse_double(const std::string& text, double& v) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  const char* begin = text.data() + (text[0] == '+' ? 1 : 0);
  auto [ptr, ec] = std::from_chars(begin, end, v);
  return ec == std::errc{} && ptr == end;
}

TensorData read_csv(const std::filesystem::path& file) {
  std::ifstream in(file);
  require(static_cast<bool>(in), "tensor file " + file.string(), "unreadable", "a readable file");
  TensorData d;
  std::string line;
  std::size_t columns = 0, rows = 0;
  for (int number = 1; std::getline(in, line); ++number) {
    if (trim(line).empty()) continue;
    const auto cells = split_commas(line);
    std::vector<double> row;
    bool numeric = true;
    for (const auto& cell : cells) {
      double v = 0;
      numeric = numeric && parse_double(cell, v);
      row.push_back(v);
    }
    const std::string where = "tensor file " + file.string() + " line " + std::to_string(number);
    if (!numeric && rows == 0 && columns == 0) {  // a header line
      columns = cells.size();
      continue;
    }
    for (std::size_t j = 0; j < cells.size(); ++j) {
      double v = 0;
      require(parse_double(cells[j], v) && std::isfinite(v), where + " column " + std::to_string(j + 1),
              "'" + cells[j] + "'", "a finite decimal number");
    }
    if (columns == 0) columns = cells.size();
    require(cells.size() == columns, where, std::to_string(cells.size()) + " columns",
            std::to_string(columns) + " columns, as the first line");
    d.values.insert(d.values.end(), row.begin(), row.end());
    ++rows;
  }
  require(rows > 0, "tensor file " + file.string(), "no rows", "at least one row of numbers");
  d.shape = {static_cast<std::int64_t>(rows), static_cast<std::int64_t>(columns)};
  return d;
}

TensorData read_saved_tensor(const std::filesystem::path& file) {
  const std::string what = "tensor file " + file.string();
  std::ifstream in(file, std::ios::binary);
  require(static_cast<bool>(in), what, "unreadable", "a readable file");
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  require(!bytes.empty(), what, "empty", "a tensor saved by torch.save (Python) or torch::save (C++), or a .csv file");
  torch::Tensor t;
  std::string pickle_error, archive_error;
  try {  // Python's torch.save(t, FILE) (and C++'s torch::pickle_save)
    const c10::IValue v = torch::jit::pickle_load(bytes);
    require(v.isTensor(), what, std::string("a saved ") + v.tagKind(),
            "a saved tensor (torch.save(t, FILE) of one tensor)");
    t = v.toTensor();
  } catch (const c10::Error& e) {
    pickle_error = e.what_without_backtrace();
  }
  if (!t.defined()) {
    try {  // C++'s torch::save(t, FILE)
      torch::load(t, file.string());
    } catch (const c10::Error& e) {
      archive_error = e.what_without_backtrace();
    }
  }
  require(t.defined(), what, "not a saved tensor",
          "a tensor saved by torch.save (Python) or torch::save (C++), or a .csv file (torch::pickle_load: " +
              pickle_error.substr(0, pickle_error.find('\n')) + "; torch::load: " +
              archive_error.substr(0, archive_error.find('\n')) + ")");
  require(t.is_floating_point(), what + " dtype", std::string(c10::toString(t.scalar_type())), "a floating dtype");
  require(!t.is_sparse(), what, "sparse", "a dense tensor");
  return to_data(t);
}

}  // namespace

TensorData read_tensor_file(const std::filesystem::path& file) {
  std::error_code ec;
  require(std::filesystem::is_regular_file(file, ec), "tensor file " + file.string(), "missing", "an existing file");
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return std::tolower(ch); });
  TensorData d = ext == ".csv" ? read_csv(file) : read_saved_tensor(file);
  for (double v : d.values)
    require(std::isfinite(v), "tensor file " + file.string(), "a non-finite entry", "finite entries");
  return d;
}

std::string tensor_csv_text(const TensorData& t) {
  t.validate();
  const std::size_t n = t.numel();
  const std::size_t columns = t.shape.size() <= 1 ? 1 : (t.shape[0] > 0 ? n / static_cast<std::size_t>(t.shape[0]) : 0);
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += format_value(t.values[i]);
    out += (columns == 0 || (i + 1) % columns == 0) ? "\n" : ",";
  }
  return out;
}

void save_torchscript_module(const std::filesystem::path& file, const std::string& name, const std::string& source,
                             const std::vector<std::pair<std::string, TensorData>>& parameters) {
  torch::jit::Module m(name);
  for (const auto& [n, t] : parameters) m.register_parameter(n, to_tensor(t), /*is_buffer=*/false);
  try {
    m.define(source);
  } catch (const std::exception& e) {  // torch::jit::ErrorReport or c10::Error
    require(false, "TorchScript source of " + name, "not compiled", std::string("valid TorchScript (") + e.what() + ")");
  }
  detail::translate_torch_errors([&] {
    m.save(file.string());
    return 0;
  });
}

// ---- TorchScriptFunction: the plain-data facade ----

struct TorchScriptFunction::Impl {
  TorchScriptOperator op;
};

TorchScriptFunction::TorchScriptFunction(const std::filesystem::path& file, const TorchScriptOptions& o)
    : impl_(std::make_unique<Impl>(Impl{TorchScriptOperator(file, o)})) {}
TorchScriptFunction::~TorchScriptFunction() = default;
TorchScriptFunction::TorchScriptFunction(TorchScriptFunction&&) noexcept = default;
TorchScriptFunction& TorchScriptFunction::operator=(TorchScriptFunction&&) noexcept = default;

int TorchScriptFunction::arity() const { return impl_->op.arity(); }
std::string TorchScriptFunction::signature() const { return impl_->op.signature(); }

void TorchScriptFunction::set_inputs(const TensorData& inputs) { impl_->op.set_inputs(to_tensor(inputs)); }

void TorchScriptFunction::apply(const std::vector<std::int64_t>& shape, std::span<const double> x,
                                std::span<double> y) const {
  const TensorData d{shape, std::vector<double>(x.begin(), x.end())};
  require(y.size() == x.size(), "TorchScriptFunction::apply y.size()", y.size(), "x.size(), " + std::to_string(x.size()));
  const torch::Tensor out = impl_->op(to_tensor(d)).contiguous();
  std::copy(out.data_ptr<double>(), out.data_ptr<double>() + out.numel(), y.begin());
}

StepContraction TorchScriptFunction::contraction(const TensorData& x0, int iterations, int power_iterations) const {
  return step_contraction(impl_->op.step(), to_tensor(x0), iterations, {.max_iterations = power_iterations});
}

}  // namespace iterop::operators
