// Checked model files: one header line "iterop-checked <format> <payload bytes> <crc32>" before the
// payload, so that truncated, bit-flipped or foreign files are refused with a message before a parser sees them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace iterop::operators::detail {

/// The format word of each model file's header line.
namespace checked_format {
inline constexpr std::string_view calmflow = "calmflow";  ///< CalmFlow::save and training checkpoints
inline constexpr std::string_view cfm = "cfm";            ///< ConditionalFlowMatching::save
inline constexpr std::string_view denoiser = "denoiser";  ///< DiffusionDenoiser::save
}  // namespace checked_format

/// CRC-32 (IEEE 802.3, the polynomial of zip and PNG) of `bytes`: detects every burst of up to 32 bits.
std::uint32_t crc32(std::string_view bytes);

/// The bytes of a checked file: "iterop-checked <format> <payload.size()> <crc32 as 8 hex digits>\n" + payload.
/// `format` is one word (no space, no line break), e.g. "iterop-calmflow-2".
std::string checked_file_bytes(std::string_view format, std::string_view payload);

/// The payload of `bytes` after checking the header, the format, the size and the checksum. Throws
/// iterop::invalid_option, one line: "<what> = <path>. Violated constraint: <rule> (<reason>)." where
/// the reason says what is wrong (not an iterop model file, another format, truncated to k of n bytes,
/// n bytes of trailing data, checksum mismatch: damaged).
std::string_view checked_payload(std::string_view bytes, std::string_view format, const std::string& what,
                                 const std::string& path, const std::string& rule);

/// Writes checked_file_bytes(format, payload) to `path` atomically: a temporary "<path>.tmp" beside it,
/// written and closed, then renamed over `path`, so `path` always holds the old or the new complete file
/// (a killed process leaves at most the temporary, replaced by the next write). Throws invalid_option
/// naming `what` and the path when the folder is missing, backend_error("filesystem", ...) when the
/// file cannot be written or renamed.
void write_checked_file(const std::filesystem::path& path, std::string_view format, std::string_view payload,
                        const std::string& what);

/// Reads `path` and returns its checked payload (see checked_payload); a missing or unreadable file
/// throws invalid_option the same way.
std::string read_checked_file(const std::filesystem::path& path, std::string_view format, const std::string& what,
                              const std::string& rule);

}  // namespace iterop::operators::detail
