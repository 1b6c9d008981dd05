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
  const int64_t hd = c.head_dim;
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
  auto norm = [&](const at::Tensor& x, const at::Tensor& w) {
    const int64_t n = x.size(0);
    double ms = 0;
    for (int64_t i = 0; i < n; ++i)
      ms += x[i].item<double>() * x[i].item<double>();
    return x / std::sqrt(ms / double(n) + c.rms_norm_eps) * D(w);
  };
  // rotate pairs (i, i + hd/2) by angle position · θ_i
  auto rope = [&](at::Tensor v, int64_t position) {
    at::Tensor out = v.clone();
    for (int64_t i = 0; i < hd / 2; ++i) {
      const double ang = double(position) * inv_freq[static_cast<size_t>(i)];
      const double a = v[i].item<double>(), b = v[i + hd / 2].item<double>();
      out[i] = a * std::cos(ang) - b * std::sin(ang);
      out[i + hd / 2] = b * std::cos(ang) + a * std::sin(ang);
    }
    return out;
  };
  NaiveForward r;
  std::vector<at::Tensor> h(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t)
    h[static_cast<size_t>(t)] =
        D(p.at("model.embed_tokens.weight"))[ids[static_cast<size_t>(t)]].clone();
  r.hidden.push_back(torch::stack(h));
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string pre = "model.layers." + std::to_string(l) + ".";
    // Per-head query/key (after the q/k norm when the model has one, then rotary) and value.
    std::vector<std::vector<at::Tensor>> q(static_cast<size_t>(T)), k(static_cast<size_t>(T)),
        v(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; ++t) {
      tok = t;
      const auto x = norm(h[static_cast<size_t>(t)], p.at(pre + "input_layernorm.weight"));
      const auto qt = proj(pre + "self_attn.q_proj", x), kt = proj(pre + "self_attn.k_proj", x),
                 vt = proj(pre + "self_attn.v_proj", x);
      const auto ts = static_cast<size_t>(t);
      for (int64_t head = 0; head < H; ++head) {
        at::Tensor qh = qt.narrow(0, head * hd, hd);
        if (c.qk_norm()) qh = norm(qh, p.at(pre + "self_attn.q_norm.weight"));
        q[ts].push_back(rope(qh, pos[ts]));
      }
      for (int64_t g = 0; g < KV; ++g) {
        at::Tensor kh = kt.narrow(0, g * hd, hd);
        if (c.qk_norm()) kh = norm(kh, p.at(pre + "self_attn.k_norm.weight"));
        k[ts].push_back(rope(kh, pos[ts]));
        v[ts].push_back(vt.narrow(0, g * hd, hd));
      }
    }
    // A sliding layer sees the keys fewer than `window` tokens back.
    const int64_t window = c.layer_slides(l) ? c.sliding_window : T + 1;
    std::vector<at::Tensor> next(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; ++t) {
      tok = t;
      at::Tensor attn = torch::zeros({H * hd}, torch::kFloat64);
      for (int64_t head = 0; head < H; ++head) {
        const int64_t g = head / (H / KV);  // its key/value head
        const int64_t first = std::max<int64_t>(0, t - window + 1);
        std::vector<double> s;
        for (int64_t u = first; u <= t; ++u)
          s.push_back((q[static_cast<size_t>(t)][static_cast<size_t>(head)] *
                       k[static_cast<size_t>(u)][static_cast<size_t>(g)])
                          .sum()
                          .item<double>() /
                      std::sqrt(double(hd)));
        const double mx = *std::max_element(s.begin(), s.end());
        double z = 0;
        for (double& e : s)
          z += (e = std::exp(e - mx));
        for (int64_t u = first; u <= t; ++u)
          attn.narrow(0, head * hd, hd) += s[static_cast<size_t>(u - first)] / z *
                                           v[static_cast<size_t>(u)][static_cast<size_t>(g)];
      }
      auto res = h[static_cast<size_t>(t)] + proj(pre + "self_attn.o_proj", attn);
      const auto y = norm(res, p.at(pre + "post_attention_layernorm.weight"));
      const auto gate = proj(pre + "mlp.gate_proj", y), up = proj(pre + "mlp.up_proj", y);
      const auto act = gate / (1 + torch::exp(-gate)) * up;
      next[static_cast<size_t>(t)] = res + proj(pre + "mlp.down_proj", act);
    }
    h = next;
    if (l + 1 < c.num_hidden_layers) r.hidden.push_back(torch::stack(h));
  }
  const auto head =
      c.tie_word_embeddings ? D(p.at("model.embed_tokens.weight")) : D(p.at("lm_head.weight"));
  std::vector<at::Tensor> normed, rows;
  for (int64_t t = 0; t < T; ++t) {
    normed.push_back(norm(h[static_cast<size_t>(t)], p.at("model.norm.weight")));
    rows.push_back(head.mv(normed.back()));
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
  return c;
}

CausalLM tiny_decoder(const ModelConfig& c, uint64_t seed) {
  CausalLM m = CausalLM::random(c, seed);
  uint64_t s = seed * 101;
  for (auto& [name, t] : m.parameters()) {
    if (name.find("norm") != std::string::npos)
      t = 1.0 + 0.1 * randn(t.sizes().vec(), ++s);
    else
      t = 0.3 * randn(t.sizes().vec(), ++s);
  }
  return m;
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
