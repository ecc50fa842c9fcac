// Checked model files (see detail/checkpoint_file.hpp). Plain C++, no torch: the fuzz harness
// fuzz/checkpoint_file_fuzz.cpp links this file alone.
#include "detail/checkpoint_file.hpp"

#include <array>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <system_error>

#include "iterop/core/errors.hpp"

namespace iterop::operators::detail {

namespace {

constexpr std::string_view kMagic = "iterop-checked ";
constexpr std::size_t kMaxHeader = 256;  // "iterop-checked " + format + size + crc: far below this

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t n = 0; n < 256; ++n) {
    std::uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[n] = c;
  }
  return table;
}
constexpr auto kCrcTable = make_crc_table();

std::string hex8(std::uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

/// Printable ASCII of `text`, at most 40 characters (a foreign file's bytes never reach the terminal raw).
std::string shown(std::string_view text) {
  std::string s;
  for (char ch : text.substr(0, 40)) s += (ch >= 0x20 && ch < 0x7f) ? ch : '?';
  if (text.size() > 40) s += "...";
  return s;
}

}  // namespace

std::uint32_t crc32(std::string_view bytes) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : bytes) c = kCrcTable[(c ^ b) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::string checked_file_bytes(std::string_view format, std::string_view payload) {
  require(!format.empty() && format.find_first_of(" \n\r\t") == std::string_view::npos, "checked file format",
          std::string(format), "one word");
  std::string s(kMagic);
  s += format;
  s += ' ';
  s += std::to_string(payload.size());
  s += ' ';
  s += hex8(crc32(payload));
  s += '\n';
  s += payload;
  return s;
}

std::string_view checked_payload(std::string_view bytes, std::string_view format, const std::string& what,
                                 const std::string& path, const std::string& rule) {
  auto refuse = [&](const std::string& reason) {
    throw invalid_option(what + " = " + path + ". Violated constraint: " + rule + " (" + reason + ").");
  };
  const std::size_t eol = bytes.substr(0, kMaxHeader).find('\n');
  if (bytes.substr(0, kMagic.size()) != kMagic || eol == std::string_view::npos)
    refuse("not an iterop model file: it does not start with the line 'iterop-checked " + std::string(format) +
           " <bytes> <crc32>'; files written before the checksum was added cannot be read");
  std::string_view header = bytes.substr(kMagic.size(), eol - kMagic.size());
  const std::string_view payload = bytes.substr(eol + 1);
  // header: "<format> <size> <crc32>"
  const std::size_t s1 = header.find(' ');
  const std::size_t s2 = s1 == std::string_view::npos ? s1 : header.find(' ', s1 + 1);
  if (s2 == std::string_view::npos) refuse("malformed header line '" + shown(header) + "'");
  const std::string_view found_format = header.substr(0, s1);
  const std::string_view size_text = header.substr(s1 + 1, s2 - s1 - 1);
  const std::string_view crc_text = header.substr(s2 + 1);
  if (found_format != format)
    refuse("format " + shown(found_format) + ", expected " + std::string(format));
  std::uint64_t size = 0;
  std::uint32_t crc = 0;
  const auto r1 = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size);
  const auto r2 = std::from_chars(crc_text.data(), crc_text.data() + crc_text.size(), crc, 16);
  const bool lowercase_hex = crc_text.find_first_not_of("0123456789abcdef") == std::string_view::npos;  // as written
  if (size_text.empty() || r1.ec != std::errc{} || r1.ptr != size_text.data() + size_text.size() ||
      crc_text.size() != 8 || !lowercase_hex || r2.ec != std::errc{} || r2.ptr != crc_text.data() + crc_text.size())
    refuse("malformed header line '" + shown(header) + "'");
  if (payload.size() < size)
    refuse("truncated: " + std::to_string(payload.size()) + " of " + std::to_string(size) + " bytes");
  if (payload.size() > size)
    refuse(std::to_string(payload.size() - size) + " bytes after the end of the " + std::to_string(size) +
           "-byte payload");
  const std::uint32_t actual = crc32(payload);
  if (actual != crc)
    refuse("checksum mismatch: crc32 " + hex8(actual) + ", the header says " + hex8(crc) + "; the file is damaged");
  return payload;
}

void write_checked_file(const std::filesystem::path& path, std::string_view format, std::string_view payload,
                        const std::string& what) {
  namespace fs = std::filesystem;
  const fs::path parent = path.parent_path();
  std::error_code ec;
  require(!path.filename().empty() && (parent.empty() || fs::is_directory(parent, ec)), what, path.string(),
          "a file in an existing folder");
  const std::string bytes = checked_file_bytes(format, payload);
  fs::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    out.close();
    if (!out) {
      fs::remove(tmp, ec);
      throw backend_error("filesystem", "cannot write " + tmp.string() + " (" + what + " " + path.string() + ")");
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    const std::string reason = ec.message();
    fs::remove(tmp, ec);
    throw backend_error("filesystem", "cannot rename " + tmp.string() + " to " + path.string() + ": " + reason);
  }
}

std::string read_checked_file(const std::filesystem::path& path, std::string_view format, const std::string& what,
                              const std::string& rule) {
  std::error_code ec;
  require(std::filesystem::is_regular_file(path, ec), what, path.string(), "an existing file (" + rule + ")");
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  require(!in.bad(), what, path.string(), "a readable file (" + rule + ")");
  return std::string(checked_payload(bytes, format, what, path.string(), rule));
}

}  // namespace iterop::operators::detail
