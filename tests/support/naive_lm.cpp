#include "naive_lm.h"

#include <algorithm>
#include <cmath>

#include <torch/torch.h>

#include "test_support.h"

namespace basin::test {

at::Tensor D(const at::Tensor& t) {
  return t.to(torch::kFloat64);
}

std::vector<double> naive_inv_freq(const ModelConfig& c, int64_t seq_len) {
  const auto& s = c.rope_scaling;
  const int64_t hd = c.rotary_dim();  // the rotated dims (all of the head but for Phi-3's partial)
  double base = c.rope_theta;
  if (s.type == "dynamic") {  // NTK: the base grows once the sequence outruns max positions
    const double L = double(std::max(seq_len, c.max_position_embeddings)),
                 m = double(c.max_position_embeddings);
    base = base * std::pow(s.factor * L / m - (s.factor - 1), double(hd) / double(hd - 2));
  }
  std::vector<double> out;
  for (int64_t i = 0; i < hd / 2; ++i) {
    double theta = std::pow(base, -2.0 * double(i) / double(hd));
    if (s.type == "linear") theta /= s.factor;
    if (s.type == "yarn") {  // YaRN's NTK-by-parts (Peng et al. 2023, §3.2), as transformers
      // Pair j turns L·θ_j / 2π times over the original context L; the pair with r turns is
      // j(r) = d · ln(L / (2π r)) / (2 ln base). Below j(beta_fast) θ stays, above j(beta_slow)
      // it is θ / s, linear in j in between (bounds floored / ceiled unless truncate is false,
      // then clamped to [0, d − 1]; equal bounds are 0.001 apart).
      const double L =
          double(s.original_max_position_embeddings > 0 ? s.original_max_position_embeddings
                                                        : c.max_position_embeddings);
      const auto j_of = [&](double r) {
        return double(hd) * std::log(L / (2 * M_PI * r)) / (2 * std::log(c.rope_theta));
      };
      double lo = j_of(s.beta_fast), hi = j_of(s.beta_slow);
      if (s.truncate) {
        lo = std::floor(lo);
        hi = std::ceil(hi);
      }
      lo = std::max(0.0, lo);
      hi = std::min(double(hd - 1), hi);
      if (hi == lo) hi = lo + 0.001;
      const double w = std::min(1.0, std::max(0.0, (double(i) - lo) / (hi - lo)));  // 1: θ / s
      theta = w * theta / s.factor + (1 - w) * theta;
    }
    if (s.type == "llama3") {  // Llama 3.1's wavelength bands
      const double wavelen = 2 * M_PI / theta, orig = double(s.original_max_position_embeddings);
      if (wavelen > orig / s.low_freq_factor) {
        theta /= s.factor;
      } else if (wavelen >= orig / s.high_freq_factor) {
        const double a =
            (orig / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
        theta = (1 - a) * theta / s.factor + a * theta;
      }
    }
    out.push_back(theta);
  }
  return out;
}

double naive_rope_scale(const ModelConfig& c) {
  const auto& s = c.rope_scaling;
  if (s.type != "yarn") return 1.0;
  if (s.attention_factor > 0) return s.attention_factor;  // given: used as is
  // The paper's √(1/t) = 0.1 ln s + 1 (eq. 22), DeepSeek's variant with a multiplier m:
  // (0.1 m ln s + 1), as the ratio of mscale's to mscale_all_dim's; 1 when s ≤ 1.
  const auto m = [&](double mult) {
    return s.factor > 1 ? 0.1 * mult * std::log(s.factor) + 1 : 1;
  };
  return s.mscale > 0 ? m(s.mscale) / m(s.mscale_all_dim) : m(1);
}

NaiveForward naive_forward(const ModelConfig& c, const std::map<std::string, at::Tensor>& p,
                           const std::vector<int64_t>& ids, const TokenDeltas& delta_at,
                           const std::vector<int64_t>& positions) {
  const int64_t T = static_cast<int64_t>(ids.size()), d = c.hidden_size, H = c.num_attention_heads,
                KV = c.num_key_value_heads, hd = c.head_dim;
  std::vector<int64_t> pos = positions;
  if (pos.empty())
    for (int64_t t = 0; t < T; ++t)
      pos.push_back(t);
  const auto inv_freq = naive_inv_freq(c, *std::max_element(pos.begin(), pos.end()) + 1);
  const int64_t rd = c.rotary_dim();
  // Gemma 3's sliding layers: θ_i = local_base^(−2i / d), no scaling.
  std::vector<double> inv_local;
  for (int64_t i = 0; i < rd / 2; ++i)
    inv_local.push_back(std::pow(c.rope_local_base_freq, -2.0 * double(i) / double(rd)));
  int64_t tok = 0;  // the token whose projections are being computed
  auto W = [&](const std::string& name) {
    at::Tensor w = D(p.at(name + ".weight"));
    if (delta_at) {
      const at::Tensor dlt = delta_at(name, tok);
      if (dlt.defined()) w = w + dlt;
    }
    return w;
  };
  // y = W x + b, with the bias when the model has one.
  auto proj = [&](const std::string& name, const at::Tensor& x) {
    at::Tensor y = W(name).mv(x);
    return p.count(name + ".bias") ? y + D(p.at(name + ".bias")) : y;
  };
  // RMSNorm; Gemma multiplies by (1 + w).
  auto norm = [&](const at::Tensor& x, const at::Tensor& w) {
    const int64_t n = x.size(0);
    double ms = 0;
    for (int64_t i = 0; i < n; ++i)
      ms += x[i].item<double>() * x[i].item<double>();
    return x / std::sqrt(ms / double(n) + c.rms_norm_eps) * (c.gemma() ? 1 + D(w) : D(w));
  };
  // rotate pairs (i, i + rd/2), i < rd/2, by angle position · θ_i; dims from rd on stay
  // (scaled by YaRN's attention factor on the global layers)
  const double rope_scale = naive_rope_scale(c);
  auto rope = [&](at::Tensor v, int64_t position, const std::vector<double>& theta) {
    const double g = &theta == &inv_freq ? rope_scale : 1.0;
    at::Tensor out = v.clone();
    for (int64_t i = 0; i < rd / 2; ++i) {
      const double ang = double(position) * theta[static_cast<size_t>(i)];
      const double a = v[i].item<double>(), b = v[i + rd / 2].item<double>();
      out[i] = g * (a * std::cos(ang) - b * std::sin(ang));
      out[i + rd / 2] = g * (b * std::cos(ang) + a * std::sin(ang));
    }
    return out;
  };
  // cap · tanh(x / cap) when cap > 0
  auto softcap = [](double x, double cap) { return cap > 0 ? cap * std::tanh(x / cap) : x; };
  // GELU, tanh approximation (Hendrycks & Gimpel 2016): 0.5 g (1 + tanh(√(2/π)(g + 0.044715 g³)))
  auto gelu_tanh = [](const at::Tensor& g) {
    return 0.5 * g * (1 + torch::tanh(std::sqrt(2.0 / M_PI) * (g + 0.044715 * g * g * g)));
  };
  NaiveForward r;
  std::vector<at::Tensor> h(static_cast<size_t>(T));
  // Gemma scales the embeddings by √d.
  const double embed_scale = c.gemma() ? std::sqrt(double(d)) : 1.0;
  for (int64_t t = 0; t < T; ++t)
    h[static_cast<size_t>(t)] =
        D(p.at("model.embed_tokens.weight"))[ids[static_cast<size_t>(t)]] * embed_scale;
  r.hidden.push_back(torch::stack(h));
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string pre = "model.layers." + std::to_string(l) + ".";
    // Per-head query/key (after the q/k norm when the model has one, then rotary) and value.
    std::vector<std::vector<at::Tensor>> q(static_cast<size_t>(T)), k(static_cast<size_t>(T)),
        v(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; ++t) {
      tok = t;
      const auto x = norm(h[static_cast<size_t>(t)], p.at(pre + "input_layernorm.weight"));
      at::Tensor qt, kt, vt;
      if (c.fused_projections()) {  // Phi-3: qkv_proj's rows are q, then k, then v
        const auto qkv = proj(pre + "self_attn.qkv_proj", x);
        qt = qkv.narrow(0, 0, H * hd);
        kt = qkv.narrow(0, H * hd, KV * hd);
        vt = qkv.narrow(0, (H + KV) * hd, KV * hd);
      } else {
        qt = proj(pre + "self_attn.q_proj", x);
        kt = proj(pre + "self_attn.k_proj", x);
        vt = proj(pre + "self_attn.v_proj", x);
      }
      const auto ts = static_cast<size_t>(t);
      // Gemma 3's sliding layers rotate with the local base.
      const auto& theta = c.rope_local_base_freq > 0 && c.layer_slides(l) ? inv_local : inv_freq;
      for (int64_t head = 0; head < H; ++head) {
        at::Tensor qh = qt.narrow(0, head * hd, hd);
        if (c.qk_norm()) qh = norm(qh, p.at(pre + "self_attn.q_norm.weight"));
        q[ts].push_back(rope(qh, pos[ts], theta));
      }
      for (int64_t g = 0; g < KV; ++g) {
        at::Tensor kh = kt.narrow(0, g * hd, hd);
        if (c.qk_norm()) kh = norm(kh, p.at(pre + "self_attn.k_norm.weight"));
        k[ts].push_back(rope(kh, pos[ts], theta));
        v[ts].push_back(vt.narrow(0, g * hd, hd));
      }
    }
    // A sliding layer sees the keys fewer than `window` tokens back.
    const int64_t window = c.layer_slides(l) ? c.sliding_window : T + 1;
    // Scores q·k / √scalar: head_dim, or Gemma's query_pre_attn_scalar.
    const double scalar = c.query_pre_attn_scalar > 0 ? c.query_pre_attn_scalar : double(hd);
    std::vector<at::Tensor> next(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; ++t) {
      tok = t;
      at::Tensor attn = torch::zeros({H * hd}, torch::kFloat64);
      for (int64_t head = 0; head < H; ++head) {
        const int64_t g = head / (H / KV);  // its key/value head
        const int64_t first = std::max<int64_t>(0, t - window + 1);
        std::vector<double> s;
        for (int64_t u = first; u <= t; ++u)
          s.push_back(softcap((q[static_cast<size_t>(t)][static_cast<size_t>(head)] *
                               k[static_cast<size_t>(u)][static_cast<size_t>(g)])
                                      .sum()
                                      .item<double>() /
                                  std::sqrt(scalar),
                              c.attn_logit_softcapping));
        const double mx = *std::max_element(s.begin(), s.end());
        double z = 0;
        for (double& e : s)
          z += (e = std::exp(e - mx));
        for (int64_t u = first; u <= t; ++u)
          attn.narrow(0, head * hd, hd) += s[static_cast<size_t>(u - first)] / z *
                                           v[static_cast<size_t>(u)][static_cast<size_t>(g)];
      }
      at::Tensor o = proj(pre + "self_attn.o_proj", attn);
      if (c.gemma()) o = norm(o, p.at(pre + "post_attention_layernorm.weight"));
      const auto res = h[static_cast<size_t>(t)] + o;
      const auto y = norm(res, p.at(pre + (c.gemma() ? "pre_feedforward_layernorm.weight"
                                                     : "post_attention_layernorm.weight")));
      at::Tensor gate, up;
      if (c.fused_projections()) {  // Phi-3: gate_up_proj's rows are gate, then up
        const auto gu = proj(pre + "mlp.gate_up_proj", y);
        gate = gu.narrow(0, 0, c.intermediate_size);
        up = gu.narrow(0, c.intermediate_size, c.intermediate_size);
      } else {
        gate = proj(pre + "mlp.gate_proj", y);
        up = proj(pre + "mlp.up_proj", y);
      }
      const auto act =
          (c.hidden_act == "gelu_pytorch_tanh" ? gelu_tanh(gate) : gate / (1 + torch::exp(-gate))) *
          up;
      at::Tensor m = proj(pre + "mlp.down_proj", act);
      if (c.gemma()) m = norm(m, p.at(pre + "post_feedforward_layernorm.weight"));
      next[static_cast<size_t>(t)] = res + m;
    }
    h = next;
    if (l + 1 < c.num_hidden_layers) r.hidden.push_back(torch::stack(h));
  }
  const auto head =
      c.tie_word_embeddings ? D(p.at("model.embed_tokens.weight")) : D(p.at("lm_head.weight"));
  std::vector<at::Tensor> normed, rows;
  for (int64_t t = 0; t < T; ++t) {
    normed.push_back(norm(h[static_cast<size_t>(t)], p.at("model.norm.weight")));
    at::Tensor z = head.mv(normed.back());
    if (c.final_logit_softcapping > 0)  // Gemma: cap · tanh(z / cap)
      z = c.final_logit_softcapping * torch::tanh(z / c.final_logit_softcapping);
    rows.push_back(z);
  }
  r.hidden.push_back(torch::stack(normed));
  r.logits = torch::stack(rows);
  return r;
}

at::Tensor naive_logits(const ModelConfig& c, const std::map<std::string, at::Tensor>& p,
                        const std::vector<int64_t>& ids, const TokenDeltas& delta_at) {
  return naive_forward(c, p, ids, delta_at).logits;
}

at::Tensor naive_logits(const ModelConfig& c, const std::map<std::string, at::Tensor>& p,
                        const std::vector<int64_t>& ids,
                        const std::map<std::string, at::Tensor>& deltas) {
  return naive_logits(c, p, ids, [&](const std::string& name, int64_t) {
    const auto it = deltas.find(name);
    return it == deltas.end() ? at::Tensor() : it->second;
  });
}

ModelConfig tiny_decoder_config(const std::string& type, bool tied) {
  ModelConfig c;
  c.model_type = type;
  c.vocab_size = 37;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 4;
  c.rms_norm_eps = 1e-6;
  c.rope_theta = 10000.0;
  c.tie_word_embeddings = tied;
  c.attention_bias = type == "qwen2";
  if (c.gemma()) {  // transformers' Gemma defaults where they matter at this size
    c.hidden_act = "gelu_pytorch_tanh";
    c.query_pre_attn_scalar = 8;  // ≠ head_dim 4, so the scale matters
    c.sliding_window = 3;
    c.sliding_layers = {true, false};  // both patterns start with a sliding layer
  }
  if (type == "gemma2") {
    c.attn_logit_softcapping = 2.0;  // small caps, so that they bend these small scores
    c.final_logit_softcapping = 3.0;
  }
  if (type == "gemma3_text") {
    c.rope_theta = 1e6;
    c.rope_local_base_freq = 10.0;  // far from the global base: the layers differ
  }
  return c;
}

CausalLM tiny_decoder(const ModelConfig& c, uint64_t seed) {
  CausalLM m = CausalLM::random(c, seed);
  uint64_t s = seed * 101;
  for (auto& [name, t] : m.parameters()) {
    if (name.find("norm") != std::string::npos)  // Gemma's (1 + w): w near 0
      t = (c.gemma() ? 0.0 : 1.0) + 0.1 * randn(t.sizes().vec(), ++s);
    else
      t = 0.3 * randn(t.sizes().vec(), ++s);
  }
  return m;
}

double reference_error(CausalLM m, const std::vector<int64_t>& ids,
                       const std::vector<int64_t>& positions,
                       std::shared_ptr<const Adapter> adapter) {
  const auto& c = m.config();
  const auto x = torch::tensor(ids).view({1, -1});
  if (!adapter) adapter = random_lora(m, "a", 2, 4.0, 77);
  double worst = 0;
  for (bool lora : {false, true}) {
    TokenDeltas deltas;
    CausalLM::ForwardOptions o;
    o.position_ids = torch::tensor(positions).view({1, -1});
    if (lora) {
      m.set_lora_bank({adapter});
      o.lora_coeffs = torch::tensor(std::vector<float>{0.8f}).view({1, 1});
      deltas = [&](const std::string& name, int64_t) {
        for (const auto& mod : adapter->modules)
          if (mod.name == name) return D(mod.B).mm(D(mod.A)) * (0.8 * mod.scale);
        return at::Tensor();
      };
    }
    const auto want = naive_forward(c, m.parameters(), ids, deltas, positions);
    for (int64_t layer : {int64_t{1}, c.num_hidden_layers}) {
      o.output_layer = static_cast<int>(layer);
      const auto r = m.forward(x, o);
      worst = std::max(worst, rel_err(r.hidden[0], want.hidden[static_cast<size_t>(layer)]));
      worst = std::max(worst, rel_err(r.logits[0], want.logits));
    }
  }
  return worst;
}

std::shared_ptr<Adapter> random_lora(const CausalLM& m, const std::string& name, int64_t r,
                                     double alpha, uint64_t seed, const std::string& only) {
  auto a = std::make_shared<Adapter>();
  a->name = name;
  for (const auto& target : m.lora_targets()) {
    if (!only.empty() && target.find(only) == std::string::npos) continue;
    const auto& W = m.parameters().at(target + ".weight");
    LoraModule mod;
    mod.name = target;
    mod.A = 0.3 * randn({r, W.size(1)}, ++seed);
    mod.B = 0.3 * randn({W.size(0), r}, ++seed);
    mod.alpha = alpha;
    mod.scale = alpha / double(r);
    a->modules.push_back(mod);
  }
  return a;
}

}  // namespace basin::test
