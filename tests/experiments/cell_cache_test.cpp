// Tests of the cell cache: canonical keys and their hash, store and load, rejection of another key, layout
// or build, --fresh, the budget of computed cells, and the round trip of a fixed-point run through a cell.
#include "iterop/experiments/runner/cell_cache.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "iterop/experiments/problems/fixed_point_run.hpp"
#include "iterop/experiments/problems/problem_catalogue.hpp"
#include "test_support.hpp"

namespace ie = iterop::experiments;
using iterop::cli_test::read_file;
using iterop::cli_test::ScratchFolder;

TEST(CellCache, CanonicalKeyIgnoresInsertionOrder) {
  nlohmann::json a = {{"method", "anderson"}, {"memory", 3}, {"c", 0.99}};
  nlohmann::json b;
  b["c"] = 0.99;
  b["memory"] = 3;
  b["method"] = "anderson";
  EXPECT_EQ(ie::canonical_cell_key(a), ie::canonical_cell_key(b));
  EXPECT_EQ(ie::cell_hash(ie::canonical_cell_key(a)), ie::cell_hash(ie::canonical_cell_key(b)));
  b["memory"] = 5;
  EXPECT_NE(ie::cell_hash(ie::canonical_cell_key(a)), ie::cell_hash(ie::canonical_cell_key(b)));
  EXPECT_EQ(ie::cell_hash(""), "cbf29ce484222325");  // FNV-1a 64 offset basis: the hash is the published one
  EXPECT_EQ(ie::cell_hash("a"), "af63dc4c8601ec8c");
}

TEST(CellCache, StoresAndLoadsOnlyTheSameKeyAndBuild) {
  ScratchFolder dir;
  const ie::CellCache cache(dir.path() / "cells");
  const nlohmann::json key = {{"kind", "test"}, {"seed", 1}};
  EXPECT_FALSE(cache.load(key).has_value());
  const auto path = cache.store(key, {{"iterations", 9}});
  EXPECT_EQ(path, cache.path_of(key));
  ASSERT_TRUE(cache.load(key).has_value());
  EXPECT_EQ((*cache.load(key))["iterations"], 9);
  EXPECT_FALSE(cache.load({{"kind", "test"}, {"seed", 2}}).has_value());
  EXPECT_FALSE(ie::CellCache(dir.path() / "cells", /*reuse=*/false).load(key).has_value());  // --fresh

  auto stored = nlohmann::json::parse(read_file(path));
  EXPECT_EQ(stored["build"], ie::build_fingerprint());
  stored["build"] = "another build";
  std::ofstream(path) << stored.dump();
  EXPECT_FALSE(cache.load(key).has_value());  // written by another executable: computed again
  std::ofstream(path) << "{ not json";
  EXPECT_FALSE(cache.load(key).has_value());
}

TEST(CellCache, RecordsReadBackKeepTheirKeyOrder) {  // a cell read back (rerun, another rank) is the record as computed
  ScratchFolder dir;
  const ie::CellCache cache(dir.path() / "cells");
  const nlohmann::json key = {{"kind", "order"}, {"seed", 1}};
  nlohmann::ordered_json record;
  record["problem"] = "heq";
  record["method"] = "anderson";
  record["c"] = 0.5;
  cache.store(key, record);
  const auto back = cache.load(key);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->dump(), record.dump());  // not sorted: problem, method, c
  EXPECT_FALSE(ie::CellCache(dir.path() / "cells", /*reuse=*/false).load(key).has_value());
}

TEST(CellCache, BudgetStopsAfterTheLimitWhenCellsRemain) {
  ie::CellBudget none(std::nullopt);
  for (int i = 0; i < 10; ++i) EXPECT_NO_THROW(none.computed(5));
  ie::CellBudget two(2);
  EXPECT_NO_THROW(two.computed(3));
  EXPECT_THROW(two.computed(2), ie::run_interrupted);
  ie::CellBudget last(1);
  EXPECT_NO_THROW(last.computed(0));  // nothing remains: the run finishes normally
}

TEST(CellCache, MethodSpecKeyHasTheOptionsGiven) {
  ie::MethodSpec m;
  m.method = "anderson";
  m.memory = 3;
  EXPECT_EQ(ie::method_spec_json(m), (nlohmann::json{{"solver", "iterop"}, {"method", "anderson"}, {"memory", 3}}));
}
