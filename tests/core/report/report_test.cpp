// The report's captions (hand-checked numbers on tiny results), the per-task scores type and
// the HTML/Markdown assembly.
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "demo/kit_sizes.h"
#include "landscape/multitask.h"
#include "landscape/soup.h"
#include "landscape/surface.h"
#include "landscape/sweep.h"
#include "model/causal_lm.h"
#include "naive_lm.h"
#include "report/captions.h"
#include "report/model_sizes.h"
#include "report/oracle_vs_base.h"
#include "report/report.h"
#include "test_support.h"
#include "util/errors.h"

namespace basin {
namespace {

const double kNaN = std::nan("");

PairwiseMatrix matrix(const std::vector<std::string>& labels, const Eigen::MatrixXd& v) {
  return {"m", labels, v};
}

TEST(ReportCaptions, CaptionNumberHasThreeDecimalsAndNoNegativeZero) {
  EXPECT_EQ(caption_number(0.12345), "0.123");
  EXPECT_EQ(caption_number(-0.0001), "0.000");
  EXPECT_EQ(caption_number(kNaN), "—");
}

TEST(ReportCaptions, CosineMeanLargestAndSmallestAbsolutePair) {
  Eigen::MatrixXd v(3, 3);
  v << 1, 0.1, -0.3, 0.1, 1, 0.05, -0.3, 0.05, 1;
  const Caption c = cosine_caption(matrix({"a", "b", "c"}, v));
  // |cos|: 0.1, 0.3, 0.05 → mean 0.15.
  EXPECT_EQ(c.headline,
            "The 3 adapters are weakly aligned: mean |cos| 0.150, largest 0.300 (a–c).");
  EXPECT_NE(c.detail.find("Smallest |cos| 0.050 (b–c)"), std::string::npos) << c.detail;
  EXPECT_NE(c.detail.find("over 3 pairs"), std::string::npos) << c.detail;
  Eigen::MatrixXd w(2, 2);
  w << 1, 0.02, 0.02, 1;
  EXPECT_NE(cosine_caption(matrix({"x", "y"}, w)).headline.find("nearly orthogonal"),
            std::string::npos);
}

MultitaskRow row(const std::string& m, double score, std::vector<double> s = {}) {
  return {m, std::move(s), score};
}

TEST(ReportCaptions, MultitaskBestMergePerCountBaseAndGates) {
  MultitaskResult r;
  r.tasks = {"x", "y", "z"};
  r.metrics = {"accuracy", "accuracy", "exact_match"};
  r.tables.push_back({2,
                      {row("oracle", 1, {0.5, 0.4}), row("base", 0.3), row("ties", 0.62),
                       row("svd", 0.5), row("moa", 0.9)}});
  r.tables.push_back({3,
                      {row("oracle", 1, {0.5, 0.4, 0.0}), row("base", 0.2), row("ties", 0.48),
                       row("svd", 0.47), row("moa", 0.95), row("arrow", 0.7)}});
  const Caption c = multitask_caption(r);
  EXPECT_EQ(c.headline,
            "Best router-free merge: ties keeps 0.620 of the oracles at 2 tasks and 0.480 at 3.");
  EXPECT_EQ(c.detail,
            "Base model 0.300 at 2, 0.200 at 3; moa 0.950 at 3; arrow 0.700 at 3. The score "
            "counts the 2 of 3 tasks whose own adapter scores above 0 (x, y).");
  // A different best per count is named per count.
  r.tables[1].rows[3].multitask_score = 0.5;
  EXPECT_EQ(multitask_caption(r).headline,
            "Best router-free merge: ties keeps 0.620 at 2 tasks; svd keeps 0.500 at 3 tasks.");
  // No oracle above 0: no score, said so.
  for (auto& t : r.tables)
    for (auto& rw : t.rows)
      rw.multitask_score = kNaN;
  r.tables[1].rows[0].scores = {0, 0, 0};
  EXPECT_NE(multitask_caption(r).headline.find("scores above 0 on 0 of 3 tasks"), std::string::npos)
      << multitask_caption(r).headline;
}

Curve curve(const std::string& a, const std::string& b, std::vector<double> loss) {
  Curve c;
  c.a = a;
  c.b = b;
  c.alpha = {0.0, 0.5, 1.0};
  c.loss = loss;
  c.token_error = {0.1, 0.1, 0.1};
  return c;
}

TEST(ReportCaptions, ConvexityLargestMeanAndShareOfLoss) {
  ConnectivityResult r;
  r.labels = {"a", "b", "c"};
  r.alphas = {0.0, 0.5, 1.0};
  // α = 1 is the lower index. Own losses: a 1.0, b 1.0, c 2.0.
  r.curves = {curve("a", "b", {1.0, 1.2, 1.0}),   // gap 0.2
              curve("a", "c", {2.0, 1.5, 1.0}),   // on the chord: 0
              curve("b", "c", {2.0, 1.6, 1.0})};  // 1.6 − 1.5 = 0.1
  const Caption c = convexity_caption(r);
  EXPECT_EQ(c.headline, "Largest convexity gap 0.200 (a–b); mean 0.100 over 3 pairs.");
  // 0.2 / mean(1, 1, 2) = 0.15.
  EXPECT_EQ(c.detail,
            "The models' own losses run 1.000–2.000, so the largest gap is 15.0 % of their mean: "
            "some paths bulge above their chords.");
}

TEST(ReportCaptions, CkaBaseToAdaptersAndAmongAdapters) {
  Eigen::MatrixXd v(3, 3);
  v << 1, 0.9, 0.8, 0.9, 1, 0.7, 0.8, 0.7, 1;
  const Caption c = cka_caption(matrix({"base", "p", "q"}, v));
  EXPECT_EQ(c.headline,
            "CKA of the base model to the 2 adapters runs 0.800–0.900; q moves furthest from the "
            "base.");
  EXPECT_EQ(c.detail.rfind("Among the adapters: mean 0.700, lowest 0.700 (p–q)", 0), 0u)
      << c.detail;
}

TEST(ReportCaptions, SoupGainAndIngredients) {
  SoupResult s;
  s.labels = {"s0", "s1", "s2"};
  s.single_loss = {0.5, 0.4, 0.6};
  s.order = {1, 0, 2};
  s.coeffs = {0.2, 0.8, 0.0};
  s.loss = 0.38;
  s.uniform_loss = 0.45;
  const Caption c = soup_caption(s);
  EXPECT_EQ(c.headline,
            "Greedy soup: validation loss 0.380 against 0.400 for the best single adapter (s1), "
            "a gain of 0.020 (5.0 %).");
  EXPECT_EQ(c.detail,
            "It mixes 2 of 3 ingredients (s0 0.200, s1 0.800); the uniform soup of all 3 scores "
            "0.450.");
  s.coeffs = {0, 1, 0};
  s.loss = 0.4;
  EXPECT_NE(soup_caption(s).detail.find("soup is s1 alone"), std::string::npos);
}

TEST(ReportCaptions, SurfaceMinimumInsideOrOutsideTheTriangle) {
  SurfaceResult s;
  s.labels = {"a", "b", "c"};
  s.anchor_x = {0, 1, 0};
  s.anchor_y = {0, 0, 1};
  s.x = {0, 0.25, 1};
  s.y = {0, 0.25, 1};
  s.loss.resize(3, 3);  // [y, x]
  s.loss << 1.0, 0.9, 1.1, 0.95, 0.5, 1.3, 1.2, 1.4, 2.0;
  const Caption c = surface_caption(s);
  EXPECT_EQ(c.headline,
            "Lowest loss on the plane 0.500 at (0.250, 0.250), inside the triangle of a, b and c; "
            "highest 2.000.");
  EXPECT_EQ(c.detail,
            "At the grid points nearest the three models the loss is 1.000 (a), 1.100 (b) and "
            "1.200 (c).");
  s.loss(2, 2) = 0.1;  // (1, 1) lies beyond the b–c edge
  EXPECT_NE(surface_caption(s).headline.find("0.100 at (1.000, 1.000), outside"),
            std::string::npos);
}

TaskScore score(const std::string& task, const std::string& metric, double base, double oracle,
                double lo, double hi) {
  TaskScore s;
  s.task = task;
  s.metric = metric;
  s.base = base;
  s.oracle = oracle;
  s.n = 20;
  s.diff = {oracle - base, lo, hi};
  return s;
}

OracleVsBase three_tasks() {
  OracleVsBase t;
  t.source = "kit.json";
  t.split = "test";
  t.has_interval = true;
  t.tasks = {score("t1", "accuracy", 0.4, 0.7, 0.1, 0.5),
             score("t2", "macro_f1", 0.0, 0.49, -0.05, 0.9),
             score("t3", "exact_match", 0.0, 0.0, 0.0, 0.0)};
  return t;
}

TEST(ReportCaptions, OracleVsBaseGainsMeansAndIntervals) {
  const Caption c = oracle_vs_base_caption(three_tasks());
  EXPECT_EQ(c.headline,
            "Each task's own adapter beats the base model on 2 of 3 tasks; the largest gain is "
            "0.490 macro_f1 on t2 (0.000 → 0.490).");
  // Means: base 0.4/3 = 0.133, own 1.19/3 = 0.397; only t1's interval excludes 0.
  EXPECT_EQ(c.detail,
            "Mean over tasks: base 0.133, own adapter 0.397; the 95 % interval of the difference "
            "excludes 0 on 1 of 3 tasks (20 test examples per task, from kit.json).");
  OracleVsBase no_interval = three_tasks();
  no_interval.has_interval = false;
  EXPECT_EQ(oracle_vs_base_caption(no_interval).detail.find("interval"), std::string::npos);
  OracleVsBase zero = three_tasks();
  for (auto& t : zero.tasks)
    t.base = t.oracle = 0;
  EXPECT_NE(oracle_vs_base_caption(zero).headline.find("every score is 0.000 on the 3 tasks"),
            std::string::npos);
}

TEST(OracleVsBase, FromKitInTaskOrderWithErrorsNamingTheKey) {
  const auto manifest = nlohmann::json::parse(R"({"tasks": ["b", "a"], "scores": {
      "a": {"metric": "accuracy", "base": 0.25, "oracle": 0.75, "n": 8, "diff": 0.5,
            "diff_ci95": [0.125, 0.875]},
      "b": {"metric": "bleu", "base": 0.0, "oracle": 0.125, "n": 4, "diff": 0.125,
            "diff_ci95": [0.0, 0.25]}}})");
  const auto s = OracleVsBase::from_kit(manifest, "k/kit.json");
  ASSERT_TRUE(s.has_value());
  ASSERT_EQ(s->tasks.size(), 2u);
  EXPECT_EQ(s->tasks[0].task, "b");  // kit order, not the JSON object's
  EXPECT_EQ(s->tasks[0].oracle, 0.125);
  EXPECT_EQ(s->tasks[1].n, 8u);
  EXPECT_EQ(s->tasks[1].diff.high, 0.875);
  EXPECT_EQ(s->to_csv(),
            "task,metric,base,oracle,n,diff,diff_lo,diff_hi\nb,bleu,0,0.125,4,0.125,0,0.25\n"
            "a,accuracy,0.25,0.75,8,0.5,0.125,0.875\n");
  EXPECT_EQ(s->to_json()["tasks"], nlohmann::json({"b", "a"}));
  EXPECT_FALSE(OracleVsBase::from_kit(nlohmann::json::parse(R"({"tasks": []})"), "k"));
  try {
    OracleVsBase::from_kit(nlohmann::json::parse(R"({"scores": {"a": {"metric": "bleu",
        "base": 1}}})"),
                           "k/kit.json");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("k/kit.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("oracle"), std::string::npos) << e.what();
  }
}

TEST(OracleVsBase, FromTheMultitaskStudysOracleAndBaseRows) {
  MultitaskResult r;
  r.tasks = {"x", "y"};
  r.metrics = {"accuracy", "bleu"};
  r.tables.push_back({2, {row("oracle", 1, {0.5, 0.25}), row("base", 0.3, {0.125, 0.0})}});
  const auto s = OracleVsBase::from_multitask(r, "test", {10, 7});
  ASSERT_EQ(s.tasks.size(), 2u);
  EXPECT_FALSE(s.has_interval);
  EXPECT_EQ(s.tasks[1].metric, "bleu");
  EXPECT_EQ(s.tasks[0].base, 0.125);
  EXPECT_EQ(s.tasks[0].diff.diff, 0.375);
  EXPECT_EQ(s.tasks[1].oracle, 0.25);
  EXPECT_EQ(s.tasks[1].n, 7u);
  EXPECT_EQ(s.to_csv(),
            "task,metric,base,oracle,n,diff,diff_lo,diff_hi\n"
            "x,accuracy,0.125,0.5,10,0.375,,\ny,bleu,0,0.25,7,0.25,,\n");
}

TEST(Report, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foob"), "Zm9vYg==");
  EXPECT_EQ(base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64(std::string("\xff\x00\x80", 3)), "/wCA");
}

TEST(Report, HtmlEmbedsTheFiguresAndMarkdownLinksThem) {
  test::TempDir dir;
  const std::string png("\x89PNG\r\n\x1a\nabc", 11);
  std::filesystem::create_directories(dir / "figures");
  test::write_bytes(dir / "figures" / "f.png", png);
  Report r;
  r.title = "T <1>";
  r.intro = {"Intro & more."};
  r.limits = {{"examples", "16"}};
  ReportFigure f;
  f.title = "Fig";
  f.caption = {"Head 0.123.", "Detail <b>."};
  f.images = {{"figures/f.png", "figures/f.svg", "alt"}};
  f.data = {"data/f.json"};
  ReportFigure skipped;
  skipped.title = "Gone";
  skipped.skipped = "needs three adapters; 2 given.";
  r.figures = {f, skipped};
  write_report(r, dir.path());
  const std::string html = test::read_bytes(dir / "report.html");
  EXPECT_NE(html.find("<title>T &lt;1&gt;</title>"), std::string::npos);
  EXPECT_NE(html.find("src=\"data:image/png;base64," + base64(png) + "\""), std::string::npos);
  EXPECT_NE(html.find("Detail &lt;b&gt;."), std::string::npos);
  EXPECT_NE(html.find("Not in this report: needs three adapters; 2 given."), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos);
  const std::string md = test::read_bytes(dir / "report.md");
  EXPECT_NE(md.find("![alt](figures/f.png)"), std::string::npos) << md;
  EXPECT_NE(md.find("**Head 0.123.**  \nDetail <b>."), std::string::npos) << md;
  EXPECT_NE(md.find("## 2. Gone"), std::string::npos);
  EXPECT_NE(md.find("[data/f.json](data/f.json)"), std::string::npos);
  // A figure file that is missing is an error naming it, not an empty image.
  std::filesystem::remove(dir / "figures" / "f.png");
  EXPECT_THROW(report_html(r, dir.path()), IoError);
}

// Model sizes: two studies by hand. small (1.2 M): svd 0.5, ties 0.4 → merges 0.45; medium
// (4.8 M): svd 0.45, ties 0.7 → 0.575. Given larger first, listed ascending.
struct TwoSizes {
  MultitaskResult small, medium;
  TwoSizes() {
    small.tasks = medium.tasks = {"x", "y", "z"};
    small.metrics = medium.metrics = {"accuracy", "accuracy", "exact_match"};
    small.tables.push_back({2, {row("oracle", 1, {0.5, 0.4}), row("base", 0.3)}});
    small.tables.push_back({3,
                            {row("oracle", 1, {0.5, 0.4, 0.2}), row("base", 0.1), row("ties", 0.4),
                             row("svd", 0.5), row("arrow", 0.8), row("moa", 0.9)}});
    medium.tables.push_back({3,
                             {row("oracle", 1, {0.6, 0.5, 0.3}), row("base", 0.2), row("svd", 0.45),
                              row("ties", 0.7), row("arrow", 0.9)}});
  }
  ModelSizes sizes() const {
    return ModelSizes::from_multitask({"medium", "small"}, {4800000, 1200000}, {&medium, &small});
  }
};

TEST(ReportModelSizes, CommonTableAndMethodsAscendingBySize) {
  const TwoSizes t;
  const ModelSizes s = t.sizes();
  EXPECT_EQ(s.task_count, 3);  // the only count both have
  // The first study's rows that both have (moa is only in small's; the oracle is always 1).
  EXPECT_EQ(s.methods, (std::vector<std::string>{"base", "svd", "ties", "arrow"}));
  ASSERT_EQ(s.sizes.size(), 2u);
  EXPECT_EQ(s.sizes[0].name, "small");
  EXPECT_EQ(s.sizes[0].scores, (std::vector<double>{0.1, 0.5, 0.4, 0.8}));
  EXPECT_EQ(s.sizes[1].scores, (std::vector<double>{0.2, 0.45, 0.7, 0.9}));
  EXPECT_DOUBLE_EQ(s.mean_merge_score(0), 0.45);
  EXPECT_DOUBLE_EQ(s.mean_merge_score(1), 0.575);
  const auto j = s.to_json();
  EXPECT_EQ(j["sizes"][1]["name"], "medium");
  EXPECT_DOUBLE_EQ(j["sizes"][1]["scores"]["ties"].get<double>(), 0.7);
  EXPECT_DOUBLE_EQ(j["sizes"][0]["mean_merge_score"].get<double>(), 0.45);
  EXPECT_EQ(j["sizes"][0]["parameters"], 1200000);
  const std::string csv = s.to_csv();
  EXPECT_EQ(csv.rfind("size,parameters,task_count,method,multitask_score\n", 0), 0u);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 9);  // header + 2 sizes × 4 methods
  EXPECT_NE(csv.find("\nmedium,4800000,3,ties,0.7\n"), std::string::npos) << csv;
  // Other tasks are refused, naming both models.
  MultitaskResult other = t.medium;
  other.tasks = {"x", "y", "w"};
  EXPECT_THROW(ModelSizes::from_multitask({"a", "b"}, {1, 2}, {&t.small, &other}), InputError);
}

TEST(ReportModelSizes, CaptionSaysWhetherTheLargerModelMergesBetter) {
  TwoSizes t;
  Caption c = model_sizes_caption(t.sizes());
  EXPECT_EQ(c.headline,
            "The larger model merges better on this run: the router-free merges keep 0.575 of the "
            "own adapters on average on medium (4.80 M weights) vs 0.450 on small (1.20 M "
            "weights); 1 of 2 merges score higher.");
  // Own adapters: (0.5 + 0.4 + 0.2) / 3 and (0.6 + 0.5 + 0.3) / 3.
  EXPECT_EQ(c.detail,
            "Best merge at 3 tasks: svd 0.500 on small, ties 0.700 on medium; base 0.100 vs "
            "0.200; arrow 0.800 vs 0.900. Scores are shares of each model's own task adapters, "
            "which average 0.367 on the tasks' metrics on small and 0.467 on medium.");
  // ties 0.3 on medium: (0.45 + 0.3) / 2 = 0.375 < 0.45, and the caption says so.
  t.medium.tables[0].rows[3].multitask_score = 0.3;
  c = model_sizes_caption(t.sizes());
  EXPECT_EQ(c.headline,
            "The larger model does not merge better on this run: the router-free merges keep "
            "0.375 of the own adapters on average on medium (4.80 M weights) vs 0.450 on small "
            "(1.20 M weights); 0 of 2 merges score higher on it.");
  // No merge score on the small model (no own adapter above 0 there): no comparison, said so.
  for (auto& r : t.small.tables[1].rows)
    r.multitask_score = kNaN;
  EXPECT_EQ(model_sizes_caption(t.sizes()).headline,
            "No comparison on this run: the router-free merges have no multitask score on small "
            "(1.20 M weights), where no task's own adapter scores above 0.");
}

TEST(ReportModelSizes, ParameterCountMatchesTheModelsTensors) {
  ModelConfig c;
  c.vocab_size = 10;
  c.hidden_size = 4;
  c.intermediate_size = 6;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 1;
  c.head_dim = 2;
  c.tie_word_embeddings = true;
  c.max_position_embeddings = 16;
  // By hand, per layer: q 16 + 4, k 8 + 2, v 8 + 2, o 16, MLP 3·4·6 = 72, norms 8 → 136;
  // 2 layers, embedding 40, final norm 4 → 316.
  EXPECT_EQ(parameter_count(c), 316);
  const auto tensors = [](const ModelConfig& config) {
    const CausalLM m = CausalLM::random(config, 0);
    int64_t n = 0;
    for (const auto& [name, t] : m.parameters())
      n += t.numel();
    return n;
  };
  EXPECT_EQ(parameter_count(c), tensors(c));
  // Every bias setting the architectures have, and untied embeddings: the model's own tensors.
  for (const bool attention_bias : {false, true})
    for (const bool mlp_bias : {false, true})
      for (const bool tie : {false, true}) {
        ModelConfig l = c;
        l.model_type = "llama";
        l.attention_bias = attention_bias;  // llama: q/k/v and o_proj biases
        l.mlp_bias = mlp_bias;
        l.tie_word_embeddings = tie;
        EXPECT_EQ(parameter_count(l), tensors(l))
            << "attention_bias " << attention_bias << ", mlp_bias " << mlp_bias << ", tied " << tie;
      }
  // The other families' layouts: q/k norms (qwen3, gemma3_text), Gemma's four norms per layer,
  // Phi-3's fused projections.
  for (const char* type : {"qwen3", "gemma2", "gemma3_text", "phi3"})
    for (const bool tie : {false, true}) {
      const auto f = test::tiny_decoder_config(type, tie);
      EXPECT_EQ(parameter_count(f), tensors(f)) << type << ", tied " << tie;
    }
  // The kit's sizes: medium has more weights than small.
  ModelConfig small = kit_size_spec("small").model, medium = kit_size_spec("medium").model;
  small.vocab_size = medium.vocab_size = 2048;
  EXPECT_GT(parameter_count(medium), 3 * parameter_count(small) / 2);
  EXPECT_THROW(kit_size_spec("huge"), InputError);
}

}  // namespace
}  // namespace basin
