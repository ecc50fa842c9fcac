// The checked model-file format (operators/src/detail/checkpoint_file.hpp): round trip, CRC-32 against its
// published check value, and every kind of damage refused with one line naming the file and the reason.
#include "detail/checkpoint_file.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "iterop/core/errors.hpp"

namespace {

using namespace iterop::operators::detail;
namespace fs = std::filesystem;

std::string error_of(const std::string& bytes) {
  try {
    (void)checked_payload(bytes, "cfm", "M::load path", "/x/m.cfm", "a file written by M::save");
  } catch (const iterop::invalid_option& e) {
    return e.what();
  }
  return "";
}

fs::path scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() /
                       ("iterop_checkpoint_file_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  fs::create_directories(dir);
  return dir / name;
}

TEST(CheckpointFile, Crc32MatchesTheStandardCheckValue) {
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);  // the check value of CRC-32/ISO-HDLC
  EXPECT_EQ(crc32(""), 0u);
}

TEST(CheckpointFile, RoundTripThroughAFile) {
  const std::string payload("weights\0with\nnul and newlines", 29);
  const fs::path file = scratch("m.cfm");
  write_checked_file(file, "cfm", payload, "M::save path");
  EXPECT_FALSE(fs::exists(file.string() + ".tmp"));
  EXPECT_EQ(read_checked_file(file, "cfm", "M::load path", "a file written by M::save"), payload);
  std::ifstream in(file, std::ios::binary);
  std::string first;
  std::getline(in, first);
  EXPECT_EQ(first, "iterop-checked cfm 29 " + std::string([&] {
                     char b[9];
                     std::snprintf(b, sizeof b, "%08x", crc32(payload));
                     return std::string(b);
                   }()));
  // A missing file and a folder are refused with the rule, not read as empty.
  try {
    (void)read_checked_file(scratch("missing.cfm"), "cfm", "M::load path", "a file written by M::save");
    ADD_FAILURE() << "no error";
  } catch (const iterop::invalid_option& e) {
    EXPECT_NE(std::string(e.what()).find("missing.cfm. Violated constraint: an existing file"), std::string::npos);
  }
  EXPECT_THROW((void)read_checked_file(file.parent_path(), "cfm", "M::load path", "r"), iterop::invalid_option);
  EXPECT_THROW(write_checked_file(file.parent_path() / "no" / "m.cfm", "cfm", "x", "M::save path"), iterop::invalid_option);
}

TEST(CheckpointFile, EveryTruncationIsRefused) {
  const std::string good = checked_file_bytes("cfm", "iterop-cfm 1\ndim 2\nwidth 8\n");
  EXPECT_EQ(error_of(good), "");
  for (std::size_t n = 0; n < good.size(); ++n) {
    const std::string e = error_of(good.substr(0, n));
    EXPECT_NE(e.find("M::load path = /x/m.cfm. Violated constraint: a file written by M::save ("), std::string::npos)
        << n << ": " << e;
  }
  EXPECT_NE(error_of(good.substr(0, good.size() - 3)).find("truncated: "), std::string::npos);
  EXPECT_NE(error_of(good + "x").find("1 bytes after the end"), std::string::npos);
}

TEST(CheckpointFile, EverySingleBitFlipIsRefused) {
  const std::string good = checked_file_bytes("cfm", "iterop-cfm 1\ndim 2\nwidth 8\nparam a 3\n0.5 -1 2\n");
  for (std::size_t i = 0; i < good.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = good;
      bad[i] = char(bad[i] ^ (1 << bit));
      EXPECT_NE(error_of(bad), "") << "byte " << i << " bit " << bit;
    }
  std::string bad = good;
  bad[bad.size() - 2] ^= 0x04;
  EXPECT_NE(error_of(bad).find("checksum mismatch"), std::string::npos) << error_of(bad);
}

TEST(CheckpointFile, ForeignAndRandomFilesAreRefusedWithoutEchoingTheirBytes) {
  EXPECT_NE(error_of("PK\x03\x04 a zip archive").find("not an iterop model file"), std::string::npos);
  EXPECT_NE(error_of(checked_file_bytes("denoiser", "x")).find("format denoiser, expected cfm"), std::string::npos);
  EXPECT_NE(error_of("iterop-checked cfm 12 zz\nabc").find("malformed header"), std::string::npos);
  EXPECT_NE(error_of("iterop-checked cfm 99999999999999999999999 00000000\n").find("malformed header"),
            std::string::npos);
  const std::string e = error_of("iterop-checked \x1b[31m\x07 1 2\n");
  EXPECT_EQ(e.find('\x1b'), std::string::npos) << e;
  std::mt19937 gen(3);
  for (int k = 0; k < 200; ++k) {
    std::string bytes(std::size_t(gen() % 300), '\0');
    for (auto& c : bytes) c = char(gen());
    if (k % 2) bytes = "iterop-checked cfm " + bytes;
    EXPECT_NE(error_of(bytes), "") << k;
  }
}

}  // namespace
