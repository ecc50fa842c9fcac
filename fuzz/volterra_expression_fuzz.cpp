// Fuzzes the expressions of `iterop solve volterra` (--f, --kernel, --exact) through the command itself:
// the same CLI11 options, checks, muparser compilation, solves on two small grids, errors, observed order
// and JSON / table output. Input: byte 0 picks the kind (second, first, ide), the grading and the format;
// the rest is "f\nkernel\nexact" (exact optional).
#include <CLI/CLI.hpp>

#include <sstream>

#include "cli_support.hpp"
#include "fuzz_support.hpp"
#include "iterop/core/errors.hpp"
#include "solve_volterra_command.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 4096) return 0;
  const unsigned mode = data[0];
  const auto parts = iterop::fuzz::fields(iterop::fuzz::text_of(data + 1, size - 1), '\n', 3);
  static const char* kinds[] = {"second", "first", "ide"};
  const std::string kind = kinds[mode % 3];
  std::vector<std::string> args = {"iterop", "volterra", "--kind", kind, "--f", parts[0], "--intervals", "4,8"};
  if (parts.size() > 1) args.insert(args.end(), {"--kernel", parts[1]});
  if (parts.size() > 2) args.insert(args.end(), {"--exact", parts[2]});
  if (kind == "ide") args.insert(args.end(), {"--y0", "1"});
  if (mode & 4) args.insert(args.end(), {"--grading", "2"});
  if (mode & 8) args.insert(args.end(), {"--format", "json"});
  if (mode & 16) args.insert(args.end(), {"--T", "3.5"});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  iterop::fuzz::expect_documented_errors<iterop::invalid_option, CLI::Error>([&] {
    try {
      CLI::App solve{"solve"};
      iterop::cli::SolveVolterraCommand command(solve);
      solve.parse(int(argv.size()), argv.data());
      std::ostringstream out;
      (void)command.execute(out);
    } catch (const iterop::cli::usage_error&) {  // the command line's own one-line errors (not a std::exception)
    }
  });
  return 0;
}
