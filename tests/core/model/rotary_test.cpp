// Rotary frequencies with each scaling against values worked by hand from the formulas (and
// against the naive reference's own θ_i).
#include <gtest/gtest.h>

#include <cmath>

#include <torch/torch.h>

#include "model/rotary.h"
#include "naive_lm.h"
#include "test_support.h"

using namespace basin;

namespace {

// head_dim 8 at theta 10⁴: θ_i = 1, 0.1, 0.01, 0.001 (wavelengths 6.3, 63, 628, 6283).
ModelConfig config_with(const RopeScaling& rope) {
  auto c = test::tiny_decoder_config("llama");
  c.head_dim = 8;
  c.max_position_embeddings = 64;
  c.rope_scaling = rope;
  return c;
}

}  // namespace

TEST(RopeScaling, Llama3FrequenciesByBand) {
  RopeScaling r;
  r.type = "llama3";
  r.factor = 8;
  r.low_freq_factor = 1;
  r.high_freq_factor = 8;
  r.original_max_position_embeddings = 256;
  const auto c = config_with(r);
  const auto got = rope_inv_freq(c, 7, torch::TensorOptions());
  // By hand: θ = 1 kept; θ = 0.1 has λ = 62.83, a = (256/62.83 − 1)/7 = 0.4392, so
  // (1 − a)·0.1/8 + a·0.1 = 0.05093; θ = 0.01 and 0.001 divided by 8.
  const double a = (256 / (2 * M_PI / 0.1) - 1) / 7;
  const std::vector<double> want{1.0, (1 - a) * 0.1 / 8 + a * 0.1, 0.01 / 8, 0.001 / 8};
  ASSERT_EQ(got.numel(), 4);
  // float32 as transformers computes it: a few roundings of 2⁻²⁴ ≈ 6e-8 through the power,
  // the wavelength and the blend, so 1e-6 relative.
  for (int i = 0; i < 4; ++i)
    EXPECT_NEAR(got[i].item<double>(), want[static_cast<size_t>(i)], 1e-6 * want[size_t(i)]) << i;
  EXPECT_NEAR(want[1], 0.05093, 1e-5);
  const auto naive = test::naive_inv_freq(c, 7);
  for (int i = 0; i < 4; ++i)
    EXPECT_NEAR(naive[static_cast<size_t>(i)], want[static_cast<size_t>(i)], 1e-15);
}

TEST(RopeScaling, DynamicNtkRescalesTheBaseOnlyPastMaxPositions) {
  RopeScaling r;
  r.type = "dynamic";
  r.factor = 2;
  const auto c = config_with(r);  // max positions 64, head_dim 8
  const auto opts = torch::TensorOptions();
  // Up to 64 tokens: the plain frequencies; 107 tokens: base · (2·107/64 − 1)^(8/6).
  EXPECT_LT(
      test::rel_err(rope_inv_freq(c, 64, opts), rope_inv_freq(config_with(RopeScaling{}), 0, opts)),
      1e-7);
  const double base = 1e4 * std::pow(2.0 * 107 / 64 - 1, 8.0 / 6.0);
  const auto got = rope_inv_freq(c, 107, opts);
  for (int i = 0; i < 4; ++i)
    EXPECT_NEAR(got[i].item<double>(), std::pow(base, -i / 4.0), 1e-6 * std::pow(base, -i / 4.0));
}
