#include "model/rotary.h"

#include <algorithm>
#include <cmath>

#include <torch/torch.h>

namespace basin {

namespace {

// YaRN's θ (Peng et al. 2023, §3.2 "NTK-by-parts"; transformers' _compute_yarn_parameters):
// dimension pair i keeps θ_i (extrapolation) below `low`, takes θ_i / factor (interpolation)
// above `high`, and blends linearly in between. The bounds come from the pair whose wavelength
// turns beta_fast (resp. beta_slow) times over the original context L:
// d(r) = dim · ln(L / (2π r)) / (2 ln base), floored / ceiled when truncate, clamped to
// [0, dim − 1].
at::Tensor yarn_inv_freq(const ModelConfig& c, const at::TensorOptions& o) {
  const auto& s = c.rope_scaling;
  const int64_t dim = c.rotary_dim();
  const double base = c.rope_theta;
  const double L =
      double(s.original_max_position_embeddings > 0 ? s.original_max_position_embeddings
                                                    : c.max_position_embeddings);
  const auto correction_dim = [&](double rotations) {
    return double(dim) * std::log(L / (rotations * 2 * M_PI)) / (2 * std::log(base));
  };
  double low = correction_dim(s.beta_fast), high = correction_dim(s.beta_slow);
  if (s.truncate) low = std::floor(low), high = std::ceil(high);
  low = std::max(low, 0.0);
  high = std::min(high, double(dim - 1));
  if (low == high) high += 0.001;  // transformers' guard against a zero-width ramp
  // float32 throughout, in transformers' order of operations.
  const auto f32 = o.dtype(torch::kFloat32);
  const auto pos_freqs = torch::pow(base, torch::arange(0, dim, 2, f32) / double(dim));
  const auto extrapolation = 1.0 / pos_freqs;
  const auto interpolation = 1.0 / (s.factor * pos_freqs);
  const auto ramp = ((torch::arange(dim / 2, f32) - low) / (high - low)).clamp(0, 1);
  const auto keep = 1 - ramp;  // the share of extrapolation
  return interpolation * (1 - keep) + extrapolation * keep;
}

// 0.1 · mscale · ln(s) + 1 for s > 1, else 1 (the paper's √(1/t), eq. 22; DeepSeek's mscale).
double yarn_mscale(double scale, double mscale) {
  return scale <= 1 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

}  // namespace

double rope_attention_factor(const ModelConfig& c) {
  const auto& s = c.rope_scaling;
  if (s.type != "yarn") return 1.0;
  if (s.attention_factor > 0) return s.attention_factor;
  if (s.mscale > 0 && s.mscale_all_dim > 0)
    return yarn_mscale(s.factor, s.mscale) / yarn_mscale(s.factor, s.mscale_all_dim);
  return yarn_mscale(s.factor, 1.0);
}

at::Tensor rope_inv_freq(const ModelConfig& c, int64_t seq_len, const at::TensorOptions& o) {
  const auto& s = c.rope_scaling;
  const int64_t dim = c.rotary_dim();  // partial rotary (Phi-3): only these dims rotate
  if (s.type == "yarn") return yarn_inv_freq(c, o);
  double base = c.rope_theta;
  if (s.type == "dynamic") {
    // Dynamic NTK scaling (bloc97 / emozilla 2023, as transformers'
    // _compute_dynamic_ntk_parameters): base · (factor · L / max_pos − (factor − 1))^(dim / (dim −
    // 2)), L = max(seq_len, max_pos).
    const double L = double(std::max(seq_len, c.max_position_embeddings));
    const double m = double(c.max_position_embeddings);
    base *= std::pow(s.factor * L / m - (s.factor - 1), double(dim) / double(dim - 2));
  }
  // θ_i = base^(−2i / dim) (Su et al. 2021, eq. 15), in float32 as transformers computes it.
  auto inv =
      1.0 / torch::pow(base, torch::arange(0, dim, 2, o.dtype(torch::kFloat32)) / double(dim));
  if (s.type == "linear") return inv / s.factor;  // position interpolation: positions / factor
  if (s.type != "llama3") return inv;
  // Llama 3.1 (Meta's apply_scaling; transformers' _compute_llama3_parameters): wavelengths
  // λ = 2π/θ longer than original/low_freq_factor are divided by factor, shorter than
  // original/high_freq_factor kept, and between them θ blends as (1 − a) θ/factor + a θ with
  // a = (original/λ − low_freq_factor) / (high_freq_factor − low_freq_factor).
  const double orig = double(s.original_max_position_embeddings);
  const double low_wavelen = orig / s.low_freq_factor, high_wavelen = orig / s.high_freq_factor;
  const auto wavelen = (2 * M_PI) / inv;
  const auto a = (orig / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
  const auto blended = (1 - a) * inv / s.factor + a * inv;
  const auto scaled = torch::where(wavelen > low_wavelen, inv / s.factor, inv);
  return torch::where((wavelen >= high_wavelen) & (wavelen <= low_wavelen), blended, scaled);
}

RotaryTables rotary_tables(const ModelConfig& c, const at::Tensor& position_ids, int64_t B,
                           int64_t P, int64_t T, const at::Tensor& real,
                           const at::TensorOptions& o) {
  const auto fopts = o.dtype(torch::kFloat32);
  const auto pos = position_ids.defined() ? position_ids.to(fopts.device(), torch::kFloat32)
                                          : torch::arange(P, P + T, fopts).view({1, T});
  at::Tensor inv;  // [B or 1, 1, head_dim / 2]
  if (c.rope_scaling.type == "dynamic") {
    // Each row's length: 1 + its largest position among real tokens.
    auto p = (position_ids.defined() ? position_ids.to(torch::kCPU, torch::kLong)
                                     : torch::arange(P, P + T, torch::kLong).view({1, T}))
                 .expand({B, T})
                 .clone();
    if (real.defined()) p.masked_fill_(real.to(torch::kCPU, torch::kBool).logical_not(), -1);
    const auto top = T > 0 ? std::get<0>(p.max(1)) : torch::full({B}, -1, torch::kLong);
    const auto ta = top.accessor<int64_t, 1>();
    std::vector<at::Tensor> rows;
    for (int64_t b = 0; b < B; ++b)
      rows.push_back(rope_inv_freq(c, ta[b] + 1, fopts));
    inv = torch::stack(rows).unsqueeze(1);
  } else {
    inv = rope_inv_freq(c, 0, fopts).view({1, 1, -1});
  }
  const auto freqs = pos.unsqueeze(-1) * inv;  // [B or 1, T, head_dim / 2]
  const auto emb = torch::cat({freqs, freqs}, -1);
  const double af = rope_attention_factor(c);  // transformers' attention_scaling
  if (af != 1.0) return {(emb.cos() * af).unsqueeze(1), (emb.sin() * af).unsqueeze(1)};
  return {emb.cos().unsqueeze(1), emb.sin().unsqueeze(1)};
}

at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const int64_t rd = cos.size(-1);
  if (rd < x.size(-1)) {  // partial rotary (transformers' Phi-3): the other dims pass through
    const auto rot = x.narrow(-1, 0, rd);
    return torch::cat({apply_rotary(rot, cos, sin), x.narrow(-1, rd, x.size(-1) - rd)}, -1);
  }
  const int64_t h = x.size(-1) / 2;
  return x * cos + torch::cat({-x.narrow(-1, h, h), x.narrow(-1, 0, h)}, -1) * sin;
}

}  // namespace basin
