// basin-cli sweep / connectivity / surface / cka / multitask / soup end to end: the real binary
// on a tiny random model with a BPE tokenizer trained here, two PEFT adapters and a task.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "landscape_fixture.h"
#include "util/runtime.h"

namespace fs = std::filesystem;
using namespace basin;
using namespace basin::test::cli;
using nlohmann::json;

TEST_F(CliLandscape, SweepEndpointsEqualEachModelAloneAndMatchConnectivity) {
  auto r =
      run("sweep --json --limit 6 --intervals 4" + eval_args() + " --a " + s("ad-a") + " --b base",
          scratch());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto sw = json::parse(r.out);
  const auto alpha = numbers(sw["curve"]["alpha"]), loss = numbers(sw["curve"]["loss"]);
  ASSERT_EQ(alpha, (std::vector<double>{0, 0.25, 0.5, 0.75, 1}));
  for (double l : loss)
    EXPECT_TRUE(std::isfinite(l));
  // α = 1 is the adapter alone, α = 0 the base model: both scored here with merged weights.
  EXPECT_NEAR(loss[4], merged_loss("ad-a", 6), 1e-4 * loss[4]);
  EXPECT_NEAR(loss[0], merged_loss("", 6), 1e-4 * loss[0]);
  EXPECT_NE(loss[4], loss[0]);

  // connectivity over (ad-a, base) reproduces the same path.
  r = run("connectivity --json --limit 6 --intervals 4" + eval_args() + " " + s("ad-a") + " base " +
              s("ad-b"),
          scratch());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto co = json::parse(r.out);
  EXPECT_EQ(co["labels"], json({"ad-a", "base", "ad-b"}));
  ASSERT_EQ(co["curves"].size(), 3u);
  // A sweep and a connectivity run batch their rows differently, so the float32 GEMMs sum in
  // other orders (and may pick other BLAS kernels): with accumulation lengths ≤ 64 each logit
  // carries a relative error ≲ 64 · 2⁻²⁴ ≈ 4e-6, hence the 1e-5 relative bound on each loss.
  const auto closs = numbers(co["curves"][0]["loss"]);
  double max_loss = 0;
  for (size_t i = 0; i < loss.size(); ++i) {
    EXPECT_NEAR(closs[i], loss[i], 1e-5 * loss[i]) << i;
    max_loss = std::max(max_loss, loss[i]);
  }
  // The gap is a loss minus a convex combination of losses (the hull): each side within
  // 1e-5 · max loss, so the two routes' gaps agree within 2e-5 · max loss.
  const auto gap = numbers(co["convexity_gap"]["values"][0]);
  EXPECT_NEAR(gap[1], sw["curve"]["convexity_gap"].get<double>(), 2e-5 * max_loss);
  EXPECT_GE(gap[2], 0.0);

  // Text and CSV forms.
  r = run("connectivity --limit 6 --intervals 2 --matrix barrier --csv" + eval_args() + " " +
              s("ad-a") + " " + s("ad-b"),
          scratch());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "barrier,ad-a,ad-b");
  r = run("sweep --limit 4 --intervals 2" + eval_args() + " --a " + s("ad-a") + " --b " + s("ad-b"),
          scratch());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("convexity gap"), std::string::npos) << r.out;
}

TEST_F(CliLandscape, SweepMetricAndCurvesDir) {
  auto r = run("sweep --json --metric --limit 3 --intervals 2" + eval_args() + " --a " + s("ad-a") +
                   " --b " + s("ad-b"),
               scratch());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto c = json::parse(r.out)["curve"];
  EXPECT_EQ(c["metric"], "exact_match");
  ASSERT_EQ(c["metric_value"].size(), 3u);
  for (double v : numbers(c["metric_value"])) {
    EXPECT_GE(v, 0.0);
    EXPECT_LE(v, 1.0);
  }
  r = run("connectivity -q --limit 3 --intervals 2 --curves-dir " +
              (scratch() / "curves").string() + eval_args() + " " + s("ad-a") + " " + s("ad-b") +
              " " + s("ad-c"),
          scratch());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(test::list_files(scratch() / "curves").size(), 3u);
  EXPECT_EQ(test::read_bytes(scratch() / "curves" / "ad-a__ad-c.csv").substr(0, 22),
            "alpha,loss,token_error");
}

// Checks that `args` exits 1 with `message` on stderr.
#define EXPECT_INPUT_ERROR(args, message)                                           \
  do {                                                                              \
    const auto r_ = run(args, scratch());                                           \
    EXPECT_EQ(r_.code, 1) << (args) << "\n" << r_.err;                              \
    EXPECT_NE(r_.err.find(message), std::string::npos) << (args) << "\n" << r_.err; \
  } while (0)

TEST_F(CliLandscape, SweepBadInputsExitOneNamingTheValue) {
  EXPECT_INPUT_ERROR("sweep" + eval_args() + " --a " + s("missing") + " --b base",
                     "adapter folder not found");
  EXPECT_INPUT_ERROR("sweep --alpha-max 3.0" + eval_args() + " --a " + s("ad-a") + " --b base",
                     "alpha max 3 is outside [-0.5, 1.5]");
  EXPECT_INPUT_ERROR(
      "sweep --alpha-min 0.5 --alpha-max 0.2" + eval_args() + " --a " + s("ad-a") + " --b base",
      "must be below alpha max");
  EXPECT_INPUT_ERROR("sweep --a base --b base" + eval_args(), "'base' is given twice");
  EXPECT_INPUT_ERROR(
      "sweep --metric" + eval_args("say.json repeat.json") + " --a " + s("ad-a") + " --b base",
      "--metric scores one task");
  EXPECT_INPUT_ERROR("sweep --model " + s("nowhere") + " --tasks " + s("say.json") + " --a " +
                         s("ad-a") + " --b base",
                     "base model folder '" + s("nowhere") + "' does not exist");
}

TEST_F(CliLandscape, SurfaceAndConnectivityBadInputs) {
  EXPECT_INPUT_ERROR("surface --grid 1" + eval_args() + " " + s("ad-a") + " " + s("ad-b") + " base",
                     "--grid 1 must be in 3 … 201");
  EXPECT_INPUT_ERROR("surface" + eval_args() + " " + s("ad-a") + " " + s("ad-b"),
                     "exactly three models");
  EXPECT_INPUT_ERROR("connectivity" + eval_args() + " " + s("ad-a"), "at least two models");
#ifdef BASIN_CLI_PLOT
  EXPECT_INPUT_ERROR("connectivity --plot " + (scratch() / "x.gif").string() + eval_args() + " " +
                         s("ad-a") + " base",
                     ".png, .svg or .pdf");
#endif
  // A usage error (unknown --matrix) is exit 2.
  EXPECT_EQ(
      run("connectivity --matrix gap" + eval_args() + " " + s("ad-a") + " base", scratch()).code,
      2);
}

TEST_F(CliLandscape, StudyBadInputs) {
  EXPECT_INPUT_ERROR("multitask --methods cat,average" + eval_args("say.json repeat.json") +
                         " --adapters " + s("ad-a") + " " + s("ad-b"),
                     "unknown method 'average'");
  EXPECT_INPUT_ERROR("multitask --counts 1-3" + eval_args("say.json repeat.json") + " --adapters " +
                         s("ad-a") + " " + s("ad-b"),
                     "--counts: 3 must be in 1 … 2");
  EXPECT_INPUT_ERROR("multitask" + eval_args("say.json repeat.json") + " --adapters " + s("ad-a"),
                     "one adapter per task");
  EXPECT_INPUT_ERROR("soup" + eval_args() + " " + s("ad-a"), "at least two adapters");
}

TEST_F(CliLandscape, CkaOfFeatureFilesIsOneUnderAnOrthogonalMap) {
  const auto X = test::randn({40, 6}, 1).to(torch::kFloat64);
  const auto Q = std::get<0>(torch::linalg_qr(test::randn({6, 6}, 2).to(torch::kFloat64)));
  const auto Y = X.mm(Q);
  const auto Z = test::randn({39, 6}, 3);
  test::write_bytes(
      scratch() / "x.safetensors",
      test::raw_safetensors_bytes({test::raw_f32("features", X.to(torch::kFloat32))}));
  test::write_bytes(scratch() / "y.safetensors",
                    test::raw_safetensors_bytes({test::raw_f32("h", Y.to(torch::kFloat32))}));
  test::write_bytes(scratch() / "z.safetensors",
                    test::raw_safetensors_bytes({test::raw_f32("h", Z)}));
  test::write_bytes(scratch() / "two.safetensors",
                    test::raw_safetensors_bytes({test::raw_f32("h", Z), test::raw_f32("g", Z)}));
  const std::string x = (scratch() / "x.safetensors").string(),
                    y = (scratch() / "y.safetensors").string(),
                    z = (scratch() / "z.safetensors").string();
  auto r = run("cka --features " + x + " " + y, scratch());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("1.000"), std::string::npos) << r.out;
  r = run("cka --json --features " + x + " " + y, scratch());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = json::parse(r.out);
  EXPECT_EQ(j["labels"], json({"x", "y"}));
  EXPECT_NEAR(j["values"][0][1].get<double>(), 1.0, 1e-5);
  r = run("cka --debiased --csv --features " + x + " " + y, scratch());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "cka_debiased,x,y");

  r = run("cka --features " + x + " " + z, scratch());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("'" + z + "' has 39 rows"), std::string::npos) << r.err;
  r = run("cka --features " + x + " " + (scratch() / "two.safetensors").string(), scratch());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--tensor NAME"), std::string::npos) << r.err;
  r = run("cka --features " + x + " " + (scratch() / "none.safetensors").string(), scratch());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("none.safetensors' does not exist"), std::string::npos) << r.err;
}

TEST_F(CliLandscape, CkaOfModelsHasUnitDiagonal) {
  const auto r = run("cka --json --inputs 8 --split test" + eval_args("say.json repeat.json") +
                         " " + s("ad-a") + " " + s("ad-b"),
                     scratch());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = json::parse(r.out);
  EXPECT_EQ(j["labels"], json({"base", "ad-a", "ad-b"}));
  EXPECT_EQ(j["inputs"], 8);
  for (int i = 0; i < 3; ++i)
    EXPECT_NEAR(j["values"][i][i].get<double>(), 1.0, 1e-9);
  const double ab = j["values"][1][2].get<double>();
  EXPECT_GT(ab, 0.0);
  EXPECT_LE(ab, 1.0 + 1e-9);
}

TEST_F(CliLandscape, MultitaskOracleScoresOne) {
  const auto r =
      run("multitask --json --limit 3 --methods cat,linear --counts 1-2" +
              eval_args("say.json repeat.json") + " --adapters " + s("ad-a") + " " + s("ad-b"),
          scratch());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = json::parse(r.out);
  ASSERT_EQ(j["tables"].size(), 2u);
  const auto& full = j["tables"][1];
  EXPECT_EQ(full["task_count"], 2);
  bool seen = false;
  for (const auto& row : full["rows"])
    if (row["method"] == "oracle") {
      seen = true;
      // Relative to itself the oracle is 1 — or undefined where an oracle score is 0.
      if (!row["multitask_score"].is_null()) {
        EXPECT_NEAR(row["multitask_score"].get<double>(), 1.0, 1e-12);
      }
    }
  EXPECT_TRUE(seen);
}

TEST_F(CliLandscape, SoupPathAndSavedAdapter) {
  const fs::path out = scratch() / "soup";
  auto r = run("soup --json --limit 6" + eval_args() + " " + s("ad-a") + " " + s("ad-b") + " " +
                   s("ad-c") + " --save " + out.string(),
               scratch());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = json::parse(r.out)["soup"];
  const auto single = numbers(j["single_loss"]);
  const double best = *std::min_element(single.begin(), single.end());
  EXPECT_LE(j["loss"].get<double>(), best + 1e-12);
  EXPECT_EQ(j["steps"].size(), 2u);
  // The saved soup is Σ c_i ΔW_i of the ingredients.
  const auto soup = load_peft_adapter(out);
  const auto coeffs = numbers(j["coeffs"]);
  const auto& m0 = soup->modules[0];
  at::Tensor want;
  const char* names[] = {"ad-a", "ad-b", "ad-c"};
  for (size_t i = 0; i < 3; ++i) {
    const auto a = load_peft_adapter(p(names[i]));
    const auto& m = a->modules[0];
    ASSERT_EQ(m.name, m0.name);
    const auto d = coeffs[i] * m.scale * m.B.to(torch::kFloat64).mm(m.A.to(torch::kFloat64));
    want = want.defined() ? want + d : d;
  }
  const auto got = m0.scale * m0.B.to(torch::kFloat64).mm(m0.A.to(torch::kFloat64));
  EXPECT_LT(test::rel_err(got, want), 1e-5);
  // It is not replaced without --force.
  r = run("soup" + eval_args() + " " + s("ad-a") + " " + s("ad-b") + " --save " + out.string(),
          scratch());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("exists"), std::string::npos) << r.err;
}

TEST_F(CliLandscape, SurfaceGrid) {
  const auto r = run("surface --json --grid 3 --limit 4" + eval_args() + " " + s("ad-a") + " " +
                         s("ad-b") + " base",
                     scratch());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = json::parse(r.out)["surface"];
  EXPECT_EQ(j["x"].size(), 3u);
  EXPECT_EQ(j["y"].size(), 3u);
  EXPECT_EQ(j["labels"], json({"ad-a", "ad-b", "base"}));
}

TEST_F(CliLandscape, PlotWritesAFigureOrSaysWhyNot) {
  const fs::path png = scratch() / "curve.png";
  const auto r = run("sweep --limit 3 --intervals 2 --plot " + png.string() + eval_args() +
                         " --a " + s("ad-a") + " --b base",
                     scratch());
#ifdef BASIN_CLI_PLOT
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(test::read_bytes(png).substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  const fs::path heat = scratch() / "heat.png";
  const auto h =
      run("cka --plot " + heat.string() + " --json --inputs 6" + eval_args() + " " + s("ad-a"),
          scratch());
  ASSERT_EQ(h.code, 0) << h.err;
  EXPECT_EQ(test::read_bytes(heat).substr(0, 4), std::string("\x89PNG", 4));
#else
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("built without Qt"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(png));
#endif
}

// --precision bf16: the sweep records it in its setup, and its losses stay within bf16's
// rounding of the float32 ones. Each logit carries a relative error of a few 2^-9 (bfloat16
// inputs to ~10 products per position on this 2-layer model); the loss is a mean of log-softmax
// values of that size, so 3% of the loss bounds it generously, while 1e-6 shows that the
// option changed the arithmetic at all. --device: a malformed name is a usage error (exit 2)
// naming it; CUDA on a build without it is refused (exit 1) saying why.
TEST_F(CliLandscape, PrecisionAndDeviceOptions) {
  const std::string args =
      " sweep --json --limit 6 --intervals 2" + eval_args() + " --a " + s("ad-a") + " --b base";
  auto fp32 = run("--precision fp32" + args, scratch());
  auto bf16 = run("--precision bf16" + args, scratch());
  ASSERT_EQ(fp32.code, 0) << fp32.err;
  ASSERT_EQ(bf16.code, 0) << bf16.err;
  const auto f = json::parse(fp32.out), b = json::parse(bf16.out);
  EXPECT_FALSE(f["setup"].contains("precision"));
  EXPECT_EQ(b["setup"]["precision"], "bf16");
  const auto lf = numbers(f["curve"]["loss"]), lb = numbers(b["curve"]["loss"]);
  ASSERT_EQ(lf.size(), lb.size());
  double moved = 0;
  for (size_t i = 0; i < lf.size(); ++i) {
    EXPECT_NEAR(lb[i], lf[i], 0.03 * lf[i]) << i;
    moved = std::max(moved, std::abs(lb[i] - lf[i]) / lf[i]);
  }
  EXPECT_GT(moved, 1e-6);
  auto r = run("--precision fp16" + args, scratch());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("fp16"), std::string::npos) << r.err;
  r = run("--device cuda:x" + args, scratch());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("'cuda:x'"), std::string::npos) << r.err;
  if (!cuda_available()) {
    r = run("--device cuda:0" + args, scratch());
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("CUDA"), std::string::npos) << r.err;
  }
}
