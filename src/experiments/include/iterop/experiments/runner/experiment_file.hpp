// Declarative experiment files (TOML): a fixed-point sweep or a Volterra convergence study described by
// its problems, methods, parameters, sweeps, seeds and outputs; parsed and checked before any work.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "iterop/core/errors.hpp"
#include "iterop/experiments/runner/experiment_registry.hpp"
#include "iterop/experiments/problems/fixed_point_run.hpp"
#include "iterop/experiments/problems/problem_catalogue.hpp"
#include "iterop/experiments/runner/study.hpp"
#include "iterop/experiments/problems/volterra_convergence.hpp"
#include "iterop/experiments/problems/volterra_expression.hpp"

namespace iterop::experiments {

/// A bad experiment file. what() is one line: "<file>:<line>: <key> = <value>. Violated constraint:
/// <rule>." (syntax errors: "<file>:<line>: syntax error (column <c>): <parser message>."; without a
/// line, "<file>: ..."). An iterop::invalid_option, so the command exits with status 2.
class experiment_file_error : public invalid_option {
 public:
  using invalid_option::invalid_option;
};

/// What an experiment file describes.
enum class ExperimentKind {
  fixed_point,  ///< "fixed-point": catalogue problems x [methods] x stop rules x seeds, one solve per cell
  volterra,     ///< "volterra": Volterra problems x [methods] x gradings x seeds, one convergence study per cell
};

/// "fixed-point", "volterra".
std::string to_string(ExperimentKind kind);

/// One cell of a fixed-point sweep: one solve.
struct FixedPointFileCell {
  std::string problem;             ///< catalogue name, e.g. "heq"
  ParameterValues parameters;      ///< every parameter of the problem, defaults filled in
  std::string problem_label;       ///< e.g. "heq c=0.99 n=512" (the label given, or name and given parameters)
  MethodSpec method;               ///< validated
  std::string method_label;        ///< e.g. "iterop anderson m=3"
  double atol = 1e-8;              ///< the rule ||G(x) - x||_2 <= rtol ||G(x0) - x0||_2 + atol
  double rtol = 1e-8;
  int max_iterations = 1000;
  std::string stop_label;          ///< empty unless [stop] is swept, e.g. "tol=1e-06"
  std::uint64_t seed = 1;
  nlohmann::json key = {};         ///< the cell's identity in the cell cache: kind, problem, method, stop, seed
};

/// One cell of a Volterra study: one problem solved by one method on one kind of grid over every step count.
struct VolterraFileCell {
  std::string problem_label;            ///< the label given, the reference id, or the expressions
  std::optional<std::string> reference; ///< a reference problem id (L2, L3, N1, N3, N4, S1, A2, F2, D2) ...
  std::optional<double> T;              ///< the end of the interval of reference N4 when given (past its blow-up)
  VolterraExpressionSpec expression;    ///< ... or the expressions (when reference is unset)
  VolterraKind equation_kind = VolterraKind::second;
  double singular_exponent = 0;         ///< a of (t - s)^(-a); 0: regular kernel
  VolterraMethod method = VolterraMethod::trapezoid;
  double grading = 1;                   ///< 1: uniform grid
  std::vector<int> steps;               ///< N of each solve, increasing
  std::string method_label;             ///< e.g. "trapezoid", "product_trapezoid (graded r=2)"
  std::uint64_t seed = 1;
  nlohmann::json key = {};              ///< the cell's identity in the cell cache
};

/// A parsed and checked experiment file: every cell, in run order (problem-major).
struct ExperimentFile {
  std::filesystem::path path;           ///< as given
  std::string name;                     ///< [experiment] name (default: the file's stem)
  std::string description;              ///< [experiment] description (may be empty)
  ExperimentKind kind = ExperimentKind::fixed_point;
  std::vector<std::uint64_t> seeds;     ///< [experiment] seed: one value or a list (a sweep); default 1
  bool seed_from_command_line = false;  ///< --seed replaced the file's seeds
  std::optional<std::filesystem::path> output_folder;  ///< [output] folder (relative to the working folder)
  bool plots = true;                    ///< [output] plots
  nlohmann::json document;              ///< the whole file as JSON (for config.json)
  std::vector<FixedPointFileCell> fixed_point_cells;  ///< kind fixed-point
  std::vector<VolterraFileCell> volterra_cells;       ///< kind volterra
  std::vector<std::string> notes;       ///< combinations left out (a method that does not fit a problem, a backend not built)
  nlohmann::json left_out = nlohmann::json::array();  ///< volterra: {problem, method, reason} of each combination left out

  /// Number of cells of either kind.
  std::size_t cell_count() const { return fixed_point_cells.size() + volterra_cells.size(); }
};

/// Whether a `iterop run` argument names a file rather than an experiment: it ends in ".toml" or is
/// an existing regular file.
bool names_experiment_file(std::string_view argument);

/// Reads, parses and checks `path` (see experiment_file_schema()); every cell is built and validated
/// before anything runs. `seed` (from --seed) replaces the file's seeds. Throws experiment_file_error
/// naming the file, the line and the key: syntax errors, unknown tables and keys, wrong types, values
/// that break a rule, missing required keys, a file that cannot be read.
ExperimentFile load_experiment_file(const std::filesystem::path& path, std::optional<std::uint64_t> seed = {});

/// The reference problem `id` of PROBLEMS.md (L2, L3, N1, N3, N4, S1, A2, F2, D2); N4 ends at `T` when T > 0.
AnyVolterraProblem volterra_reference_problem(const std::string& id, double T = 0);

/// What the study of either kind of file starts from: name, title, description, notes, the config's file, seeds,
/// plots and parsed document, and results.json's "kind".
Study file_study_frame(const ExperimentFile& file);
/// The study of a fixed-point file: one solve per cell, one record each (see runner/study.hpp).
Study fixed_point_file_study(const ExperimentFile& file);
/// The study of a volterra file: one solve per (cell, N), one record each; orders fitted in the report.
Study volterra_file_study(const ExperimentFile& file);

/// The same from the text of a file (`path` names it in messages and in the report): the built-in
/// experiment files are compiled into iterop and loaded this way.
ExperimentFile load_experiment_text(const std::string& text, const std::filesystem::path& path,
                                    std::optional<std::uint64_t> seed = {});

/// Runs every cell of `file` and writes the report folder context.output_folder: report.md (tables),
/// results.json, results.csv, config.json (the parsed file, the cells, versions, seeds) and the plots
/// (residual histories, or log-log error against h) unless [output] plots = false. Each finished cell is
/// written atomically to cells/<hash>.json and read back by a later run into the same folder (unless
/// context.fresh); progress lines say "[k/N] cached: ..." for those. Throws io_error when a file cannot
/// be written and run_interrupted when context.stop_after_cells stops the run.
ExperimentOutcome run_experiment_file(const ExperimentFile& file, const ExperimentContext& context);

/// An experiment file found in a folder, for `iterop run --list`.
struct ExperimentFileEntry {
  std::filesystem::path path;
  std::string name;          ///< the experiment's name, or the file's stem when it does not load
  std::string kind;          ///< "fixed-point", "volterra", or empty when it does not load
  std::string description;
  std::size_t cells = 0;
  std::string error;         ///< why it does not load (one line), empty when it does
};

/// The *.toml files of `folder` (not recursive), sorted by name, each loaded to read its name, kind,
/// description and number of cells. A missing folder gives an empty list.
std::vector<ExperimentFileEntry> list_experiment_files(const std::filesystem::path& folder);

/// The schema in a few lines, for `iterop run --help`.
std::string experiment_file_schema();

}  // namespace iterop::experiments
