// Shares of a study (--shard i/n, MPI ranks) and the partial result files they write.
#include "jobs/shard.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "input_error.h"
#include "jobs/partial_result.h"
#include "test_support.h"

using namespace basin;
using namespace basin::jobs;
using basin::test::expect_input_error;

TEST(Shard, ParsesShareOfCountFromZero) {
  const Shard s = Shard::parse("2/5");
  EXPECT_EQ(s.index, 2);
  EXPECT_EQ(s.count, 5);
  EXPECT_EQ(s.to_string(), "2/5");
  EXPECT_FALSE(s.whole());
  EXPECT_TRUE(Shard::parse("0/1").whole());
  expect_input_error([] { Shard::parse("5/5"); }, {"'5/5'", "0 … 4", "counted from 0"});
  expect_input_error([] { Shard::parse("1/0"); }, {"'1/0'", "1 … 4096"});
  expect_input_error([] { Shard::parse("1/5000"); }, {"1 … 4096"});
  expect_input_error([] { Shard::parse("3"); }, {"'3'", "i/n"});
  for (const char* bad : {"-1/4", "1/+4", "a/4", "1/4x", "/4", "1/", " 1/4", "99999999999/4"})
    expect_input_error([&] { Shard::parse(bad); }, {"--shard", "decimal"});
}

TEST(Shard, BlocksCoverEveryUnitOnceAndDifferByAtMostOne) {
  for (size_t total : {0u, 1u, 5u, 28u, 190u})
    for (int n : {1, 2, 3, 7, 30}) {
      std::vector<int> hits(total, 0);
      size_t smallest = total, largest = 0, next = 0;
      for (int i = 0; i < n; ++i) {
        const auto [b, e] = Shard{i, n}.block(total);
        EXPECT_EQ(b, next) << total << " " << i << "/" << n;  // contiguous, in share order
        next = e;
        for (size_t u = b; u < e; ++u)
          ++hits[u];
        smallest = std::min(smallest, e - b);
        largest = std::max(largest, e - b);
      }
      EXPECT_EQ(next, total);
      for (size_t u = 0; u < total; ++u)
        EXPECT_EQ(hits[u], 1) << "unit " << u << " of " << total << " over " << n;
      EXPECT_LE(largest - smallest, 1u) << total << " over " << n;
    }
  // 28 pairs over 3 ranks: 9, 9, 10.
  EXPECT_EQ(Shard({0, 3}).block(28), std::make_pair(size_t(0), size_t(9)));
  EXPECT_EQ(Shard({2, 3}).block(28), std::make_pair(size_t(18), size_t(28)));
}

namespace {
PartialResult part(int index, int count, const std::string& fingerprint = "{\"m\":1}",
                   const std::string& command = "connectivity") {
  PartialResult p;
  p.command = command;
  p.fingerprint = fingerprint;
  p.shard = {index, count};
  p.outputs = {{"json", true}};
  p.result = {{"share", index}};
  p.source = "part" + std::to_string(index) + ".json";
  return p;
}
}  // namespace

TEST(PartialResult, RoundTripsAndRefusesWhatIsNotOne) {
  const PartialResult p = part(1, 3);
  const auto back = PartialResult::from_json(nlohmann::json::parse(p.to_json().dump()), "x.json");
  EXPECT_EQ(back.command, "connectivity");
  EXPECT_EQ(back.shard.index, 1);
  EXPECT_EQ(back.shard.count, 3);
  EXPECT_EQ(back.fingerprint, p.fingerprint);
  EXPECT_EQ(back.result, p.result);
  EXPECT_EQ(back.outputs, p.outputs);

  auto j = nlohmann::json::parse(p.to_json().dump());
  expect_input_error([] { PartialResult::from_json(nlohmann::json::array(), "a.json"); },
                     {"'a.json'", "not a partial result"});
  expect_input_error(
      [] {
        PartialResult::from_json({{"labels", 1}}, "b.json");
      },
      {"'b.json'", "basin_partial_result"});
  auto bad = j;
  bad["basin_partial_result"] = 2;
  expect_input_error([&] { PartialResult::from_json(bad, "c.json"); },
                     {"'c.json'", "basin_partial_result", "2"});
  bad = j;
  bad["shard"]["index"] = 3;
  expect_input_error([&] { PartialResult::from_json(bad, "d.json"); }, {"'d.json'", "3/3"});
  bad = j;
  bad["shard"]["count"] = "3";
  expect_input_error([&] { PartialResult::from_json(bad, "e.json"); },
                     {"'e.json'", "shard.count", "\"3\""});
  bad = j;
  bad.erase("fingerprint");
  expect_input_error([&] { PartialResult::from_json(bad, "f.json"); },
                     {"'f.json'", "fingerprint", "missing"});
  bad = j;
  bad["result"] = std::string(5000, 'x');
  expect_input_error([&] { PartialResult::from_json(bad, "g.json"); },
                     {"'g.json'", "result", "object"});
}

TEST(PartialResult, CompleteSetsAreOrderedAndIncompleteOnesNamed) {
  const auto ok = check_complete({part(2, 3), part(0, 3), part(1, 3)});
  ASSERT_EQ(ok.size(), 3u);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(ok[size_t(i)].shard.index, i);
  expect_input_error([] { check_complete({part(0, 3), part(2, 3)}); }, {"shares missing: 1 of 3"});
  expect_input_error(
      [] {
        check_complete({part(0, 2), part(0, 2), part(1, 2)});
      },
      {"given twice", "part0.json"});
  expect_input_error(
      [] {
        check_complete({part(0, 2), part(1, 2, "{\"m\":2}")});
      },
      {"part1.json", "part0.json", "not shares of one run", "inputs or options"});
  expect_input_error([] { check_complete({part(0, 2), part(1, 3)}); }, {"share 1/3", "share 0/2"});
  expect_input_error(
      [] {
        check_complete({part(0, 2), part(1, 2, "{\"m\":1}", "soup")});
      },
      {"'soup'", "'connectivity'"});
  expect_input_error([] { check_complete({}); }, {"no partial results"});
}
