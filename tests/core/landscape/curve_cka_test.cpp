// Convexity gap, barriers and CKA on hand-made inputs whose answers were worked out by hand
// (see the comments), plus CKA's invariances (Kornblith et al. 2019, section 3).
#include <cmath>
#include <limits>

#include <gtest/gtest.h>
#include <Eigen/Dense>

#include "analysis/cka.h"
#include "analysis/curve_metrics.h"
#include "jobs/progress.h"
#include "landscape/multitask.h"
#include "util/errors.h"

using namespace basin;

namespace {
const std::vector<double> kT5 = {0.0, 0.25, 0.5, 0.75, 1.0};

Eigen::MatrixXd random_matrix(int rows, int cols, unsigned seed) {
  std::srand(seed);
  return Eigen::MatrixXd::Random(rows, cols);
}
}  // namespace

TEST(CurveMetrics, ConvexCurveHasNoGapAndNoBarrier) {
  std::vector<double> t, y;
  for (int i = 0; i <= 10; ++i) {
    t.push_back(i / 10.0);
    y.push_back((t.back() - 0.3) * (t.back() - 0.3));
  }
  EXPECT_NEAR(convexity_gap(t, y), 0.0, 1e-12);
  EXPECT_NEAR(barrier_height(t, y), 0.0, 1e-12);  // the endpoints touch the chord
  const auto h = lower_convex_hull(t, y);
  for (size_t i = 0; i < t.size(); ++i)
    EXPECT_NEAR(h[i], y[i], 1e-12);
}

TEST(CurveMetrics, OneBump) {
  // y = 1, 1.5, 2, 1.5, 1: hull and chord are the line y = 1; the rise is 1 at t = 0.5.
  const std::vector<double> y = {1, 1.5, 2, 1.5, 1};
  EXPECT_DOUBLE_EQ(convexity_gap(kT5, y), 1.0);
  EXPECT_EQ(convexity_gap_index(kT5, y), 2);
  EXPECT_DOUBLE_EQ(barrier_height(kT5, y), 1.0);
}

TEST(CurveMetrics, TwoBumpsTakeTheHigher) {
  const std::vector<double> y = {0, 1, 0, 3, 0};
  EXPECT_DOUBLE_EQ(convexity_gap(kT5, y), 3.0);
  EXPECT_EQ(convexity_gap_index(kT5, y), 3);
  EXPECT_DOUBLE_EQ(barrier_height(kT5, y), 3.0);
}

TEST(CurveMetrics, DipBelowTheChordSeparatesGapFromBarrier) {
  // y = 1, 0, 1, 2, 1. Chord: y = 1 ⇒ barrier = 2 − 1 = 1 at t = 0.75.
  // Lower hull: (0,1) → (0.25,0) → (1,1), slope 4/3 after 0.25: 1/3 at 0.5, 2/3 at 0.75
  // ⇒ gaps 2/3 and 4/3 ⇒ convexity gap 4/3 at t = 0.75.
  const std::vector<double> y = {1, 0, 1, 2, 1};
  EXPECT_NEAR(convexity_gap(kT5, y), 4.0 / 3.0, 1e-12);
  EXPECT_NEAR(barrier_height(kT5, y), 1.0, 1e-12);
  const auto h = lower_convex_hull(kT5, y);
  EXPECT_NEAR(h[2], 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(h[3], 2.0 / 3.0, 1e-12);
}

TEST(CurveMetrics, NonUniformEndpoints) {
  // y = 2, 2.5, 1.5, 1, 0: chord 2 − 2t ⇒ rises 0, 1, 0.5, 0.5, 0 ⇒ barrier 1; the hull is
  // the same line (every point lies on or above it) ⇒ gap 1 at t = 0.25.
  const std::vector<double> y = {2, 2.5, 1.5, 1, 0};
  EXPECT_NEAR(barrier_height(kT5, y), 1.0, 1e-12);
  EXPECT_NEAR(convexity_gap(kT5, y), 1.0, 1e-12);
  EXPECT_EQ(convexity_gap_index(kT5, y), 1);
}

TEST(CurveMetrics, ExtrapolatedRangeAndMissingEndpoints) {
  // t = −0.5 … 1.5: the barrier only looks at [0, 1] (rise 1 at 0.5); the hull spans all.
  const std::vector<double> t = {-0.5, 0, 0.5, 1, 1.5}, y = {3, 1, 2, 1, 3};
  EXPECT_NEAR(barrier_height(t, y), 1.0, 1e-12);
  EXPECT_NEAR(convexity_gap(t, y), 1.0, 1e-12);
  EXPECT_TRUE(std::isnan(barrier_height({0.1, 0.5, 0.9}, {1, 2, 1})));
  EXPECT_TRUE(std::isnan(error_barrier({0.1, 0.5, 0.9}, {1, 2, 1})));
}

TEST(CurveMetrics, ErrorBarrierIsMaxMinusMeanOfEndpoints) {
  // max over [0,1] = 0.5; mean of endpoints (0.1 + 0.3) / 2 = 0.2 ⇒ 0.3.
  EXPECT_NEAR(error_barrier(kT5, {0.1, 0.3, 0.5, 0.2, 0.3}), 0.3, 1e-12);
  // Monotone path: the worst point is an endpoint ⇒ half the endpoint difference.
  EXPECT_NEAR(error_barrier(kT5, {0.1, 0.2, 0.3, 0.4, 0.5}), 0.2, 1e-12);
}

TEST(CurveMetrics, RejectsBadCurves) {
  EXPECT_THROW(convexity_gap({0, 0.5, 0.5}, {1, 2, 3}), InputError);
  EXPECT_THROW(convexity_gap({0, 1}, {1}), InputError);
  EXPECT_THROW(barrier_height({0, 1}, {1, std::nan("")}), InputError);
}

TEST(Cka, HandCase) {
  // d = 1: linear CKA is the squared correlation. X = 1,2,3,4; Y = 1,1,2,2:
  // Xc = (−1.5, −.5, .5, 1.5), Yc = (−.5, −.5, .5, .5) ⇒ (YcᵀXc)² = 4, XcᵀXc = 5, YcᵀYc = 1
  // ⇒ 4 / 5.
  Eigen::MatrixXd X(4, 1), Y(4, 1), Z(4, 1);
  X << 1, 2, 3, 4;
  Y << 1, 1, 2, 2;
  Z << 1, 0, 0, 1;  // Zc ⊥ Xc ⇒ 0
  EXPECT_NEAR(linear_cka(X, Y), 0.8, 1e-12);
  EXPECT_NEAR(linear_cka(X, Z), 0.0, 1e-12);
  EXPECT_NEAR(linear_cka(X, X), 1.0, 1e-12);
}

TEST(Cka, InvariantToOrthogonalTransformAndIsotropicScale) {
  const Eigen::MatrixXd X = random_matrix(60, 8, 1);
  const Eigen::HouseholderQR<Eigen::MatrixXd> qr(random_matrix(8, 8, 2));
  const Eigen::MatrixXd Q = qr.householderQ();
  const Eigen::MatrixXd Y = 3.7 * X * Q + Eigen::MatrixXd::Constant(60, 8, 5.0);  // + offset
  EXPECT_NEAR(linear_cka(X, Y), 1.0, 1e-10);
  EXPECT_NEAR(linear_cka(X, Y, /*debiased=*/true), 1.0, 1e-10);
  // Not invariant to an arbitrary linear map: stretch one axis a lot.
  Eigen::MatrixXd S = X;
  S.col(0) *= 50.0;
  EXPECT_LT(linear_cka(X, S), 0.9);
}

TEST(Cka, IndependentFeaturesAreNearZero) {
  const Eigen::MatrixXd X = random_matrix(2000, 5, 3), Y = random_matrix(2000, 5, 4);
  EXPECT_LT(linear_cka(X, Y), 0.02);
  EXPECT_LT(std::abs(linear_cka(X, Y, true)), 0.02);
}

TEST(Cka, DebiasedCorrectsTheSmallSampleBias) {
  // With few inputs and many features, biased linear CKA of independent data is far from 0;
  // the debiased estimate stays near 0 on average.
  double biased = 0, debiased = 0;
  for (unsigned s = 0; s < 20; ++s) {
    const Eigen::MatrixXd X = random_matrix(20, 200, 10 + s), Y = random_matrix(20, 200, 50 + s);
    biased += linear_cka(X, Y) / 20;
    debiased += linear_cka(X, Y, true) / 20;
  }
  EXPECT_GT(biased, 0.5);
  EXPECT_LT(std::abs(debiased), 0.1);
}

TEST(Cka, MatrixIsSymmetricWithUnitDiagonalAndChecksRows) {
  const Eigen::MatrixXd X = random_matrix(30, 4, 5), Y = random_matrix(30, 6, 6);
  jobs::NullProgress p;
  const auto m = cka_matrix({X, Y, X * 2.0}, {"x", "y", "2x"}, false, p);
  EXPECT_EQ(m.metric, "cka");
  EXPECT_NEAR(m.values(0, 0), 1.0, 1e-12);
  EXPECT_NEAR(m.values(0, 2), 1.0, 1e-12);
  EXPECT_DOUBLE_EQ(m.values(0, 1), m.values(1, 0));
  EXPECT_NEAR(m.values(0, 1), linear_cka(X, Y), 1e-15);
  EXPECT_THROW(cka_matrix({X, random_matrix(31, 4, 7)}, {"a", "b"}, false, p), InputError);
  EXPECT_THROW(linear_cka(X, random_matrix(31, 4, 7)), InputError);
}

TEST(MultitaskScore, MeanOfScoreOverOracleSkippingTasksTheOracleCannotDo) {
  // (0.4 / 0.8 + 0.5 / 0.5) / 2 = 0.75: the second task (oracle 0) is left out.
  EXPECT_NEAR(
      study_multitask_score({0.4, 0.3, 0.5}, {0.8, 0.0, 0.5}, {"accuracy", "bleu", "accuracy"}),
      0.75, 1e-15);
  // The oracle against itself is 1; a loss counts as oracle / score (2 / 4 = 0.5).
  EXPECT_NEAR(study_multitask_score({0.8, 0.5}, {0.8, 0.5}, {"accuracy", "macro_f1"}), 1.0, 1e-15);
  EXPECT_NEAR(study_multitask_score({4.0}, {2.0}, {"loss"}), 0.5, 1e-15);
  EXPECT_TRUE(std::isnan(study_multitask_score({0.1, 0.2}, {0.0, 0.0}, {"bleu", "bleu"})));
}
