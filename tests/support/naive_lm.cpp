#include "naive_lm.h"

#include <cmath>

#include <torch/torch.h>

#include "test_support.h"

namespace basin::test {

at::Tensor D(const at::Tensor& t) {
  return t.to(torch::kFloat64);
}

at::Tensor naive_logits(const ModelConfig& c, const std::map<std::string, at::Tensor>& p,
                        const std::vector<int64_t>& ids, const TokenDeltas& delta_at) {
  const int64_t T = static_cast<int64_t>(ids.size()), d = c.hidden_size, H = c.num_attention_heads,
                KV = c.num_key_value_heads, hd = c.head_dim;
  int64_t tok = 0;  // the token whose projections are being computed
  auto W = [&](const std::string& name) {
    at::Tensor w = D(p.at(name + ".weight"));
    if (delta_at) {
      const at::Tensor dlt = delta_at(name, tok);
      if (dlt.defined()) w = w + dlt;
    }
    return w;
  };
  auto bias = [&](const std::string& name) {
    return p.count(name + ".bias")
               ? D(p.at(name + ".bias"))
               : torch::zeros({D(p.at(name + ".weight")).size(0)}, torch::kFloat64);
  };
  auto norm = [&](const at::Tensor& x, const at::Tensor& w) {
    double ms = 0;
    for (int64_t i = 0; i < d; ++i)
      ms += x[i].item<double>() * x[i].item<double>();
    return x / std::sqrt(ms / d + c.rms_norm_eps) * D(w);
  };
  // rotate pairs (i, i + hd/2) by angle pos · theta^(-2i/hd)
  auto rope = [&](at::Tensor v, int64_t pos) {
    at::Tensor out = v.clone();
    for (int64_t i = 0; i < hd / 2; ++i) {
      const double ang = pos * std::pow(c.rope_theta, -2.0 * i / hd);
      const double a = v[i].item<double>(), b = v[i + hd / 2].item<double>();
      out[i] = a * std::cos(ang) - b * std::sin(ang);
      out[i + hd / 2] = b * std::cos(ang) + a * std::sin(ang);
    }
    return out;
  };
  std::vector<at::Tensor> h(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t)
    h[static_cast<size_t>(t)] =
        D(p.at("model.embed_tokens.weight"))[ids[static_cast<size_t>(t)]].clone();
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string pre = "model.layers." + std::to_string(l) + ".";
    std::vector<at::Tensor> q(static_cast<size_t>(T)), k(static_cast<size_t>(T)),
        v(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; ++t) {
      tok = t;
      const auto x = norm(h[static_cast<size_t>(t)], p.at(pre + "input_layernorm.weight"));
      q[static_cast<size_t>(t)] =
          W(pre + "self_attn.q_proj").mv(x) + bias(pre + "self_attn.q_proj");
      k[static_cast<size_t>(t)] =
          W(pre + "self_attn.k_proj").mv(x) + bias(pre + "self_attn.k_proj");
      v[static_cast<size_t>(t)] =
          W(pre + "self_attn.v_proj").mv(x) + bias(pre + "self_attn.v_proj");
    }
    std::vector<at::Tensor> next(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; ++t) {
      tok = t;
      at::Tensor attn = torch::zeros({H * hd}, torch::kFloat64);
      for (int64_t head = 0; head < H; ++head) {
        const int64_t g = head / (H / KV);  // its key/value head
        const auto qh = rope(q[static_cast<size_t>(t)].narrow(0, head * hd, hd), t);
        std::vector<double> s;
        for (int64_t u = 0; u <= t; ++u) {
          const auto kh = rope(k[static_cast<size_t>(u)].narrow(0, g * hd, hd), u);
          s.push_back((qh * kh).sum().item<double>() / std::sqrt(double(hd)));
        }
        const double mx = *std::max_element(s.begin(), s.end());
        double z = 0;
        for (double& e : s)
          z += (e = std::exp(e - mx));
        for (int64_t u = 0; u <= t; ++u)
          attn.narrow(0, head * hd, hd) +=
              s[static_cast<size_t>(u)] / z * v[static_cast<size_t>(u)].narrow(0, g * hd, hd);
      }
      auto r = h[static_cast<size_t>(t)] + W(pre + "self_attn.o_proj").mv(attn);
      const auto y = norm(r, p.at(pre + "post_attention_layernorm.weight"));
      const auto gate = W(pre + "mlp.gate_proj").mv(y), up = W(pre + "mlp.up_proj").mv(y);
      const auto act = gate / (1 + torch::exp(-gate)) * up;
      next[static_cast<size_t>(t)] = r + W(pre + "mlp.down_proj").mv(act);
    }
    h = next;
  }
  const auto head =
      c.tie_word_embeddings ? D(p.at("model.embed_tokens.weight")) : D(p.at("lm_head.weight"));
  std::vector<at::Tensor> rows;
  for (int64_t t = 0; t < T; ++t)
    rows.push_back(head.mv(norm(h[static_cast<size_t>(t)], p.at("model.norm.weight"))));
  return torch::stack(rows);
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
