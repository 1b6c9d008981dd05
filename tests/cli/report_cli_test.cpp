// basin-cli report and demo --kit's study report, end to end: every figure it can draw is a
// real PNG/SVG file, report.html embeds them and loads nothing from elsewhere, each caption
// states the numbers of the data files beside it (read back and formatted here), and Ctrl-C
// leaves no output folder.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

#include <nlohmann/json.hpp>

#include "landscape_fixture.h"

namespace basin::test::cli {
namespace {

std::string fmt3(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return std::string(buf) == "-0.000" ? "0.000" : buf;
}

json read_json(const fs::path& p) {
  return json::parse(basin::test::read_bytes(p));
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

// Off-diagonal entries (i < j) of a PairwiseMatrix JSON.
std::vector<double> pairs(const json& m) {
  std::vector<double> out;
  const auto& v = m["values"];
  for (size_t i = 0; i < v.size(); ++i)
    for (size_t j = i + 1; j < v.size(); ++j)
      if (!v[i][j].is_null()) out.push_back(v[i][j].get<double>());
  return out;
}

// The checks every report passes: the files of each drawn figure, the embedding, no network,
// and each caption's numbers recomputed from the data files.
void check_report(const fs::path& out, const std::vector<std::string>& figures) {
  const std::string html = basin::test::read_bytes(out / "report.html");
  const std::string md = basin::test::read_bytes(out / "report.md");
  ASSERT_FALSE(html.empty());
  ASSERT_FALSE(md.empty());
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
#ifdef BASIN_CLI_PLOT
  for (const auto& f : figures) {
    const std::string png = basin::test::read_bytes(out / "figures" / (f + ".png"));
    const std::string svg = basin::test::read_bytes(out / "figures" / (f + ".svg"));
    EXPECT_EQ(png.substr(0, 4), "\x89PNG") << f;
    EXPECT_TRUE(svg.rfind("<svg", 0) == 0 || svg.rfind("<?xml", 0) == 0) << f;
    EXPECT_NE(md.find("](figures/" + f + ".png)"), std::string::npos) << f;
  }
  EXPECT_EQ(count(html, "src=\"data:image/png;base64,"), figures.size());
#else
  EXPECT_NE(html.find("built without Qt"), std::string::npos);
#endif

  // 1. Cosine: mean and largest |cos| off the diagonal.
  const auto cos = pairs(read_json(out / "data" / "cosine.json"));
  ASSERT_FALSE(cos.empty());
  double mean = 0, largest = 0;
  for (double c : cos) {
    mean += std::abs(c) / double(cos.size());
    largest = std::max(largest, std::abs(c));
  }
  EXPECT_NE(md.find("mean |cos| " + fmt3(mean) + ", largest " + fmt3(largest)), std::string::npos)
      << md;
  // 3. Convexity gap: the largest over the pairs.
  if (fs::exists(out / "data" / "connectivity.json")) {
    const auto gaps = pairs(read_json(out / "data" / "connectivity.json")["convexity_gap"]);
    EXPECT_NE(md.find("Largest convexity gap " + fmt3(*std::max_element(gaps.begin(), gaps.end()))),
              std::string::npos);
  }
  // 4. CKA: the base row's smallest entry.
  const json cka = read_json(out / "data" / "cka.json");
  ASSERT_EQ(cka["labels"][0], "base");
  double lo = 2;
  for (size_t k = 1; k < cka["values"][0].size(); ++k)
    lo = std::min(lo, cka["values"][0][k].get<double>());
  EXPECT_NE(md.find("CKA of the base model to the " + std::to_string(cka["labels"].size() - 1) +
                    " adapters runs " + fmt3(lo) + "–"),
            std::string::npos);
  // 5. Soup: its loss.
  if (fs::exists(out / "data" / "soup.json"))
    EXPECT_NE(md.find("Greedy soup: validation loss " +
                      fmt3(read_json(out / "data" / "soup.json")["loss"].get<double>())),
              std::string::npos);
  // 6. Surface: the lowest loss on the grid.
  if (fs::exists(out / "data" / "surface.json")) {
    double best = std::numeric_limits<double>::infinity();
    const json surface = read_json(out / "data" / "surface.json");
    for (const auto& r : surface["loss"])
      for (const auto& v : r)
        best = std::min(best, v.get<double>());
    EXPECT_NE(md.find("Lowest loss on the plane " + fmt3(best)), std::string::npos);
  }
  // 2. Multitask: the best router-free score of the full table, or the count of solved tasks.
  if (fs::exists(out / "data" / "multitask.json")) {
    const json mt = read_json(out / "data" / "multitask.json");
    const json& full = mt["tables"].back();
    double best = -1;
    int solved = 0;
    for (const auto& r : full["rows"]) {
      const std::string m = r["method"];
      if (m == "oracle")
        for (const auto& s : r["scores"])
          solved += !s.is_null() && s.get<double>() > 0;
      if (m == "oracle" || m == "base" || m == "mole" || m == "moa" || m == "arrow") continue;
      if (!r["multitask_score"].is_null())
        best = std::max(best, r["multitask_score"].get<double>());
    }
    if (best >= 0)
      EXPECT_NE(md.find(fmt3(best) + " at " + std::to_string(full["task_count"].get<int>())),
                std::string::npos)
          << md;
    else
      EXPECT_NE(md.find("scores above 0 on " + std::to_string(solved) + " of "), std::string::npos)
          << md;
  }
  // 3. Model sizes: the router-free merges' mean score on the larger model (recomputed from the
  // per-method scores), or why there is no comparison.
  if (fs::exists(out / "data" / "model_sizes.json")) {
    const json ms = read_json(out / "data" / "model_sizes.json");
    std::vector<double> means;
    for (const auto& size : ms["sizes"]) {
      double sum = 0;
      int n = 0;
      for (const auto& [m, v] : size["scores"].items())
        if (m != "base" && m != "mole" && m != "moa" && m != "arrow" && !v.is_null()) {
          sum += v.get<double>();
          ++n;
        }
      means.push_back(n ? sum / n : std::nan(""));
    }
    ASSERT_EQ(means.size(), 2u);
    if (std::isfinite(means[0]) && std::isfinite(means[1]))
      EXPECT_NE(md.find("keep " + fmt3(means[1]) + " of the own adapters on average"),
                std::string::npos)
          << md;
    else
      EXPECT_NE(md.find("No comparison on this run"), std::string::npos) << md;
  }
  // 8. Own adapter vs base: the mean scores.
  if (fs::exists(out / "data" / "oracle_vs_base.json")) {
    const json ts = read_json(out / "data" / "oracle_vs_base.json");
    const double n = double(ts["tasks"].size());
    double base = 0, own = 0;
    for (const auto& [task, t] : ts["scores"].items()) {
      base += t["base"].get<double>() / n;
      own += t["oracle"].get<double>() / n;
    }
    if (base == 0 && own == 0)
      EXPECT_NE(md.find("every score is 0.000"), std::string::npos);
    else
      EXPECT_NE(md.find("Mean over tasks: base " + fmt3(base) + ", own adapter " + fmt3(own)),
                std::string::npos)
          << md;
  }
}

class CliReport : public CliLandscape {};

TEST_F(CliReport, ThreeAdaptersGiveEveryFigureButThoseNeedingEachTasksOwnAdapter) {
  const fs::path out = scratch() / "rep";
  const auto r = run("-q report" + eval_args("say.json repeat.json") + " " + s("ad-a") + " " +
                         s("ad-b") + " " + s("ad-c") + " -o " + out.string() +
                         " --limit 4 --loss-limit 4 --points 3 --grid 3 --cka-inputs 8",
                     scratch());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find((out / "report.html").string()), std::string::npos) << r.out;
  check_report(out, {"cosine", "convexity_gap", "cka", "soup", "surface"});
  const std::string md = basin::test::read_bytes(out / "report.md");
  // ad-a … ad-c are not named after say/repeat, and three adapters are not one per task.
  EXPECT_EQ(count(md, "Not in this report: needs each task's own adapter"), 2u) << md;
  EXPECT_FALSE(fs::exists(out / "data" / "multitask.json"));
  // The limits used are stated.
  EXPECT_NE(md.find("3 points per path"), std::string::npos);
  EXPECT_NE(md.find("3 × 3 grid"), std::string::npos);
  // A second run replaces the report; a folder of other files is refused.
  fs::create_directories(scratch() / "other");
  basin::test::write_bytes(scratch() / "other" / "x", "");
  EXPECT_EQ(run("-q report" + eval_args("say.json") + " " + s("ad-a") + " " + s("ad-b") + " -o " +
                    (scratch() / "other").string(),
                scratch())
                .code,
            1);
}

TEST_F(CliReport, OneAdapterPerTaskRunsTheMultitaskFiguresAndSkipsTheSurface) {
  const fs::path out = scratch() / "rep";
  const auto r = run("-q report" + eval_args("say.json repeat.json") + " " + s("ad-a") + " " +
                         s("ad-b") + " -o " + out.string() +
                         " --limit 4 --loss-limit 4 --points 3 --grid 3 --cka-inputs 8",
                     scratch());
  ASSERT_EQ(r.code, 0) << r.err;
  check_report(out, {"cosine", "multitask_2", "convexity_gap", "cka", "soup", "oracle_vs_base"});
  const std::string md = basin::test::read_bytes(out / "report.md");
  EXPECT_NE(md.find("Not in this report: needs three adapters for the plane; 2 given."),
            std::string::npos)
      << md;
  EXPECT_FALSE(fs::exists(out / "figures" / "surface.png"));
  EXPECT_EQ(read_json(out / "data" / "oracle_vs_base.json")["tasks"].size(), 2u);
}

TEST_F(CliReport, CtrlCLeavesNoOutputFolder) {
  const fs::path out = scratch() / "rep";
  // Enough work that it cannot finish before the signal: every example, 101 points, a 201²
  // surface; 4 s, so that the handler is in place even on a loaded machine.
  const std::string cmd = std::string(BASIN_CLI) + " -q report" +
                          eval_args("say.json repeat.json") + " " + s("ad-a") + " " + s("ad-b") +
                          " " + s("ad-c") + " -o " + out.string() +
                          " --limit 10000 --points 101 --grid 201 >/dev/null 2>&1";
  const int status = interrupt_after(cmd, std::chrono::seconds(4));
  ASSERT_TRUE(status != -1 && WIFEXITED(status))
      << "killed by a signal before the handler was installed?";
  EXPECT_EQ(WEXITSTATUS(status), 130);
  EXPECT_FALSE(fs::exists(out));
  for (const auto& e : fs::directory_iterator(scratch()))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

}  // namespace
}  // namespace basin::test::cli

// The demo's report on the tiny demo kit (label slow): all seven figures.
TEST(CliDemoKit, DemoWritesTheStudyReportWithEveryFigure) {
  using namespace basin::test::cli;
  basin::test::TempDir dir;
  const fs::path kit = dir / "kit";
  auto r = run("demo-kit --size tiny -o " + kit.string(), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const fs::path out = dir / "out";
  const auto t0 = std::chrono::steady_clock::now();
  r = run("-q demo --kit " + kit.string() + " -o " + out.string(), dir);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(r.code, 0) << r.err;
  std::printf("demo --kit on the tiny kit: %.1f s\n", secs);
  EXPECT_NE(r.out.find("Report: " + (out / "report.html").string()), std::string::npos) << r.out;
  check_report(out, {"cosine", "multitask_5", "multitask_7", "convexity_gap", "cka", "soup",
                     "surface", "oracle_vs_base"});
  // The demo's earlier outputs are still there.
  for (const char* f : {"summary.md", "summary.json", "similarity.csv", "similarity.json"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  EXPECT_TRUE(fs::is_directory(out / "merged" / "ties"));
  // The family is the sentiment adapter with its seeds and ranks: 7 models, 21 pairs.
  EXPECT_EQ(read_json(out / "data" / "connectivity.json")["labels"].size(), 7u);
  EXPECT_EQ(read_json(out / "data" / "soup.json")["labels"].size(), 4u);
  EXPECT_EQ(read_json(out / "data" / "cka.json")["labels"].size(), 8u);
  // Without the kit's larger model the size figure says how to build it.
  std::string md = basin::test::read_bytes(out / "report.md");
  EXPECT_NE(md.find("Not in this report: needs the kit's larger model. Build it with: basin-cli "
                    "demo-kit --size tiny-medium -o " +
                    kit.string() + " (a 3-layer model"),
            std::string::npos)
      << md;

  // With it (tiny-medium: its own model and task adapters in kit/medium), both sizes side by side.
  r = run("demo-kit --size tiny-medium -o " + kit.string(), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const json big = read_json(kit / "medium" / "kit.json");
  EXPECT_EQ(big["size"], "tiny-medium");
  EXPECT_EQ(big["tasks"], read_json(kit / "kit.json")["tasks"]);
  EXPECT_EQ(big["adapters"].size(), 7u);  // the task adapters only
  EXPECT_TRUE(fs::exists(kit / "medium" / "model" / "tokenizer.json"));
  EXPECT_GT(big["parameters"].get<int64_t>(),
            read_json(kit / "kit.json")["parameters"].get<int64_t>());
  const fs::path out2 = dir / "out2";
  r = run("-q demo --kit " + kit.string() + " -o " + out2.string(), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  check_report(out2, {"cosine", "multitask_5", "multitask_7", "model_sizes", "convexity_gap", "cka",
                      "soup", "surface", "oracle_vs_base"});
  const json ms = read_json(out2 / "data" / "model_sizes.json");
  EXPECT_EQ(ms["task_count"], 7);
  EXPECT_EQ(ms["sizes"][0]["name"], "tiny");
  EXPECT_EQ(ms["sizes"][1]["name"], "tiny-medium");
  // A tiny kit with a medium kit of the wrong parent is refused, naming the kit.
  r = run("demo-kit --size medium -o " + kit.string(), dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("holds a tiny demo kit"), std::string::npos) << r.err;
}
