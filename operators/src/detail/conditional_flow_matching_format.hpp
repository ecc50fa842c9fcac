// The text format of ConditionalFlowMatching model files, without LibTorch: the options' lines, the parameter
// layout the options imply, and one line of values per parameter tensor. The loader parses and checks a whole
// file here (fuzzed on its own by fuzz/cfm_file_fuzz.cpp; compiled in conditional_flow_matching_format.cpp) before it builds a network.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "iterop/operators/conditional_flow_matching.hpp"

namespace iterop::operators::detail {

/// One parameter tensor of the velocity MLP, in named_parameters() order.
struct CfmParameter {
  std::string name;             ///< "hidden<k>.weight", "hidden<k>.bias", "out.weight", "out.bias"
  std::vector<double> values;   ///< numel values, row-major (float32 models: each exactly a float)
};

/// A whole model file's content (the payload behind the checked header).
struct CfmFile {
  CfmOptions options;
  long steps_trained = 0;
  std::vector<CfmParameter> parameters;
};

/// The names and element counts of the MLP's parameters implied by `o` (dim + 1 inputs, depth hidden layers
/// of width units, dim outputs), in named_parameters() order.
std::vector<std::pair<std::string, std::int64_t>> cfm_parameter_layout(const CfmOptions& o);

/// The payload text of `file`: "iterop-cfm 1", one "key value" line per option, "steps_trained", then
/// "parameters <count>" and per tensor "param <name> <numel>" and its values on one line (the shortest decimal that
/// reads back to the same float, or double with options.float64).
std::string cfm_file_text(const CfmFile& file);

/// Parses and checks `text` (the payload of the file at `path`, named in every message): the header, each option
/// line in order, the options' rules, the parameter count, names and sizes against cfm_parameter_layout (the
/// declared size is checked against the bytes left before anything is allocated), finite values, nothing after.
/// `device` non-empty replaces the file's device. Throws iterop::invalid_option "<path>:<line>: <reason>".
CfmFile parse_cfm_file(std::string_view text, const std::string& path, const std::string& device = "");

}  // namespace iterop::operators::detail
