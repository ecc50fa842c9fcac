// CfmOptions' rules and names, and the text format of ConditionalFlowMatching model files: no LibTorch here, so the
// parser of the files users load is fuzzed on its own (fuzz/cfm_file_fuzz.cpp) with clang.
#include "detail/conditional_flow_matching_format.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <sstream>

#include "iterop/core/errors.hpp"

namespace iterop::operators {

namespace {

const std::vector<std::string>& activation_names() {
  static const std::vector<std::string> names{"relu", "selu", "silu", "gelu", "tanh", "elu"};
  return names;
}

}  // namespace

std::string to_string(CfmCoupling c) { return c == CfmCoupling::independent ? "icfm" : "otcfm"; }

CfmCoupling parse_cfm_coupling(const std::string& name) {
  if (name == "icfm" || name == "independent") return CfmCoupling::independent;
  if (name == "otcfm" || name == "ot" || name == "optimal_transport") return CfmCoupling::optimal_transport;
  throw invalid_option("coupling = " + name + ". Violated constraint: one of icfm, independent, otcfm, ot, optimal_transport.");
}

void CfmOptions::validate() const {
  require(dim >= 1, "CfmOptions::dim", dim, "dim >= 1");
  require(width >= 1, "CfmOptions::width", width, "width >= 1");
  require(depth >= 1, "CfmOptions::depth", depth, "depth >= 1");
  const auto& names = activation_names();
  require(std::find(names.begin(), names.end(), activation) != names.end(), "CfmOptions::activation", activation,
          "one of relu, selu, silu, gelu, tanh, elu");
  require(coupling == CfmCoupling::independent || coupling == CfmCoupling::optimal_transport, "CfmOptions::coupling",
          int(coupling), "icfm or otcfm");
  require(std::isfinite(lr) && lr > 0, "CfmOptions::lr", lr, "lr > 0 and finite");
  require(batch >= 1, "CfmOptions::batch", batch, "batch >= 1");
  require(steps >= 1, "CfmOptions::steps", steps, "steps >= 1");
  require(!device.empty(), "CfmOptions::device", device, "a torch::Device string such as cpu, cuda, cuda:0");
}

namespace detail {

std::vector<std::pair<std::string, std::int64_t>> cfm_parameter_layout(const CfmOptions& o) {
  std::vector<std::pair<std::string, std::int64_t>> layout;
  std::int64_t in = std::int64_t(o.dim) + 1;
  for (int k = 0; k < o.depth; ++k) {
    layout.emplace_back("hidden" + std::to_string(k) + ".weight", std::int64_t(o.width) * in);
    layout.emplace_back("hidden" + std::to_string(k) + ".bias", o.width);
    in = o.width;
  }
  layout.emplace_back("out.weight", std::int64_t(o.dim) * in);
  layout.emplace_back("out.bias", o.dim);
  return layout;
}

namespace {

/// The option lines, in the order of the file.
const std::vector<std::string>& option_keys() {
  static const std::vector<std::string> keys{"dim", "width", "depth", "activation", "coupling", "lr", "batch",
                                             "steps", "seed", "device", "float64", "steps_trained"};
  return keys;
}

/// A line of the file as echoed in a message: at most 80 characters.
std::string shown(std::string_view line) {
  if (line.size() <= 80) return std::string(line);
  return std::string(line.substr(0, 80)) + "... (" + std::to_string(line.size()) + " characters)";
}

template <class T>
void append_shortest(std::string& s, T v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  s.append(buf, r.ptr);
}

}  // namespace

std::string cfm_file_text(const CfmFile& file) {
  const CfmOptions& o = file.options;
  std::ostringstream s;
  s << "iterop-cfm 1\n";
  s << "dim " << o.dim << "\nwidth " << o.width << "\ndepth " << o.depth << "\nactivation " << o.activation
    << "\ncoupling " << to_string(o.coupling) << "\nlr " << format_value(o.lr) << "\nbatch " << o.batch << "\nsteps "
    << o.steps << "\nseed " << o.seed << "\ndevice " << o.device << "\nfloat64 " << (o.float64 ? 1 : 0)
    << "\nsteps_trained " << file.steps_trained << "\n";
  s << "parameters " << file.parameters.size() << "\n";
  std::string out = s.str();
  for (const auto& p : file.parameters) {
    out += "param " + p.name + " " + std::to_string(p.values.size()) + "\n";
    for (std::size_t i = 0; i < p.values.size(); ++i) {
      if (o.float64)
        append_shortest(out, p.values[i]);
      else
        append_shortest(out, float(p.values[i]));
      out += i + 1 < p.values.size() ? ' ' : '\n';
    }
    if (p.values.empty()) out += '\n';
  }
  return out;
}

CfmFile parse_cfm_file(std::string_view text, const std::string& path, const std::string& device) {
  // Line numbers count the checked header line before the payload.
  int line_no = 1;
  std::size_t at = 0;  // start of the next line in text
  std::string_view line;
  auto fail = [&](const std::string& why) -> void {
    throw invalid_option(path + ":" + std::to_string(line_no) + ": " + why);
  };
  auto next_line = [&]() -> std::string_view {
    if (at >= text.size()) fail("unexpected end of file");  // named at the last line there is
    const std::size_t end = std::min(text.find('\n', at), text.size());
    line = text.substr(at, end - at);
    at = end + 1;
    ++line_no;
    return line;
  };
  if (next_line() != "iterop-cfm 1") fail("expected the header 'iterop-cfm 1', found '" + shown(line) + "'");
  std::map<std::string, std::pair<std::string, int>> kv;  // key -> (value, line)
  for (const auto& key : option_keys()) {
    std::istringstream ls{std::string(next_line())};
    std::string k, v;
    ls >> k >> v;
    if (k != key || v.empty()) fail("expected '" + key + " <value>', found '" + shown(line) + "'");
    kv[k] = {v, line_no};
  }
  auto parse = [&](const std::string& key, auto convert) {
    const auto& [v, where] = kv[key];
    try {
      std::size_t used = 0;
      auto r = convert(v, &used);
      if (used != v.size()) throw std::invalid_argument("trailing characters");
      return r;
    } catch (const std::logic_error&) {
      line_no = where;
      fail("malformed value '" + shown(v) + "' of " + key);
    }
    return decltype(convert(v, nullptr)){};
  };
  auto to_int = [](const std::string& v, std::size_t* u) { return std::stoi(v, u); };
  CfmFile file;
  CfmOptions& o = file.options;
  o.dim = parse("dim", to_int);
  o.width = parse("width", to_int);
  o.depth = parse("depth", to_int);
  o.activation = kv["activation"].first;
  o.coupling = parse("coupling", [](const std::string& v, std::size_t* u) {
    if (u) *u = v.size();
    try {
      return parse_cfm_coupling(v);
    } catch (const invalid_option& e) {
      throw std::invalid_argument(e.what());
    }
  });
  o.lr = parse("lr", [](const std::string& v, std::size_t* u) { return std::stod(v, u); });
  o.batch = parse("batch", to_int);
  o.steps = parse("steps", to_int);
  o.seed = parse("seed", [](const std::string& v, std::size_t* u) { return std::stoull(v, u); });
  o.device = device.empty() ? kv["device"].first : device;
  o.float64 = parse("float64", to_int) != 0;
  file.steps_trained = parse("steps_trained", [](const std::string& v, std::size_t* u) { return std::stol(v, u); });
  try {
    o.validate();
  } catch (const invalid_option& e) {
    throw invalid_option(path + ": " + e.what());
  }
  {
    std::istringstream ls{std::string(next_line())};
    std::string k;
    std::size_t count = 0;
    ls >> k >> count;
    if (k != "parameters" || !ls) fail("expected 'parameters <count>', found '" + shown(line) + "'");
    const double tensors = 2.0 * o.depth + 2;  // weight and bias per hidden layer and of the output layer
    if (double(count) != tensors)
      fail("the file holds " + std::to_string(count) + " parameter tensors, the model built from its options " +
           format_value(tensors));
  }
  // Every value takes at least two bytes ("0 "): options that declare more values than the bytes left could hold
  // are refused here, counted arithmetically, before a layout or a tensor of their size is built.
  const double dim = o.dim, width = o.width;
  const double declared = (dim + 1) * width + width + (o.depth - 1) * (width * width + width) + width * dim + dim;
  const double left = double(text.size() - std::min(at, text.size()));
  if (2 * declared > left + 1)
    fail("the options declare " + format_value(declared) + " parameter values, more than the " +
         format_value(left) + " bytes left in the file can hold");
  const auto layout = cfm_parameter_layout(o);
  for (const auto& entry : layout) {
    const std::string& name = entry.first;  // (named variables, not a structured binding: the lambda below reads them)
    const std::int64_t numel = entry.second;
    {
      std::istringstream ls{std::string(next_line())};
      std::string k, got;
      std::int64_t n = -1;
      ls >> k >> got >> n;
      if (k != "param" || got != name || n != numel)
        fail("expected 'param " + name + " " + std::to_string(numel) + "', found '" + shown(line) + "'");
    }
    next_line();
    CfmParameter p{name, std::vector<double>(std::size_t(numel))};
    // Parse in the stored type itself, so float32 weights read back bit-identical (no double rounding).
    const char* c = line.data();
    const char* end = line.data() + line.size();
    auto read = [&](auto value) {
      for (auto& v : p.values) {
        while (c < end && *c == ' ') ++c;
        const auto r = std::from_chars(c, end, value);
        if (r.ec != std::errc{} || !std::isfinite(value)) fail("malformed or non-finite value in parameter " + name);
        v = double(value);
        c = r.ptr;
      }
    };
    if (o.float64)
      read(double{});
    else
      read(float{});
    while (c < end && *c == ' ') ++c;
    if (c != end) fail("more than " + std::to_string(numel) + " values for parameter " + name);
    file.parameters.push_back(std::move(p));
  }
  if (at < text.size()) {
    ++line_no;
    fail("unexpected text after the last parameter");
  }
  return file;
}

}  // namespace detail

}  // namespace iterop::operators
