// Fuzzes the checked model-file header (operators/src/detail/checkpoint_file.hpp), the first thing every
// model loader reads: any bytes must be refused with invalid_option or give back a payload whose size and
// CRC-32 match the header.
#include "detail/checkpoint_file.hpp"
#include "fuzz_support.hpp"
#include "iterop/core/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes = iterop::fuzz::text_of(data, size);
  namespace d = iterop::operators::detail;
  for (std::string_view format : {d::checked_format::calmflow, d::checked_format::cfm, d::checked_format::denoiser}) {
    iterop::fuzz::expect_documented_errors<iterop::invalid_option>([&] {
      const std::string_view payload = d::checked_payload(bytes, format, "fuzz file", "fuzz", "a checked file");
      // Accepted: the payload is the end of the file and its CRC-32 is the one the header gives.
      if (bytes.substr(bytes.size() - payload.size()) != payload)
        iterop::fuzz::unexpected("the payload is not the end of the file", "");
      if (d::checked_file_bytes(format, payload).substr(0, 14) != bytes.substr(0, 14))
        iterop::fuzz::unexpected("accepted a file without the header", "");
    });
  }
  return 0;
}
