// The one runner of studies: every cell computed or read back from cells/, one progress line per cell,
// the budget of computed cells, then results.json / results.csv / config.json straight from the
// records and report.md (heading, description, versions, notes, the study's body).
#include "iterop/experiments/runner/study.hpp"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "iterop/core/errors.hpp"
#include "iterop/experiments/runner/build_info.hpp"
#include "iterop/experiments/runner/atomic_file.hpp"
#include "iterop/experiments/runner/cell_cache.hpp"
#include "iterop/experiments/runner/run_time.hpp"

namespace iterop::experiments {

std::string versions_line() {
  const auto info = build_info_json();
  std::string s = "iterop " + info["iterop"].get<std::string>() + ", " + info["compiler"].get<std::string>();
  for (const auto& [name, version] : backend_versions()) s += ", " + name + " " + version;
  return s;
}

std::string StudyReport::plot(const std::string& stem, const Figure& figure, const std::string& caption) {
  PlotOptions options;
  options.gnuplot = context_.gnuplot;
  const PlotOutcome p = plot_png(folder_, stem, figure, options);
  if (p.written)
    return "![" + caption + "](" + p.png.filename().string() + ")\n\nData: `" + p.data.filename().string() +
           "`, script: `" + p.script.filename().string() + "`.\n\n";
  note("Plot " + stem + " skipped: " + p.message + ".");
  context_.report("plot skipped: " + p.message);
  return "Plot skipped: " + p.message + ". The data (`" + p.data.filename().string() + "`) and the gnuplot script (`" +
         p.script.filename().string() + "`) were written; install gnuplot and run the script to draw it.\n\n";
}

namespace {

std::string dump(const nlohmann::ordered_json& j) {
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace

ExperimentOutcome run_study(const Study& study, const ExperimentContext& context) {
  require(!study.name.empty(), "Study::name", std::string("\"\""), "a non-empty name");
  require(static_cast<bool>(study.compute), "Study::compute", study.name, "a function computing one cell");
  require(static_cast<bool>(study.report), "Study::report", study.name, "a function writing the report");
  const auto t0 = std::chrono::steady_clock::now();
  const std::string started = utc_now();
  ReportFolder folder(context.output_folder);
  for (const auto& n : study.notes) context.report(n);

  const CellCache cache(folder.path() / "cells", study.cache && !context.fresh);
  CellBudget budget(context.stop_after_cells);
  const std::size_t total = study.cells.size();
  const std::size_t width = std::to_string(total).size();
  Records records;
  std::size_t reused = 0;
  require(context.ranks >= 1 && context.rank >= 0 && context.rank < context.ranks, "ExperimentContext::rank",
          context.rank, "0 <= rank < ranks (" + std::to_string(context.ranks) + ")");
  // Cells over ranks: rank r of R computes cells r, r + R, ... into cells/, then says so in
  // cells/rank-<r>-of-<R>.done (with the launcher's job id); rank 0 waits for those files and writes the report
  // from all the cells.
  const int rank = context.rank, ranks = context.ranks;
  const bool split = ranks > 1 && study.cache;  // without the cache every rank would compute every cell
  if (ranks > 1 && !study.cache && rank != 0) return {};  // rank 0 computes the uncached study alone
  std::vector<std::optional<Record>> by_index(total);
  std::vector<std::size_t> reused_here;
  const auto cells_folder = folder.path() / "cells";
  const CellCache peers(cells_folder, true);
  // Reads the cells [of the stages <= last_stage] that other ranks computed, once each of them has said so in its
  // marker file; `reused` counts those they read back from an earlier run.
  auto collect_peers = [&](const std::string& marker_suffix, int last_stage) {
    std::set<std::size_t> reused_by_peers;
    for (int k = 0; k < ranks; ++k) {  // the barrier: each other rank's marker of this job
      if (k == rank) continue;
      const auto path = cells_folder / fmt::format("rank-{}-of-{}{}", k, ranks, marker_suffix);
      for (;;) {
        std::ifstream in(path);
        const auto m = in ? nlohmann::json::parse(in, nullptr, false) : nlohmann::json();
        if (m.is_object() && m.value("job", std::string()) == context.job) {
          for (const auto& i : m["reused"]) reused_by_peers.insert(i.get<std::size_t>());
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    for (std::size_t i = 0; i < total; ++i) {
      if (by_index[i] || study.cells[i].stage > last_stage) continue;
      const nlohmann::json key = {{"experiment", study.name}, {"cell", study.cells[i].key}, {"seed", context.seed}};
      const auto stored = peers.load(key);
      if (!stored || !stored->is_object())
        throw io_error("cell " + study.cells[i].label + " of rank " + std::to_string(i % std::size_t(ranks)) +
                       " is missing from " + cells_folder.string() + " (the ranks must run the same build)");
      Record r = *stored;
      r["cached"] = reused_by_peers.count(i) > 0;
      if (reused_by_peers.count(i)) ++reused;
      by_index[i] = std::move(r);
    }
  };
  auto write_marker = [&](const std::string& marker_suffix) {
    write_file_atomically(cells_folder / fmt::format("rank-{}-of-{}{}", rank, ranks, marker_suffix),
                          nlohmann::json{{"job", context.job}, {"reused", reused_here}}.dump() + "\n");
  };
  std::set<int> stages;
  for (const auto& c : study.cells) {
    require(c.stage >= 0, "Cell::stage", c.stage, "stage >= 0");
    stages.insert(c.stage);
  }
  const int first_stage = stages.empty() ? 0 : *stages.begin();
  int previous_stage = first_stage;
  for (const int stage : stages) {
    if (stage != first_stage) {
      if (split) {  // every rank needs every earlier cell: a barrier per stage
        const std::string suffix = fmt::format(".stage-{}.done", previous_stage);
        write_marker(suffix);
        collect_peers(suffix, previous_stage);
      }
      if (study.begin_stage) {
        Records earlier;
        for (std::size_t i = 0; i < total; ++i)
          if (study.cells[i].stage < stage) earlier.push_back(*by_index[i]);
        study.begin_stage(stage, earlier);
      }
      previous_stage = stage;
    }
    for (std::size_t i = 0; i < total; ++i) {
      if (study.cells[i].stage != stage) continue;
      if (split && i % std::size_t(ranks) != std::size_t(rank)) continue;  // another rank's cell
      const Cell& cell = study.cells[i];
      const nlohmann::json key = {{"experiment", study.name}, {"cell", cell.key}, {"seed", context.seed}};
      const std::string hash = cell_hash(canonical_cell_key(key));
      Record r;
      bool cached = false;
      if (const auto stored = cache.load(key); stored && stored->is_object()) {
        r = *stored;
        cached = true;
        ++reused;
      } else {
        const auto c0 = std::chrono::steady_clock::now();
        r = study.compute(i);
        require(r.is_object(), "Study::compute", study.name + " cell " + cell.label, "a record (a JSON object)");
        if (!r.contains("seconds")) r["seconds"] = seconds_since(c0);
        r["cell"] = hash;
        if (study.cache) cache.store(key, r);
      }
      r["cached"] = cached;
      if (cached) reused_here.push_back(i);
      const std::string more = study.progress ? study.progress(r) : std::string();
      context.report(fmt::format("[{:>{}}/{}] {}{}{}", i + 1, width, total, cached ? "cached: " : "", cell.label, more));
      by_index[i] = std::move(r);
      if (!cached) budget.computed(total - i - 1);
    }
  }
  if (split) {
    if (rank != 0) {
      write_marker(".done");
      return {.summary = fmt::format("rank {} of {}: its cells are in {}; rank 0 writes the report", rank, ranks,
                                     cells_folder.string())};
    }
    collect_peers(".done", previous_stage);
    for (int k = 0; k < ranks; ++k) {  // every rank has passed every barrier: the markers can go
      std::filesystem::remove(cells_folder / fmt::format("rank-{}-of-{}.done", k, ranks));  // none of rank 0
      for (const int stage : stages)
        std::filesystem::remove(cells_folder / fmt::format("rank-{}-of-{}.stage-{}.done", k, ranks, stage));
    }
    context.report(fmt::format("{} ranks: the cells of ranks 1..{} read back from {}", ranks, ranks - 1,
                               cells_folder.string()));
  }
  for (auto& r : by_index) records.push_back(std::move(*r));

  context.report("writing the report to " + folder.path().string());
  StudyReport report(folder, context);
  for (const auto& n : study.notes) report.note(n);
  if (reused > 0)
    report.note(fmt::format("{} of {} cells were read back from cells/ (finished by an earlier run of this build with "
                            "the same settings and seed; their times are those of that run); --fresh computes every "
                            "cell again.",
                            reused, total));
  const ReportText text = study.report(records, report);
  const double seconds = seconds_since(t0);

  nlohmann::ordered_json results = {{"experiment", study.name}, {"seed", context.seed}};
  for (const auto& [k, v] : study.results_header.items()) results[k] = v;
  results["results"] = records.rows();
  if (!text.derived.empty()) results["derived"] = text.derived.rows();
  folder.write_text("results.json", dump(results));
  folder.write_text("results.csv", records.to_csv());
  nlohmann::json cells = nlohmann::json::array();
  for (const auto& c : study.cells) cells.push_back({{"label", c.label}, {"key", c.key}});
  folder.write_json("config.json", {{"experiment", study.name},
                                    {"started_utc", started},
                                    {"seed", context.seed},
                                    {"size", context.size == RunSize::full ? "full" : "default"},
                                    {"data", context.data_folder.string()},
                                    {"config", study.config},
                                    {"cells", cells},
                                    {"versions", build_info_json()}});

  std::string md = "# " + (study.title.empty() ? "Experiment " + study.name : study.title) + "\n\n";
  md += study.description + (study.description.empty() ? "" : "\n\n");
  md += fmt::format("{}. Seed {}; {} cells in {}.\n\n", versions_line(), context.seed, total, format_seconds(seconds));
  for (const auto& n : report.notes()) md += "> " + n + "\n";
  if (!report.notes().empty()) md += "\n";
  md += text.markdown;
  md += "\nFiles: `results.json` and `results.csv` (one record per cell), `config.json` (configuration, cells, "
        "versions), `cells/` (finished cells, reused by a rerun into this folder).\n";
  folder.write_text("report.md", md);

  return {.files = folder.written(),
          .notes = report.notes(),
          .summary = text.summary + (reused > 0 ? fmt::format(" ({} of {} cells read back from cells/)", reused, total)
                                                : std::string())};
}

Experiment study_experiment(std::string name, std::string description, bool in_suite,
                            std::function<Study(const ExperimentContext&)> make) {
  Experiment e;
  e.name = name;
  e.description = std::move(description);
  e.in_suite = in_suite;
  e.run = [make = std::move(make)](const ExperimentContext& context) { return run_study(make(context), context); };
  return e;
}

}  // namespace iterop::experiments
