// basin-cli gate train | inspect, --gate on eval / generate / embed, and the gate rows of the
// multitask study, end to end on the landscape fixture's tiny model.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cmath>

#include <nlohmann/json.hpp>

#include "landscape_fixture.h"

namespace fs = std::filesystem;
using namespace basin;
using namespace basin::test::cli;
using nlohmann::json;

extern char** environ;

namespace {

// Checks that `args` exits 1 with `message` on stderr.
#define EXPECT_GATE_ERROR(args, message)                                            \
  do {                                                                              \
    const auto r_ = run(args, scratch());                                           \
    EXPECT_EQ(r_.code, 1) << (args) << "\n" << r_.err;                              \
    EXPECT_NE(r_.err.find(message), std::string::npos) << (args) << "\n" << r_.err; \
  } while (0)

std::string tasks_args(const std::string& model) {
  return " --model " + model;
}

}  // namespace

TEST_F(CliLandscape, GateArrowMoleAndRouterTrainSaveAndEvaluate) {
  const std::string two =
      " " + s("say.json") + " " + s("repeat.json") + " " + s("ad-a") + " " + s("ad-b");
  const fs::path arrow = scratch() / "arrow", mole = scratch() / "mole", moa = scratch() / "moa";
  auto r = run("gate train --kind arrow --model " + s("model") + " " + s("ad-a") + " " + s("ad-b") +
                   " " + s("ad-c") + " --top-k 2 --json -o " + arrow.string(),
               scratch());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["trainable_parameters"], 0);
  EXPECT_TRUE(fs::exists(arrow / "gate.json"));
  EXPECT_TRUE(fs::exists(arrow / "gate.safetensors"));
  r = run("gate train --kind mole --steps 4 --batch 4 --split validation --json --tasks" + two +
              tasks_args(s("model")) + " -o " + mole.string(),
          scratch());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto mj = json::parse(r.out);
  EXPECT_GT(mj["trainable_parameters"].get<int64_t>(), 0);
  EXPECT_TRUE(std::isfinite(mj["final_loss"].get<double>()));
  r = run("gate train --kind moa --split validation --json --tasks" + two + tasks_args(s("model")) +
              " -o " + moa.string(),
          scratch());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto acc = json::parse(r.out)["routing_accuracy"];
  ASSERT_EQ(acc.size(), 2u);
  for (const auto& [task, v] : acc.items()) {
    EXPECT_GE(v.get<double>(), 0.0) << task;
    EXPECT_LE(v.get<double>(), 1.0) << task;
  }

  // Every kind evaluates, generates and embeds through --gate.
  for (const auto& g : {arrow, mole, moa}) {
    r = run("eval --json --limit 3 --split validation --gate " + g.string() + eval_args(),
            scratch());
    ASSERT_EQ(r.code, 0) << g << r.err;
    const auto ev = json::parse(r.out);
    EXPECT_EQ(ev["gate_kind"], g.filename().string());
    const double sc = ev["tasks"]["say"]["score"].get<double>();
    EXPECT_GE(sc, 0.0);
    EXPECT_LE(sc, 1.0);
    r = run("generate --max-new-tokens 3 --model " + s("model") + " --gate " + g.string() +
                " \"Say apple:\"",
            scratch());
    EXPECT_EQ(r.code, 0) << g << r.err;
    r = run("embed --model " + s("model") + " --gate " + g.string() + " --data " +
                s("words.jsonl") + " --field word -o " +
                (scratch() / (g.filename().string() + ".safetensors")).string(),
            scratch());
    EXPECT_EQ(r.code, 0) << g << r.err;
  }

  // A MoLE gate with one expert masked still answers; an unknown expert is named.
  r = run("eval --json --limit 2 --split validation --gate " + mole.string() + " --experts ad-b" +
              eval_args(),
          scratch());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["experts"], "ad-b");
  r = run("eval --limit 2 --gate " + mole.string() + " --experts ad-z" + eval_args(), scratch());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("'ad-z' is not an expert"), std::string::npos) << r.err;

  // inspect: every row of a token gate's usage is a mean of softmaxes, so it sums to 1; the
  // router's confusion rows are shares of prompts, also summing to 1.
  for (const auto& g : {mole, arrow, moa}) {
    r = run("gate inspect " + g.string() + " --json --split validation --limit 4" +
                eval_args("say.json repeat.json"),
            scratch());
    ASSERT_EQ(r.code, 0) << g << r.err;
    const auto st = json::parse(r.out);
    EXPECT_EQ(st["tasks"], json({"say", "repeat"}));
    const auto& all = st["usage"][0];
    EXPECT_EQ(all["label"], "all");
    for (const auto& row : all["values"]) {
      double sum = 0;
      for (double v : numbers(row))
        sum += v;
      EXPECT_NEAR(sum, 1.0, 1e-5) << g;  // float32 gates averaged in float64
    }
    if (g != moa) EXPECT_EQ(st["usage"].size(), 3u) << g;  // all + 2 layers
  }
#ifdef BASIN_CLI_PLOT
  const fs::path png = scratch() / "usage.png";
  r = run("gate inspect " + mole.string() + " --plot " + png.string() +
              " --layer 1 --split validation --limit 2" + eval_args(),
          scratch());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(test::read_bytes(png).substr(0, 4), "\x89PNG");
  r = run("gate inspect " + mole.string() + " --plot " + png.string() +
              " --layer 7 --split validation --limit 2" + eval_args(),
          scratch());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--layer 7"), std::string::npos) << r.err;
#endif
  r = run("gate inspect " + moa.string() + " --csv --split validation --limit 4" + eval_args(),
          scratch());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "usage,task,expert,weight");
  EXPECT_NE(r.out.find("routing_accuracy,say"), std::string::npos) << r.out;
}

TEST_F(CliLandscape, GateBadInputIsRefusedNamingTheValue) {
  const std::string m = " --model " + s("model") + " ";
  const std::string out = " -o " + (scratch() / "g").string();
  EXPECT_GATE_ERROR("gate train --kind tree" + m + s("ad-a") + out, "unknown gate kind 'tree'");
  EXPECT_GATE_ERROR("gate train --kind arrow --temperature 0" + m + s("ad-a") + out,
                    "--temperature 0");
  EXPECT_GATE_ERROR("gate train --kind arrow --top-k 3" + m + s("ad-a") + " " + s("ad-b") + out,
                    "top-k must be in 1 … 2");
  EXPECT_GATE_ERROR("gate train --kind mole --temperature nan" + m + "--tasks " + s("say.json") +
                        " " + s("ad-a") + out,
                    "--temperature nan");
  EXPECT_GATE_ERROR("gate train --kind moa --split validation" + m + "--tasks " + s("say.json") +
                        " " + s("ad-a") + " " + s("ad-b") + out,
                    "one adapter per task");
  EXPECT_GATE_ERROR("gate train --kind mole" + m + s("ad-a") + out, "--tasks is required");
  EXPECT_GATE_ERROR("gate train --kind mole --granularity layer" + m + "--tasks " + s("say.json") +
                        " " + s("ad-a") + out,
                    "unknown gate granularity 'layer'");
  EXPECT_FALSE(fs::exists(scratch() / "g"));
  // An existing folder is not replaced without --force.
  fs::create_directories(scratch() / "full");
  test::write_bytes(scratch() / "full" / "keep.txt", "x");
  EXPECT_GATE_ERROR(
      "gate train --kind arrow" + m + s("ad-a") + " -o " + (scratch() / "full").string(),
      "use --force");
  EXPECT_EQ(test::read_bytes(scratch() / "full" / "keep.txt"), "x");
  // --gate: a missing folder, or --adapter too.
  EXPECT_GATE_ERROR("eval --gate " + (scratch() / "none").string() + eval_args(), "does not exist");
  auto r = run("gate train --kind arrow" + m + s("ad-a") + " " + s("ad-b") + out, scratch());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_GATE_ERROR(
      "eval --gate " + (scratch() / "g").string() + " --adapter " + s("ad-a") + eval_args(),
      "not both");
  EXPECT_GATE_ERROR("eval --gate " + (scratch() / "g").string() + " --experts ad-a" + eval_args(),
                    "is a gate of kind arrow");
  EXPECT_GATE_ERROR("eval --experts ad-a" + eval_args(), "--experts masks the experts of a --gate");
  // A moved expert is named.
  fs::copy(p("ad-b"), scratch() / "ad-b-copy");
  r = run("gate train --kind arrow" + m + s("ad-a") + " " + (scratch() / "ad-b-copy").string() +
              " -o " + (scratch() / "g2").string(),
          scratch());
  ASSERT_EQ(r.code, 0) << r.err;
  fs::rename(scratch() / "ad-b-copy", scratch() / "ad-b-moved");
  EXPECT_GATE_ERROR("eval --gate " + (scratch() / "g2").string() + eval_args(),
                    "expert 'ad-b-copy' is missing");
}

// The learned and routed references become rows of the multitask study, with their share of
// MoA's score.
TEST_F(CliLandscape, MultitaskStudyHasGateRowsAndShareOfMoa) {
  const auto r =
      run("multitask --json --limit 3 --methods cat,mole,moa,arrow --counts 1-2 "
          "--gate-split validation --mole-steps 2 --moa-steps 20" +
              eval_args("say.json repeat.json") + " --adapters " + s("ad-a") + " " + s("ad-b"),
          scratch());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = json::parse(r.out);
  ASSERT_EQ(j["tables"].size(), 2u);
  for (const auto& t : j["tables"]) {
    std::vector<std::string> methods;
    for (const auto& row : t["rows"]) {
      methods.push_back(row["method"]);
      EXPECT_EQ(row["scores"].size(), t["task_count"].get<size_t>());
      ASSERT_TRUE(row.contains("share_of_moa"));
      if (row["method"] == "moa" && !row["share_of_moa"].is_null()) {
        EXPECT_NEAR(row["share_of_moa"].get<double>(), 1.0, 1e-12);
      }
    }
    EXPECT_EQ(methods, (std::vector<std::string>{"oracle", "base", "cat", "mole", "moa", "arrow"}));
  }
}

// Ctrl-C during training: exit 130, no gate folder and no temporary left beside it.
TEST_F(CliLandscape, GateTrainInterruptedLeavesNothing) {
  const fs::path out = scratch() / "cancelled";
  const std::string cmd =
      std::string(BASIN_CLI) +
      " gate train --kind mole --steps 1000000 --batch 2 --split validation --model " + s("model") +
      " --tasks " + s("say.json") + " " + s("ad-a") + " " + s("ad-b") + " -o " + out.string() +
      " 2>/dev/null";
  const int status = interrupt_after(cmd, std::chrono::seconds(4));
  ASSERT_TRUE(status != -1 && WIFEXITED(status))
      << "killed by a signal before the handler was installed?";
  EXPECT_EQ(WEXITSTATUS(status), 130);
  EXPECT_FALSE(fs::exists(out));
  for (const auto& e : fs::directory_iterator(scratch()))
    EXPECT_EQ(e.path().filename().string().find("cancelled"), std::string::npos) << e.path();
}
