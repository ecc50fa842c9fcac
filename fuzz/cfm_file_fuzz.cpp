// Fuzzes the text format of CFM model files (operators/src/detail/conditional_flow_matching_format.hpp), what
// ConditionalFlowMatching::load parses behind the checked header (checkpoint_file_fuzz fuzzes that header): any
// bytes must be refused with invalid_option, or parse to a file whose text reads back to the same text (so the
// loader never builds a network from a file it misread). The parser has no LibTorch, so this runs in the plain
// fuzz preset; the LibTorch loaders themselves are model_file_fuzz (preset fuzz-torch).
#include "detail/conditional_flow_matching_format.hpp"
#include "fuzz_support.hpp"
#include "iterop/core/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace d = iterop::operators::detail;
  const std::string_view text = iterop::fuzz::text_of(data, size);
  iterop::fuzz::expect_documented_errors<iterop::invalid_option>([&] {
    const d::CfmFile file = d::parse_cfm_file(text, "fuzz.cfm");
    // Accepted: the layout of its options, and a text that parses back to itself.
    const auto layout = d::cfm_parameter_layout(file.options);
    if (layout.size() != file.parameters.size()) iterop::fuzz::unexpected("parameter count differs from the layout", "");
    for (std::size_t i = 0; i < layout.size(); ++i)
      if (layout[i].first != file.parameters[i].name || std::size_t(layout[i].second) != file.parameters[i].values.size())
        iterop::fuzz::unexpected("a parameter differs from the layout", "");
    const std::string again = d::cfm_file_text(file);
    if (d::cfm_file_text(d::parse_cfm_file(again, "fuzz.cfm")) != again)
      iterop::fuzz::unexpected("the text of an accepted file does not read back to itself", "");
  });
  return 0;
}
