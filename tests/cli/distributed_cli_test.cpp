// basin-cli connectivity, sweep, surface, cka and multitask split over shares (--shard i/n +
// gather) and over MPI ranks (mpirun), and soup over MPI ranks: the outputs equal those of one
// process. The CliMpi tests are built only when basin-cli is built with Open MPI
// (BASIN_HAVE_MPI) and carry the ctest label mpi.
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "landscape_fixture.h"

namespace fs = std::filesystem;
using namespace basin;
using namespace basin::test::cli;
using nlohmann::json;

namespace {

// Two connectivity results (--json) hold the same models, grid and curves; the losses agree
// within float32 rounding. Shares score their points in batches of other compositions than one
// process, so sums run in other orders: with accumulation lengths ≤ 64 each loss carries a
// relative error ≲ 64 · 2⁻²⁴ ≈ 4e-6, hence 1e-5 relative.
void expect_same_connectivity(const json& a, const json& b) {
  EXPECT_EQ(a["labels"], b["labels"]);
  EXPECT_EQ(a["alphas"], b["alphas"]);
  EXPECT_EQ(a["setup"], b["setup"]);
  EXPECT_EQ(a["examples"], b["examples"]);
  ASSERT_EQ(a["curves"].size(), b["curves"].size());
  for (size_t k = 0; k < a["curves"].size(); ++k) {
    const auto& ca = a["curves"][k];
    const auto& cb = b["curves"][k];
    ASSERT_TRUE(ca.is_object()) << k;
    ASSERT_TRUE(cb.is_object()) << k;
    EXPECT_EQ(ca["a"], cb["a"]);
    EXPECT_EQ(ca["b"], cb["b"]);
    const auto la = numbers(ca["loss"]), lb = numbers(cb["loss"]);
    ASSERT_EQ(la.size(), lb.size());
    for (size_t t = 0; t < la.size(); ++t)
      EXPECT_NEAR(la[t], lb[t], 1e-5 * lb[t]) << "pair " << k << " point " << t;
  }
}

// Files directly in `dir`, by name.
std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

class CliShards : public CliLandscape {
 protected:
  std::string models() const { return " " + s("ad-a") + " " + s("ad-b") + " base " + s("ad-c"); }
  std::string common() const { return " -q --limit 4 --intervals 3" + eval_args() + models(); }
};

TEST_F(CliShards, ThreeSharesGatherToTheOutputsOfOneProcess) {
  const fs::path d = scratch();
  auto r = run("connectivity --json -o " + (d / "whole.json").string() + common(), d);
  ASSERT_EQ(r.code, 0) << r.err;
  const json whole = json::parse(basin::test::read_bytes(d / "whole.json"));
  ASSERT_EQ(whole["curves"].size(), 6u);

  // 6 pairs over 3 shares; each writes only its partial result, and every share needs -o.
  for (int i = 0; i < 3; ++i) {
    r = run("connectivity --json --shard " + std::to_string(i) + "/3 -o " +
                (d / ("part" + std::to_string(i) + ".json")).string() + " --curves-dir " +
                (d / "curves").string() + common(),
            d);
    ASSERT_EQ(r.code, 0) << r.err;
    const json part =
        json::parse(basin::test::read_bytes(d / ("part" + std::to_string(i) + ".json")));
    EXPECT_EQ(part["command"], "connectivity");
    EXPECT_EQ(part["shard"], json({{"index", i}, {"count", 3}}));
    size_t computed = 0;
    for (const auto& c : part["result"]["curves"])
      computed += c.is_object() ? 1 : 0;
    EXPECT_EQ(computed, 2u) << "share " << i;
  }
  EXPECT_FALSE(fs::exists(d / "curves")) << "a share wrote the final outputs";

  // gather, parts in any order: the same JSON, and the curves the shares were asked for.
  r = run("gather -o " + (d / "gathered.json").string() + " " + (d / "part2.json").string() + " " +
              (d / "part0.json").string() + " " + (d / "part1.json").string(),
          d);
  ASSERT_EQ(r.code, 0) << r.err;
  expect_same_connectivity(json::parse(basin::test::read_bytes(d / "gathered.json")), whole);
  EXPECT_EQ(names_in(d / "curves").size(), 6u);

  // To standard output, when no -o is given.
  r = run("gather " + (d / "part0.json").string() + " " + (d / "part1.json").string() + " " +
              (d / "part2.json").string(),
          d);
  ASSERT_EQ(r.code, 0) << r.err;
  expect_same_connectivity(json::parse(r.out), whole);
}

TEST_F(CliShards, IncompleteOrMixedPartsAndShardsWithoutAFileAreRefused) {
  const fs::path d = scratch();
  for (int i = 0; i < 2; ++i) {
    auto r = run("connectivity --shard " + std::to_string(i) + "/2 -o " +
                     (d / ("p" + std::to_string(i) + ".json")).string() + common(),
                 d);
    ASSERT_EQ(r.code, 0) << r.err;
  }
  auto r = run("connectivity --shard 1/2 -o " + (d / "other.json").string() +
                   " -q --limit 3 --intervals 3" + eval_args() + models(),
               d);
  ASSERT_EQ(r.code, 0) << r.err;

  const auto gathered = d / "out.json";
  r = run("gather -o " + gathered.string() + " " + (d / "p0.json").string(), d);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("shares missing: 1 of 2"), std::string::npos) << r.err;
  r = run("gather -o " + gathered.string() + " " + (d / "p0.json").string() + " " +
              (d / "other.json").string(),
          d);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("not shares of one run"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("other.json"), std::string::npos) << r.err;
  r = run("gather -o " + gathered.string() + " " + (d / "p0.json").string() + " " +
              (d / "p0.json").string(),
          d);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("given twice"), std::string::npos) << r.err;
  basin::test::write_bytes(d / "notpart.json", R"({"labels": ["a"]})");
  r = run("gather -o " + gathered.string() + " " + (d / "notpart.json").string(), d);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("notpart.json"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(gathered));

  // A share must name its file; a malformed share is refused before any work.
  r = run("connectivity --shard 0/2" + common(), d);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("name it with -o"), std::string::npos) << r.err;
  r = run("connectivity --shard 2/2 -o " + (d / "x.json").string() + common(), d);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("'2/2'"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(d / "x.json"));
}

namespace {
// The losses of two --json results of sweep ("curve") or surface ("surface") agree within
// float32 rounding (1e-5 relative, as in expect_same_connectivity); the grids are equal. Token
// errors and metrics are left out: an argmax at a near-tie may flip with the batch composition.
void expect_same_losses(const json& a, const json& b) {
  if (a.is_number()) {
    ASSERT_TRUE(b.is_number());
    EXPECT_NEAR(a.get<double>(), b.get<double>(), 1e-5 * std::abs(b.get<double>()));
    return;
  }
  ASSERT_TRUE(a.is_array() && b.is_array());
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    expect_same_losses(a[i], b[i]);
}
}  // namespace

TEST_F(CliShards, SweepAndSurfaceSharesGatherToTheOutputsOfOneProcess) {
  const fs::path d = scratch();
  const std::string sweep = " -q --json --metric --limit 3 --intervals 6" + eval_args() + " --a " +
                            s("ad-a") + " --b " + s("ad-b");
  const std::string surface =
      " -q --json --limit 3 --grid 4" + eval_args() + " " + s("ad-a") + " base " + s("ad-c");
  for (const auto& [command, args] : {std::pair<std::string, std::string>{"sweep", sweep},
                                      std::pair<std::string, std::string>{"surface", surface}}) {
    auto r = run(command + args + " -o " + (d / (command + ".json")).string(), d);
    ASSERT_EQ(r.code, 0) << r.err;
    std::string parts;
    // 7 α points or 16 grid points over 3 shares.
    for (int i = 0; i < 3; ++i) {
      const auto part = d / (command + std::to_string(i) + ".part");
      r = run(command + args + " --shard " + std::to_string(i) + "/3 -o " + part.string(), d);
      ASSERT_EQ(r.code, 0) << r.err;
      parts += " " + part.string();
    }
    r = run("gather" + parts, d);
    ASSERT_EQ(r.code, 0) << r.err;
    const json whole = json::parse(basin::test::read_bytes(d / (command + ".json")));
    const json gathered = json::parse(r.out);
    const char* key = command == "sweep" ? "curve" : "surface";
    expect_same_losses(gathered[key]["loss"], whole[key]["loss"]);
    EXPECT_EQ(gathered["setup"], whole["setup"]);
    if (command == "sweep") {
      EXPECT_EQ(gathered["curve"]["alpha"], whole["curve"]["alpha"]);
      EXPECT_EQ(gathered["curve"]["metric"], "exact_match");
      EXPECT_EQ(gathered["curve"]["metric_value"].size(), 7u);
    } else {
      EXPECT_EQ(gathered["surface"]["x"].size(), 4u);
      EXPECT_EQ(gathered["surface"]["loss"].size(), 4u);
    }
  }
}

namespace {
// Linear CKA (Kornblith et al. 2019, eq. 7) in float64, written here as the test's reference:
// ‖Ycᵀ Xc‖²_F / (‖Xcᵀ Xc‖_F ‖Ycᵀ Yc‖_F) with column-centred X, Y.
double reference_cka(const at::Tensor& x, const at::Tensor& y) {
  const auto X = x.to(at::kDouble), Y = y.to(at::kDouble);
  const auto Xc = X - X.mean(0, true), Yc = Y - Y.mean(0, true);
  return Yc.t().mm(Xc).pow(2).sum().item<double>() /
         (Xc.t().mm(Xc).pow(2).sum().sqrt() * Yc.t().mm(Yc).pow(2).sum().sqrt()).item<double>();
}

// Two CKA results (--json) of the same models. From a model, a share computes its models'
// features in the very batches one process uses (a batch never mixes models), so they are
// expected bit for bit; the tolerance allows a float32 rounding of the forward pass differing
// (a GEMM blocked for another thread count: relative 1e-6 per feature), which moves a CKA
// value — a ratio of fourth-degree sums of the features — by at most ~4 · 1e-6; hence 1e-5.
void expect_same_cka(const json& a, const json& b, double tolerance) {
  EXPECT_EQ(a["labels"], b["labels"]);
  EXPECT_EQ(a["metric"], b["metric"]);
  EXPECT_EQ(a["inputs"], b["inputs"]);
  ASSERT_EQ(a["values"].size(), b["values"].size());
  for (size_t i = 0; i < a["values"].size(); ++i) {
    const auto va = numbers(a["values"][i]), vb = numbers(b["values"][i]);
    ASSERT_EQ(va.size(), vb.size());
    for (size_t j = 0; j < va.size(); ++j)
      EXPECT_NEAR(va[j], vb[j], tolerance) << i << ", " << j;
  }
}

// Three [40, 6] feature files f0, f1, f2 in `d` (f1 a noisy rotation of f0, f2 unrelated);
// returns their tensors.
std::vector<at::Tensor> write_feature_files(const fs::path& d) {
  const auto x = basin::test::randn({40, 6}, 11);
  const auto y = x.mm(basin::test::randn({6, 6}, 12)) + 0.3 * basin::test::randn({40, 6}, 13);
  const auto z = basin::test::randn({40, 6}, 14);
  std::vector<at::Tensor> out{x, y, z};
  for (size_t k = 0; k < out.size(); ++k)
    basin::test::write_bytes(
        d / ("f" + std::to_string(k) + ".safetensors"),
        basin::test::raw_safetensors_bytes({basin::test::raw_f32("h", out[k])}));
  return out;
}
}  // namespace

TEST_F(CliShards, CkaSharesGatherToTheOutputsOfOneProcess) {
  const fs::path d = scratch();
  // From the model: 4 models (base, ad-a, ad-b, ad-c) over 3 shares hold 1, 1 and 2 models'
  // features.
  const std::string args = " -q --json --inputs 8 --split test" +
                           eval_args("say.json repeat.json") + " " + s("ad-a") + " " + s("ad-b") +
                           " " + s("ad-c");
  auto r = run("cka" + args, d);
  ASSERT_EQ(r.code, 0) << r.err;
  const json whole = json::parse(r.out);
  ASSERT_EQ(whole["labels"].size(), 4u);
  std::string parts;
  for (int i = 0; i < 3; ++i) {
    const auto part = d / ("cka" + std::to_string(i) + ".part");
    r = run("cka" + args + " --shard " + std::to_string(i) + "/3 -o " + part.string(), d);
    ASSERT_EQ(r.code, 0) << r.err;
    const json p = json::parse(basin::test::read_bytes(part));
    EXPECT_EQ(p["result"]["features"].size(), i < 2 ? 1u : 2u) << "share " << i;
    EXPECT_EQ(p["result"]["first"], i);
    parts += " " + part.string();
  }
  r = run("gather" + parts, d);
  ASSERT_EQ(r.code, 0) << r.err;
  expect_same_cka(json::parse(r.out), whole, 1e-5);

  // From feature files: 6 pairs over 4 shares; each share computes its pairs with the
  // function one process calls, so the values are equal, and equal to the reference within
  // float64 rounding (sums of ≤ 240 products: relative ≲ 240 · 2⁻⁵³ ≈ 3e-14; 1e-12).
  const auto f = write_feature_files(d);
  std::string files;
  for (int k = 0; k < 3; ++k)
    files += " " + (d / ("f" + std::to_string(k) + ".safetensors")).string();
  r = run("cka -q --json --features" + files, d);
  ASSERT_EQ(r.code, 0) << r.err;
  const json whole_f = json::parse(r.out);
  parts.clear();
  for (int i = 0; i < 4; ++i) {
    const auto part = d / ("f" + std::to_string(i) + ".part");
    r = run("cka -q --json --shard " + std::to_string(i) + "/4 -o " + part.string() +
                " --features" + files,
            d);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_LE(json::parse(basin::test::read_bytes(part))["result"]["pairs"].size(), 2u);
    parts = " " + part.string() + parts;
  }
  r = run("gather -o " + (d / "f.json").string() + parts, d);
  ASSERT_EQ(r.code, 0) << r.err;
  const json gathered = json::parse(basin::test::read_bytes(d / "f.json"));
  expect_same_cka(gathered, whole_f, 0.0);
  EXPECT_EQ(gathered["features"], whole_f["features"]);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      EXPECT_NEAR(gathered["values"][i][j].get<double>(), reference_cka(f[size_t(i)], f[size_t(j)]),
                  1e-12)
          << i << ", " << j;
}

namespace {
// The multitask study with every kind of row: merges, the soup and the three gates, for 1 and 2
// tasks (9 units: the tasks and gates of count 1, then those of count 2).
std::string multitask_args(const std::string& eval, const std::string& a, const std::string& b) {
  return " -q --json --limit 3 --methods cat,linear,soup,mole,moa,arrow --counts 1-2 "
         "--gate-split validation --mole-steps 2 --moa-steps 20" +
         eval + " --adapters " + a + " " + b;
}

// Two multitask results (--json) are the same study with the same scores. A share scores a
// task's points in the one call one process makes, trains a gate with the same seed and data,
// and recomputes the seeded merges and the soup, so the numbers are the same floats; the
// scores are exact-match fractions k/3, so 1e-12 only absorbs the JSON's decimal form.
void expect_same_multitask(const json& a, const json& b) {
  EXPECT_EQ(a["tasks"], b["tasks"]);
  EXPECT_EQ(a["metrics"], b["metrics"]);
  ASSERT_EQ(a["tables"].size(), b["tables"].size());
  for (size_t t = 0; t < a["tables"].size(); ++t) {
    const auto &ta = a["tables"][t], &tb = b["tables"][t];
    EXPECT_EQ(ta["task_count"], tb["task_count"]);
    ASSERT_EQ(ta["rows"].size(), tb["rows"].size());
    for (size_t r = 0; r < ta["rows"].size(); ++r) {
      const auto &ra = ta["rows"][r], &rb = tb["rows"][r];
      EXPECT_EQ(ra["method"], rb["method"]);
      for (const char* key : {"multitask_score", "share_of_moa"})
        EXPECT_EQ(ra[key].is_null(), rb[key].is_null()) << key;
      std::vector<double> va = numbers(ra["scores"]), vb = numbers(rb["scores"]);
      for (const char* key : {"multitask_score", "share_of_moa"}) {
        va.push_back(ra[key].is_null() ? 0.0 : ra[key].get<double>());
        vb.push_back(rb[key].is_null() ? 0.0 : rb[key].get<double>());
      }
      ASSERT_EQ(va.size(), vb.size());
      for (size_t k = 0; k < va.size(); ++k) {
        if (std::isnan(vb[k])) {
          EXPECT_TRUE(std::isnan(va[k])) << ra["method"] << " " << k;
          continue;
        }
        EXPECT_NEAR(va[k], vb[k], 1e-12) << ra["method"] << " " << k;
      }
    }
  }
}
}  // namespace

TEST_F(CliShards, MultitaskSharesGatherToTheOutputsOfOneProcess) {
  const fs::path d = scratch();
  const std::string args = multitask_args(eval_args("say.json repeat.json"), s("ad-a"), s("ad-b"));
  auto r = run("multitask" + args, d);
  ASSERT_EQ(r.code, 0) << r.err;
  const json whole = json::parse(r.out);
  ASSERT_EQ(whole["tables"].size(), 2u);
  ASSERT_EQ(whole["tables"][1]["rows"].size(), 8u);
  // 9 units over 3 shares: share 0 scores task 1 of count 1 (oracle, base, cat, linear, soup)
  // and trains mole and moa; share 1 arrow of count 1 and both tasks of count 2; share 2 the
  // gates of count 2.
  const std::vector<size_t> cells = {5 + 1 + 1, 1 + 5 * 2, 3 * 2};
  std::string parts;
  for (int i = 0; i < 3; ++i) {
    const auto part = d / ("mt" + std::to_string(i) + ".part");
    r = run("multitask" + args + " --shard " + std::to_string(i) + "/3 -o " + part.string(), d);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(json::parse(basin::test::read_bytes(part))["result"]["cells"].size(),
              cells[size_t(i)])
        << "share " << i;
    parts += " " + part.string();
  }
  r = run("gather" + parts, d);
  ASSERT_EQ(r.code, 0) << r.err;
  expect_same_multitask(json::parse(r.out), whole);

  // Two of the three shares are not the study.
  r = run("gather" + parts.substr(0, parts.rfind(' ')), d);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("shares missing: 2 of 3"), std::string::npos) << r.err;
}

TEST_F(CliShards, SoupHasNoSharesAndItsResultsAreNotGathered) {
  const fs::path d = scratch();
  const std::string args = " -q --json --limit 4" + eval_args() + " " + s("ad-a") + " " + s("ad-b");
  auto r = run("soup --shard 0/2 -o " + (d / "p.json").string() + args, d);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cannot be split into independent shares"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("mpirun"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(d / "p.json"));
  // A partial result that says it is a soup's is refused by gather.
  basin::test::write_bytes(d / "soup.part", R"({"basin_partial_result": 1, "command": "soup",
      "shard": {"index": 0, "count": 1}, "fingerprint": "{}", "outputs": {}, "result": {}})");
  r = run("gather " + (d / "soup.part").string(), d);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("runs over MPI ranks only"), std::string::npos) << r.err;
}

#ifdef BASIN_HAVE_MPI
namespace {
// mpirun as CI runs it: as root where CI is root, more ranks than cores allowed.
std::string mpirun(int ranks) {
  return "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
         "OMPI_MCA_btl_vader_single_copy_mechanism=none mpirun --oversubscribe -n " +
         std::to_string(ranks) + " ";
}
}  // namespace

class CliMpi : public CliShards {};

TEST_F(CliMpi, TwoRanksWriteWhatOneProcessWrites) {
  const fs::path d = scratch();
  auto r = run("connectivity --json -o " + (d / "whole.json").string() + common(), d);
  ASSERT_EQ(r.code, 0) << r.err;
  const fs::path out = d / "ranks";
  fs::create_directories(out);
  r = shell("cd " + out.string() + " && " + mpirun(2) + BASIN_CLI + " connectivity --json -o " +
            (out / "two.json").string() + " --curves-dir " + (out / "curves").string() + common());
  ASSERT_EQ(r.code, 0) << r.out;
  expect_same_connectivity(json::parse(basin::test::read_bytes(out / "two.json")),
                           json::parse(basin::test::read_bytes(d / "whole.json")));
  // Rank 0 alone wrote: the output, the six curves, and no temporary or partial file.
  EXPECT_EQ(names_in(out), (std::vector<std::string>{"curves", "two.json"}));
  EXPECT_EQ(names_in(out / "curves").size(), 6u);

  // A surface over two ranks.
  r = run("surface --json --grid 4 -o " + (d / "surface.json").string() + " -q --limit 4" +
              eval_args() + " " + s("ad-a") + " base " + s("ad-c"),
          d);
  ASSERT_EQ(r.code, 0) << r.err;
  r = shell(mpirun(2) + BASIN_CLI + " surface --json --grid 4 -o " +
            (out / "surface.json").string() + " -q --limit 4" + eval_args() + " " + s("ad-a") +
            " base " + s("ad-c"));
  ASSERT_EQ(r.code, 0) << r.out;
  expect_same_losses(json::parse(basin::test::read_bytes(out / "surface.json"))["surface"]["loss"],
                     json::parse(basin::test::read_bytes(d / "surface.json"))["surface"]["loss"]);

  // Three ranks, text to standard output: printed once.
  r = shell(mpirun(3) + BASIN_CLI + " connectivity" + common());
  ASSERT_EQ(r.code, 0) << r.out;
  size_t n = 0;
  for (size_t at = r.out.find("convexity_gap over"); at != std::string::npos;
       at = r.out.find("convexity_gap over", at + 1))
    ++n;
  EXPECT_EQ(n, 1u) << r.out;
}

TEST_F(CliMpi, ARankWithBadInputEndsTheJobWithItsMessageAndNothingIsWritten) {
  const fs::path d = scratch();
  const std::string out = (d / "out.json").string();
  // Rank 1 is given a missing adapter folder (an MPMD launch: one command line per rank).
  auto r = shell(mpirun(1) + BASIN_CLI + " connectivity --json -o " + out + common() + " : -n 1 " +
                 BASIN_CLI + " connectivity --json -o " + out + " -q --limit 4 --intervals 3" +
                 eval_args() + " " + s("ad-a") + " " + (d / "no-such-adapter").string());
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("rank 1 of 2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no-such-adapter"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(names_in(d).size(), 0u);

  // A command that does not share its work is refused once, by rank 0.
  r = shell(mpirun(2) + BASIN_CLI + " merge --method cat -o " + (d / "m").string() + " " +
            s("ad-a") + " " + s("ad-b"));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("runs as one process"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("runs as one process"), r.out.rfind("runs as one process")) << r.out;
  EXPECT_FALSE(fs::exists(d / "m"));
}
TEST_F(CliMpi, CkaOverTwoRanksWritesWhatOneProcessWrites) {
  const fs::path d = scratch();
  const std::string args = " -q --json --inputs 8 --split test" +
                           eval_args("say.json repeat.json") + " " + s("ad-a") + " " + s("ad-b") +
                           " " + s("ad-c");
  auto r = run("cka" + args, d);
  ASSERT_EQ(r.code, 0) << r.err;
  const json whole = json::parse(r.out);
  const fs::path out = d / "ranks";
  fs::create_directories(out);
  r = shell("cd " + out.string() + " && " + mpirun(2) + BASIN_CLI + " cka" + args + " -o " +
            (out / "two.json").string());
  ASSERT_EQ(r.code, 0) << r.out;
  expect_same_cka(json::parse(basin::test::read_bytes(out / "two.json")), whole, 1e-5);
  EXPECT_EQ(names_in(out), (std::vector<std::string>{"two.json"}));

  // Feature files: the pairs over 3 ranks, printed once, equal to one process's.
  write_feature_files(d);
  std::string files;
  for (int k = 0; k < 3; ++k)
    files += " " + (d / ("f" + std::to_string(k) + ".safetensors")).string();
  r = run("cka -q --json --features" + files, d);
  ASSERT_EQ(r.code, 0) << r.err;
  const json whole_f = json::parse(r.out);
  r = run_shell_stdout(mpirun(3) + BASIN_CLI + " cka -q --json --features" + files +
                       " 2>/dev/null");
  ASSERT_EQ(r.code, 0) << r.out;
  expect_same_cka(json::parse(r.out), whole_f, 0.0);
}

TEST_F(CliMpi, MultitaskOverTwoRanksWritesWhatOneProcessWrites) {
  const fs::path d = scratch();
  const std::string args = multitask_args(eval_args("say.json repeat.json"), s("ad-a"), s("ad-b"));
  auto r = run("multitask" + args, d);
  ASSERT_EQ(r.code, 0) << r.err;
  const json whole = json::parse(r.out);
  const fs::path out = d / "ranks";
  fs::create_directories(out);
  r = shell("cd " + out.string() + " && " + mpirun(2) + BASIN_CLI + " multitask" + args + " -o " +
            (out / "two.json").string());
  ASSERT_EQ(r.code, 0) << r.out;
  expect_same_multitask(json::parse(basin::test::read_bytes(out / "two.json")), whole);
  EXPECT_EQ(names_in(out), (std::vector<std::string>{"two.json"}));
}

TEST_F(CliMpi, ACkaRankWithAMissingTaskEndsTheJobNamingTheRank) {
  const fs::path d = scratch();
  const std::string out = (d / "cka.json").string();
  const std::string models = " " + s("ad-a") + " " + s("ad-b");
  auto r =
      shell(mpirun(1) + BASIN_CLI + " cka -q --json --inputs 8 -o " + out + eval_args() + models +
            " : -n 1 " + BASIN_CLI + " cka -q --json --inputs 8 -o " + out + " --model " +
            s("model") + " --tasks " + (d / "no-such-task.json").string() + models);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("rank 1 of 2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no-such-task.json"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(out));
}

// The greedy soup over 2 ranks: each step's candidates are shared, every rank takes the same
// decisions, and rank 0 alone writes the output and the saved adapter.
TEST_F(CliMpi, SoupOverTwoRanksChoosesTheSoupOfOneProcess) {
  const fs::path d = scratch();
  const std::string args =
      " -q --json --limit 6" + eval_args() + " " + s("ad-a") + " " + s("ad-b") + " " + s("ad-c");
  auto r = run("soup" + args + " --save " + (d / "one").string(), d);
  ASSERT_EQ(r.code, 0) << r.err;
  const json whole = json::parse(r.out)["soup"];
  const fs::path out = d / "ranks";
  fs::create_directories(out);
  r = shell("cd " + out.string() + " && " + mpirun(2) + BASIN_CLI + " soup" + args + " --save " +
            (out / "two").string() + " -o " + (out / "two.json").string());
  ASSERT_EQ(r.code, 0) << r.out;
  const json two = json::parse(basin::test::read_bytes(out / "two.json"))["soup"];
  // The decisions are those of one process (the losses here are far apart compared with their
  // float32 rounding), and the losses agree within it (1e-5 relative, as for connectivity: a
  // point's batch holds other points than in one process).
  EXPECT_EQ(two["order"], whole["order"]);
  EXPECT_EQ(two["coeffs"], whole["coeffs"]);
  ASSERT_EQ(two["steps"].size(), 2u);
  for (size_t k = 0; k < 2; ++k)
    EXPECT_EQ(two["steps"][k]["accepted_k"], whole["steps"][k]["accepted_k"]);
  expect_same_losses(two["single_loss"], whole["single_loss"]);
  expect_same_losses(two["loss"], whole["loss"]);
  expect_same_losses(two["uniform_loss"], whole["uniform_loss"]);
  for (size_t k = 0; k < 2; ++k)
    expect_same_losses(two["steps"][k]["tried"], whole["steps"][k]["tried"]);
  EXPECT_EQ(names_in(out), (std::vector<std::string>{"two", "two.json"}));
  EXPECT_EQ(names_in(out / "two"), names_in(d / "one"));
}

// A rank that fails before the soup's first step ends the job with its own message, whether
// the other ranks wait for it in a step (rank 1 fails) or reach a step after it ended (rank 0
// fails); nothing is written and the job does not hang.
TEST_F(CliMpi, ASoupRankThatFailsStopsTheOthersInTheirStep) {
  const fs::path d = scratch();
  const std::string out = (d / "soup.json").string();
  const std::string good = " soup -q --json --limit 6 -o " + out + eval_args() + " " + s("ad-a") +
                           " " + s("ad-b") + " " + s("ad-c");
  const std::string bad = " soup -q --json --limit 6 -o " + out + eval_args() + " " + s("ad-a") +
                          " " + (d / "no-such-adapter").string();
  for (int failing = 0; failing < 2; ++failing) {
    const std::string first = failing == 0 ? bad : good, second = failing == 0 ? good : bad;
    auto r =
        shell("timeout 120 env " + mpirun(1) + BASIN_CLI + first + " : -n 1 " + BASIN_CLI + second);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("rank " + std::to_string(failing) + " of 2"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("no-such-adapter"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("1 other ranks stopped because of it"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(out));
  }
}

#endif
