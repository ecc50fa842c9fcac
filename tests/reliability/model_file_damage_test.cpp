// Damaged model files of every loader (CaLMFlow, CFM, denoiser): truncated at many lengths, one bit flipped
// at many places, random bytes, an empty file, a folder. Each is refused with iterop::invalid_option naming
// the file; none crashes or loads. (PIGN has no model file: `iterop train pign` keeps its model in memory.)
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <string>

#include "iterop/core/errors.hpp"
#include "iterop/operators/calmflow.hpp"
#include "iterop/operators/conditional_flow_matching.hpp"
#include "iterop/operators/diffusion_denoiser.hpp"

namespace {

namespace fs = std::filesystem;
using namespace iterop::operators;

fs::path scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() /
                       ("iterop_model_damage_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  fs::create_directories(dir);
  return dir / name;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_all(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

/// Loads `good` damaged in every way listed at the top; each must throw invalid_option naming the file.
void expect_every_damage_refused(const fs::path& good, const std::function<void(const std::string&)>& load) {
  load(good.string());  // the undamaged file loads
  const std::string bytes = read_all(good);
  ASSERT_GT(bytes.size(), 100u);
  const fs::path bad = good.string() + ".bad";
  auto refused = [&](const std::string& content, const std::string& what) {
    write_all(bad, content);
    try {
      load(bad.string());
      ADD_FAILURE() << what << ": loaded";
    } catch (const iterop::invalid_option& e) {
      EXPECT_NE(std::string(e.what()).find(bad.string()), std::string::npos) << what << ": " << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << what;
    }
  };
  for (std::size_t n : {std::size_t(0), std::size_t(1), std::size_t(20), bytes.size() / 3, bytes.size() / 2, bytes.size() - 1})
    refused(bytes.substr(0, n), "truncated to " + std::to_string(n));
  std::mt19937_64 gen(7);
  for (int k = 0; k < 40; ++k) {
    std::string flipped = bytes;
    const std::size_t at = k < 8 ? std::size_t(k) * 7 : std::size_t(gen() % bytes.size());  // header bytes too
    flipped[at] = char(flipped[at] ^ (1 << (gen() % 8)));
    refused(flipped, "bit flipped at " + std::to_string(at));
  }
  std::string random(bytes.size(), '\0');
  for (auto& c : random) c = char(gen());
  refused(random, "random bytes");
  refused(bytes + "tail", "trailing bytes");
  fs::remove(bad);
  fs::create_directories(bad);
  EXPECT_THROW(load(bad.string()), iterop::invalid_option);
  fs::remove(bad);
}

TEST(ModelFileDamage, CalmFlowFilesAndCheckpoints) {
  CalmFlowOptions o;
  o.dim = 2;
  o.time_points = 3;
  o.spatial_tokens = 1;
  o.trajectories = 2;
  o.width = 8;
  o.layers = 1;
  o.heads = 2;
  o.feedforward = 8;
  o.batch = 4;
  const CalmFlow m(o);
  const fs::path file = scratch("flow.pt");
  m.save(file.string());
  expect_every_damage_refused(file, [](const std::string& p) { (void)CalmFlow::load(p); });
}

TEST(ModelFileDamage, ConditionalFlowMatchingFiles) {
  CfmOptions o;
  o.width = 8;
  o.depth = 1;
  o.batch = 4;
  const ConditionalFlowMatching m(o);
  const fs::path file = scratch("cfm.model");
  m.save(file.string());
  expect_every_damage_refused(file, [](const std::string& p) { (void)ConditionalFlowMatching::load(p); });
}

TEST(ModelFileDamage, DenoiserFiles) {
  DenoiserOptions o;
  o.width = 8;
  o.depth = 1;
  o.time_embedding = 4;
  o.diffusion_steps = 10;
  o.batch = 4;
  const DiffusionDenoiser m(o);
  const fs::path file = scratch("denoiser.pt");
  m.save(file);
  expect_every_damage_refused(file, [](const std::string& p) { (void)DiffusionDenoiser::load(p); });
}

}  // namespace
