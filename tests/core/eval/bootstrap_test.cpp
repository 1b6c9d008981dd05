// Paired bootstrap intervals: degenerate cases by hand, and a binomial case against the
// normal approximation.
#include <gtest/gtest.h>

#include <cmath>

#include "eval/bootstrap.h"
#include "util/errors.h"

using namespace basin;

TEST(Bootstrap, DegenerateDifferencesHaveNoSpread) {
  const std::vector<std::string> refs(50, "yes"), right(50, "yes"), wrong(50, "no");
  const auto all = paired_bootstrap_diff(TaskMetric::Accuracy, right, wrong, refs);
  EXPECT_EQ(all.diff, 1.0);
  EXPECT_EQ(all.low, 1.0);
  EXPECT_EQ(all.high, 1.0);
  const auto same = paired_bootstrap_diff(TaskMetric::Accuracy, wrong, wrong, refs);
  EXPECT_EQ(same.diff, 0.0);
  EXPECT_EQ(same.low, 0.0);
  EXPECT_EQ(same.high, 0.0);
}

TEST(Bootstrap, BinomialDifferenceMatchesNormalApproximation) {
  // System a is right on 30 of 100 items, b on none: the resampled difference is
  // Binomial(100, 0.3) / 100, whose 95% interval is about 0.3 ± 1.96 √(0.21 / 100) = ±0.0898.
  // Allowed error 0.03: the 0.01 grid of the discrete distribution, the Monte Carlo error of a
  // 2.5% quantile from 2000 resamples (≈ 0.01) and the skew the normal approximation ignores.
  std::vector<std::string> refs(100, "yes"), a(100, "no"), b(100, "no");
  for (size_t i = 0; i < 100; i += 10)
    for (size_t k = 0; k < 3; ++k)
      a[i + k] = "yes";
  BootstrapOptions o;
  o.resamples = 2000;
  o.seed = 7;
  const auto r = paired_bootstrap_diff(TaskMetric::Accuracy, a, b, refs, o);
  EXPECT_NEAR(r.diff, 0.3, 1e-15);
  const double half = 1.959964 * std::sqrt(0.3 * 0.7 / 100);
  EXPECT_NEAR(r.low, 0.3 - half, 0.03);
  EXPECT_NEAR(r.high, 0.3 + half, 0.03);
  EXPECT_LT(r.low, r.diff);
  EXPECT_GT(r.high, r.diff);
  // The same seed gives the same interval.
  const auto again = paired_bootstrap_diff(TaskMetric::Accuracy, a, b, refs, o);
  EXPECT_EQ(again.low, r.low);
  EXPECT_EQ(again.high, r.high);
}

TEST(Bootstrap, RefusesMismatchedInput) {
  EXPECT_THROW(paired_bootstrap_diff(TaskMetric::Accuracy, {"a"}, {"a", "b"}, {"a"}), InputError);
  EXPECT_THROW(paired_bootstrap_diff(TaskMetric::Accuracy, {}, {}, {}), InputError);
  BootstrapOptions o;
  o.level = 1.5;
  EXPECT_THROW(paired_bootstrap_diff(TaskMetric::Accuracy, {"a"}, {"a"}, {"a"}, o), InputError);
}
