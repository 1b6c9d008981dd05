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

// YaRN (Peng et al. 2023) on head_dim 8, theta 10⁴ (θ_i = 10^−i), factor 4. The pair turning r
// times over the original context L is j(r) = 8 ln(L / 2πr) / (2 ln 10⁴) = log10(L / 2πr).
TEST(RopeScaling, YarnFrequenciesByHand) {
  const auto opts = torch::TensorOptions();
  // (a) L = max positions 64 (no original given), betas 32 / 1, truncated: low =
  // floor(log10(64 / 64π)) = floor(−0.497) → 0, high = ceil(log10(64 / 2π)) = ceil(1.008) = 2, so
  // the share of θ / 4 is i / 2 = 0, ½, 1, 1: θ = 1, ½·0.1 + ½·0.1/4 = 0.0625, 0.0025, 0.00025.
  RopeScaling r{"yarn", 4, 1, 4, 0};
  auto c = config_with(r);
  const std::vector<double> a{1.0, 0.0625, 0.0025, 0.00025};
  // (b) L = 4096, betas 8 / 2, not truncated: low = log10(4096 / 16π) = 1.911090,
  // high − low = log10(4) = 0.602060, so pair 2 takes w = (2 − 1.911090) / 0.602060 = 0.147675
  // of θ / 4: 0.01 · (1 − ¾ w) = 0.008892429 (Debian's python3, float64: 0.008892428802823584).
  RopeScaling free{"yarn", 4, 1, 4, 4096, 0, 0, 0, 8, 2, false};
  auto cf = config_with(free);
  const double w = (2 - std::log10(4096 / (16 * M_PI))) / std::log10(4.0);
  const std::vector<double> b{1.0, 0.1, 0.01 * (1 - 0.75 * w), 0.00025};
  EXPECT_NEAR(b[2], 0.008892428802823584, 1e-15);
  // (c) the same truncated: low = 1, high = 3, shares 0, 0, ½, 1: pair 2 = 0.00625.
  RopeScaling cut = free;
  cut.truncate = true;
  auto cc = config_with(cut);
  const std::vector<double> d{1.0, 0.1, 0.00625, 0.00025};
  for (const auto& [cfg, want] : {std::pair{c, a}, std::pair{cf, b}, std::pair{cc, d}}) {
    const auto got = rope_inv_freq(cfg, 7, opts);
    const auto naive = test::naive_inv_freq(cfg, 7);
    ASSERT_EQ(got.numel(), 4);
    // float32 as transformers computes it: the power, the two reciprocals and the blend round
    // by a few 2⁻²⁴ ≈ 6e-8 each, so 1e-6 relative; the float64 reference to 1e-13.
    for (size_t i = 0; i < 4; ++i) {
      EXPECT_NEAR(got[int64_t(i)].item<double>(), want[i], 1e-6 * want[i]) << i;
      EXPECT_NEAR(naive[i], want[i], 1e-13 * want[i]) << i;
    }
  }
  // Attention factor (on cos and sin): 0.1 ln 4 + 1 = 1.138629 by default; DeepSeek's mscale 1
  // over mscale_all_dim 0.5: 1.138629 / (0.05 ln 4 + 1) = 1.064822; a given attention_factor as
  // is; 1 for factor 1 and for the other scalings.
  EXPECT_NEAR(rope_attention_factor(c), 1.138629436111989, 1e-15);
  EXPECT_NEAR(test::naive_rope_scale(c), 1.138629436111989, 1e-15);
  r.mscale = 1;
  r.mscale_all_dim = 0.5;
  EXPECT_NEAR(rope_attention_factor(config_with(r)), 1.0648216253695715, 1e-15);
  EXPECT_NEAR(test::naive_rope_scale(config_with(r)), 1.0648216253695715, 1e-15);
  r.attention_factor = 0.9;
  EXPECT_EQ(rope_attention_factor(config_with(r)), 0.9);
  EXPECT_EQ(rope_attention_factor(config_with(RopeScaling{"yarn", 1, 1, 4, 0})), 1.0);
  EXPECT_EQ(rope_attention_factor(config_with(RopeScaling{"linear", 4})), 1.0);
  // The tables carry the factor: cos² + sin² = 1.138629² at every position and pair.
  const auto t = rotary_tables(c, at::Tensor(), 1, 100, 7, at::Tensor(), opts);
  const auto norm2 = t.cos * t.cos + t.sin * t.sin;
  EXPECT_LT((norm2 - 1.138629436111989 * 1.138629436111989).abs().max().item<double>(), 1e-5);
}
