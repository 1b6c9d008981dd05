// Cosine similarity from factors against the cosine of explicit dense ΔW computed here.
#include <gtest/gtest.h>

#include <cmath>

#include "analysis/cosine_similarity.h"
#include "test_support.h"

using namespace basin;

namespace {
std::shared_ptr<Adapter> adapter(const std::string& name, int64_t r, double scale, uint64_t seed,
                                 bool with_second = true) {
  auto a = std::make_shared<Adapter>();
  a->name = name;
  for (const std::string& mod :
       {std::string("model.layers.0.mlp.up_proj"), std::string("model.layers.1.mlp.up_proj")}) {
    if (!with_second && mod.find("layers.1") != std::string::npos) continue;
    LoraModule m;
    m.name = mod;
    m.A = test::randn({r, 9}, seed++);
    m.B = test::randn({7, r}, seed++);
    m.scale = scale;
    a->modules.push_back(m);
  }
  return a;
}
at::Tensor dense(const Adapter& a, const std::string& mod) {
  const auto* m = a.find(mod);
  if (!m) return torch::zeros({7, 9}, torch::kFloat64);
  return m->B.to(torch::kFloat64).mm(m->A.to(torch::kFloat64)) * m->scale;
}
}  // namespace

TEST(CosineSimilarity, MatchesDenseCosineOverallPerModuleAndPerLayer) {
  AdapterSet s;
  s.add(adapter("a", 2, 2.0, 1));
  s.add(adapter("b", 3, -0.5, 10));
  s.add(adapter("c", 4, 1.0, 20, /*with_second=*/false));
  jobs::NullProgress p;
  const auto r = cosine_similarity(s, p);
  const std::vector<std::string> mods{"model.layers.0.mlp.up_proj", "model.layers.1.mlp.up_proj"};
  auto flat = [&](size_t i) {
    return torch::cat({dense(s[i], mods[0]).flatten(), dense(s[i], mods[1]).flatten()});
  };
  const auto overall = r.overall();
  for (size_t i = 0; i < 3; ++i)
    for (size_t j = 0; j < 3; ++j) {
      const auto x = flat(i), y = flat(j);
      const double want =
          (x * y).sum().item<double>() / (x.norm().item<double>() * y.norm().item<double>());
      EXPECT_NEAR(overall.values(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)), want,
                  1e-9);
      const auto xm = dense(s[i], mods[0]), ym = dense(s[j], mods[0]);
      const double wm =
          (xm * ym).sum().item<double>() / (xm.norm().item<double>() * ym.norm().item<double>());
      EXPECT_NEAR(r.module(0).values(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)),
                  wm, 1e-9);
      EXPECT_NEAR(r.layer(0).values(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)), wm,
                  1e-9);
    }
  // Adapter c lacks layer 1: its cosine there is undefined (NaN), not 0.
  EXPECT_TRUE(std::isnan(r.layer(1).values(2, 0)));
  EXPECT_NEAR(r.layer(1).values(0, 0), 1.0, 1e-12);
  EXPECT_EQ(r.layers(), (std::vector<int>{0, 1}));
}

TEST(PairwiseMatrix, CsvAndJsonRoundTrip) {
  PairwiseMatrix m{"cosine", {"a", "b,c"}, Eigen::MatrixXd(2, 2)};
  m.values << 1, 0.5, 0.5, std::nan("");
  EXPECT_EQ(m.to_csv(), "cosine,a,\"b,c\"\na,1,0.5\n\"b,c\",0.5,\n");
  const auto back = PairwiseMatrix::from_json(m.to_json());
  EXPECT_EQ(back.labels, m.labels);
  EXPECT_EQ(back.values(0, 1), 0.5);
  EXPECT_TRUE(std::isnan(back.values(1, 1)));
}
