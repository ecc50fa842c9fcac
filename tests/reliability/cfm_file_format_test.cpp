// The text format of CFM model files, without LibTorch (so it also runs under ASan + UBSan): a round trip is
// exact, and every malformed payload is refused with iterop::invalid_option "<path>:<line>: <reason>" before a
// tensor of the declared size would be allocated.
#include <gtest/gtest.h>

#include <string>

#include "detail/conditional_flow_matching_format.hpp"
#include "iterop/core/errors.hpp"

namespace {

using namespace iterop::operators;
using namespace iterop::operators::detail;

CfmFile small_file(bool float64) {
  CfmFile f;
  f.options.dim = 2;
  f.options.width = 3;
  f.options.depth = 2;
  f.options.float64 = float64;
  f.steps_trained = 17;
  double v = 0.1;
  for (const auto& [name, numel] : cfm_parameter_layout(f.options)) {
    CfmParameter p{name, {}};
    for (std::int64_t i = 0; i < numel; ++i) {
      v = v * 1.37 - 0.61;  // values that are not short decimals
      p.values.push_back(float64 ? v : double(float(v)));
    }
    f.parameters.push_back(p);
  }
  return f;
}

std::string refusal(const std::string& text) {
  try {
    (void)parse_cfm_file(text, "m.cfm");
  } catch (const iterop::invalid_option& e) {
    return e.what();
  }
  return "";
}

TEST(CfmFileFormat, LayoutIsTheMlpOfTheOptions) {
  CfmOptions o;
  o.dim = 2;
  o.width = 5;
  o.depth = 2;
  const auto layout = cfm_parameter_layout(o);
  ASSERT_EQ(layout.size(), 6u);
  EXPECT_EQ(layout[0], (std::pair<std::string, std::int64_t>{"hidden0.weight", 15}));  // 5 x (2 + 1)
  EXPECT_EQ(layout[2], (std::pair<std::string, std::int64_t>{"hidden1.weight", 25}));
  EXPECT_EQ(layout[4], (std::pair<std::string, std::int64_t>{"out.weight", 10}));
  EXPECT_EQ(layout[5], (std::pair<std::string, std::int64_t>{"out.bias", 2}));
}

TEST(CfmFileFormat, RoundTripIsExactInBothPrecisions) {
  for (bool float64 : {false, true}) {
    const CfmFile f = small_file(float64);
    const std::string text = cfm_file_text(f);
    const CfmFile g = parse_cfm_file(text, "m.cfm");
    EXPECT_EQ(g.steps_trained, 17);
    EXPECT_EQ(g.options.width, 3);
    ASSERT_EQ(g.parameters.size(), f.parameters.size());
    for (std::size_t i = 0; i < f.parameters.size(); ++i) {
      EXPECT_EQ(g.parameters[i].name, f.parameters[i].name);
      EXPECT_EQ(g.parameters[i].values, f.parameters[i].values);  // bit for bit
    }
    EXPECT_EQ(cfm_file_text(g), text);
  }
}

TEST(CfmFileFormat, DeviceArgumentReplacesTheFilesDevice) {
  const std::string text = cfm_file_text(small_file(false));
  EXPECT_EQ(parse_cfm_file(text, "m.cfm").options.device, "cpu");
  EXPECT_EQ(parse_cfm_file(text, "m.cfm", "cuda:1").options.device, "cuda:1");
}

TEST(CfmFileFormat, MalformedPayloadsAreRefusedWithFileAndLine) {
  const std::string good = cfm_file_text(small_file(false));
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  EXPECT_NE(refusal("").find("m.cfm:1: unexpected end of file"), std::string::npos);  // after the header line
  EXPECT_NE(refusal(replaced("iterop-cfm 1", "iterop-cfm 2")).find("m.cfm:2: expected the header"), std::string::npos);
  EXPECT_NE(refusal(replaced("width 3", "wide 3")).find("m.cfm:4: expected 'width <value>'"), std::string::npos);
  EXPECT_NE(refusal(replaced("width 3", "width 3x")).find("malformed value '3x' of width"), std::string::npos);
  EXPECT_NE(refusal(replaced("width 3", "width 0")).find("CfmOptions::width = 0"), std::string::npos);
  EXPECT_NE(refusal(replaced("parameters 6", "parameters 5")).find("holds 5 parameter tensors"), std::string::npos);
  EXPECT_NE(refusal(replaced("param out.bias 2", "param out.bias 3")).find("expected 'param out.bias 2'"),
            std::string::npos);
  EXPECT_NE(refusal(replaced("param out.bias 2", "param out.biaz 2")).find("expected 'param out.bias 2'"),
            std::string::npos);
  EXPECT_NE(refusal(good + "x").find("unexpected text after the last parameter"), std::string::npos);
  // A non-finite or unreadable value, and one value too many.
  const std::size_t last_line = good.rfind('\n', good.size() - 2) + 1;
  EXPECT_NE(refusal(good.substr(0, last_line) + "nan 1\n").find("malformed or non-finite value in parameter out.bias"),
            std::string::npos);
  EXPECT_NE(refusal(good.substr(0, last_line) + "1 2 3\n").find("more than 2 values for parameter out.bias"),
            std::string::npos);
  EXPECT_NE(refusal(good.substr(0, last_line) + "1\n").find("malformed or non-finite value"), std::string::npos);
}

TEST(CfmFileFormat, OptionsDeclaringMoreValuesThanTheFileHoldsAreRefusedBeforeAllocation) {
  std::string s = cfm_file_text(small_file(false));
  s.replace(s.find("width 3"), 7, "width 2000000000");
  const std::string why = refusal(s);
  EXPECT_NE(why.find("the options declare"), std::string::npos) << why;
  EXPECT_NE(why.find("bytes left in the file"), std::string::npos) << why;
}

// Found by cfm_file_fuzz: "depth 1000000000" made the parser build a layout of 2 x 10^9 entries (and the loader a
// network of 10^9 layers) before the size check. Counts are now checked arithmetically first.
TEST(CfmFileFormat, AHugeDepthIsRefusedBeforeTheLayoutIsBuilt) {
  std::string s = cfm_file_text(small_file(false));
  s.replace(s.find("depth 2"), 7, "depth 1000000000");
  EXPECT_NE(refusal(s).find("holds 6 parameter tensors, the model built from its options 2000000002"),
            std::string::npos);
  s.replace(s.find("parameters 6"), 12, "parameters 2000000002");
  EXPECT_NE(refusal(s).find("bytes left in the file"), std::string::npos);
}

TEST(CfmFileFormat, EchoedLinesAreClipped) {
  const std::string why = refusal(std::string(100000, 'a') + "\n");
  EXPECT_NE(why.find("(100000 characters)"), std::string::npos);
  EXPECT_LT(why.size(), 300u);
}

}  // namespace
