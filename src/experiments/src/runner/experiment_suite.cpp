// The default suite: members run one after the other into <report>/<member>/, then index.md (one
// summary line per member, linked to its report) and index.json, both written atomically.
#include "iterop/experiments/runner/experiment_suite.hpp"

#include <chrono>
#include <ctime>

#include <fmt/format.h>

#include "iterop/experiments/runner/build_info.hpp"
#include "iterop/experiments/runner/report_writer.hpp"
#include "iterop/experiments/runner/table.hpp"
#include "iterop/experiments/runner/run_time.hpp"
#include "iterop/experiments/runner/study.hpp"

namespace iterop::experiments {

namespace {
}  // namespace

ExperimentOutcome run_suite(const std::vector<const Experiment*>& members, const ExperimentContext& context,
                            std::vector<SuiteMemberResult>* results) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string started = utc_now();
  ReportFolder folder(context.output_folder);
  std::vector<SuiteMemberResult> done;
  ExperimentOutcome outcome;
  for (std::size_t i = 0; i < members.size(); ++i) {
    const Experiment& e = *members[i];
    SuiteMemberResult r;
    r.name = e.name;
    r.description = e.description;
    r.folder = folder.path() / e.name;
    context.report(fmt::format("== suite {}/{}: {} -> {}", i + 1, members.size(), e.name, r.folder.string()));
    ExperimentContext member = context;
    member.output_folder = r.folder;
    const auto m0 = std::chrono::steady_clock::now();
    r.outcome = e.run(member);
    r.seconds = seconds_since(m0);
    context.report(fmt::format("== suite {}/{}: {} finished in {}: {}", i + 1, members.size(), e.name,
                               format_seconds(r.seconds), r.outcome.summary));
    outcome.files.insert(outcome.files.end(), r.outcome.files.begin(), r.outcome.files.end());
    for (const auto& n : r.outcome.notes) outcome.notes.push_back(e.name + ": " + n);
    done.push_back(std::move(r));
  }
  const double seconds = seconds_since(t0);

  std::string md = "# iterop report\n\n";
  md += fmt::format("The default suite of `iterop run`: {} experiments, each in its own folder with report.md, "
                    "results.json, results.csv, config.json and its plots. Seed {}. ",
                    done.size(), context.seed);
  md += versions_line() + fmt::format(". Started {} UTC, {} in all.\n\n", started, format_seconds(seconds));
  for (const auto& r : done)
    md += "- [" + r.name + "](" + r.name + "/report.md): " +
          (r.outcome.summary.empty() ? r.description + " (" + format_seconds(r.seconds) + ")" : r.outcome.summary) + "\n";
  md += "\n";
  Table t;
  t.columns = {"experiment", "what it runs", "time", "notes"};
  t.align = {Align::left, Align::left, Align::right, Align::left};
  for (const auto& r : done) {
    std::string notes;
    for (const auto& n : r.outcome.notes) notes += (notes.empty() ? "" : " ") + n;
    t.add_row({"[" + r.name + "](" + r.name + "/report.md)", r.description, format_seconds(r.seconds), notes});
  }
  md += "## Members\n\n" + t.to_markdown() + "\nRun one again with `iterop run NAME`; `iterop run --list` lists them "
        "and the experiment files in experiments/.\n";

  nlohmann::json jm = nlohmann::json::array();
  for (const auto& r : done) {
    nlohmann::json files = nlohmann::json::array();
    for (const auto& f : r.outcome.files) files.push_back(f.lexically_relative(folder.path()).generic_string());
    jm.push_back({{"name", r.name},
                  {"description", r.description},
                  {"folder", r.name},
                  {"report", r.name + "/report.md"},
                  {"summary", r.outcome.summary},
                  {"notes", r.outcome.notes},
                  {"seconds", r.seconds},
                  {"files", files}});
  }
  folder.write_json("index.json", {{"suite", "default"},
                                   {"started_utc", started},
                                   {"seed", context.seed},
                                   {"members", jm},
                                   {"seconds", seconds},
                                   {"versions", build_info_json()}});
  folder.write_text("index.md", md);
  outcome.files.insert(outcome.files.end(), folder.written().begin(), folder.written().end());
  outcome.summary = fmt::format("{} experiments in {}", done.size(), format_seconds(seconds));
  if (results) *results = std::move(done);
  return outcome;
}

}  // namespace iterop::experiments
