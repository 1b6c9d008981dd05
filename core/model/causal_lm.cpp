#include "model/causal_lm.h"

#include <cmath>
#include <set>

#include <ATen/autocast_mode.h>
#include <torch/version.h>
#include <nlohmann/json.hpp>

#include "io/json_file.h"
#include "io/safetensors.h"
#include "io/tensor_torch.h"
#include "model/rotary.h"
#include "util/atomic_file.h"
#include "util/errors.h"
#include "util/runtime.h"
#include "util/strings.h"

namespace fs = std::filesystem;

namespace basin {
namespace {

// Expected shape of every parameter, by name.
std::map<std::string, std::vector<int64_t>> parameter_shapes(const ModelConfig& c) {
  std::map<std::string, std::vector<int64_t>> s;
  const int64_t d = c.hidden_size, q = c.num_attention_heads * c.head_dim,
                kv = c.num_key_value_heads * c.head_dim, I = c.intermediate_size;
  s["model.embed_tokens.weight"] = {c.vocab_size, d};
  s["model.norm.weight"] = {d};
  if (!c.tie_word_embeddings) s["lm_head.weight"] = {c.vocab_size, d};
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    s[p + "input_layernorm.weight"] = {d};
    s[p + "post_attention_layernorm.weight"] = {d};
    if (c.gemma()) {  // Gemma 2 / 3: the MLP's input and output norms
      s[p + "pre_feedforward_layernorm.weight"] = {d};
      s[p + "post_feedforward_layernorm.weight"] = {d};
    }
    if (c.fused_projections()) {  // Phi-3 (no biases)
      s[p + "self_attn.qkv_proj.weight"] = {q + 2 * kv, d};
      s[p + "self_attn.o_proj.weight"] = {d, q};
      s[p + "mlp.gate_up_proj.weight"] = {2 * I, d};
      s[p + "mlp.down_proj.weight"] = {d, I};
      continue;
    }
    s[p + "self_attn.q_proj.weight"] = {q, d};
    s[p + "self_attn.k_proj.weight"] = {kv, d};
    s[p + "self_attn.v_proj.weight"] = {kv, d};
    s[p + "self_attn.o_proj.weight"] = {d, q};
    if (c.attention_bias) {
      s[p + "self_attn.q_proj.bias"] = {q};
      s[p + "self_attn.k_proj.bias"] = {kv};
      s[p + "self_attn.v_proj.bias"] = {kv};
    }
    if (c.o_proj_bias()) s[p + "self_attn.o_proj.bias"] = {d};
    if (c.qk_norm()) {
      s[p + "self_attn.q_norm.weight"] = {c.head_dim};
      s[p + "self_attn.k_norm.weight"] = {c.head_dim};
    }
    s[p + "mlp.gate_proj.weight"] = {I, d};
    s[p + "mlp.up_proj.weight"] = {I, d};
    s[p + "mlp.down_proj.weight"] = {d, I};
    if (c.mlp_bias) {
      s[p + "mlp.gate_proj.bias"] = {I};
      s[p + "mlp.up_proj.bias"] = {I};
      s[p + "mlp.down_proj.bias"] = {d};
    }
  }
  return s;
}

// "cpu" or "cuda[:N]" (as compute_device_name gives it); resolve_device checked the choice.
torch::Device to_device(const std::string& d) {
  if (d == "cpu") return torch::Device(torch::kCPU);
  return torch::Device(resolve_device(d, cuda_device_count(), -1));
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

const at::Tensor& CausalLM::param(const std::string& name) const {
  const auto it = params_.find(name);
  if (it == params_.end()) throw Error("internal: missing parameter " + name);
  return it->second;
}

std::vector<std::string> CausalLM::lora_targets() const {
  std::vector<std::string> out;
  for (int64_t l = 0; l < config_.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    if (config_.fused_projections()) {  // Phi-3: PEFT targets the fused layers by these names
      for (const char* m :
           {"self_attn.qkv_proj", "self_attn.o_proj", "mlp.gate_up_proj", "mlp.down_proj"})
        out.push_back(p + m);
      continue;
    }
    for (const char* m : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                          "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"})
      out.push_back(p + m);
  }
  return out;
}

CausalLM CausalLM::load(const fs::path& dir, const std::string& device) {
  CausalLM m;
  m.config_ = ModelConfig::load(dir);
  m.device_ = device;
  const auto dev = to_device(device);
  // Single file or shards listed in the index's weight_map.
  std::vector<fs::path> files;
  if (fs::exists(dir / "model.safetensors")) {
    files.push_back(dir / "model.safetensors");
  } else if (fs::exists(dir / "model.safetensors.index.json")) {
    const auto index = read_json_file(dir / "model.safetensors.index.json");
    if (!index.contains("weight_map") || !index["weight_map"].is_object())
      throw InputError("'" + (dir / "model.safetensors.index.json").string() +
                       "' has no weight_map");
    std::set<std::string> shards;
    for (const auto& [k, v] : index["weight_map"].items()) {
      if (!v.is_string()) throw InputError("weight_map entry for '" + k + "' is not a file name");
      shards.insert(v.get<std::string>());
    }
    for (const auto& s : shards)
      files.push_back(dir / s);
  } else {
    throw InputError("no model.safetensors or model.safetensors.index.json in '" + dir.string() +
                     "'");
  }
  const auto expected = parameter_shapes(m.config_);
  for (const auto& f : files) {
    const SafetensorsReader reader(f);
    for (const auto& t : reader.tensors()) {
      const auto it = expected.find(t.name);
      if (it == expected.end()) {
        // Rotary inv_freq buffers some exporters write, and a tied head transformers ignores,
        // change nothing; any other tensor means an architecture config.json does not describe.
        if (ends_with(t.name, "rotary_emb.inv_freq") ||
            (t.name == "lm_head.weight" && m.config_.tie_word_embeddings))
          continue;
        throw InputError("'" + f.string() + "': tensor '" + excerpt(t.name) +
                         "' is not part of a " + m.config_.model_type +
                         " model as config.json describes it (a key Basin does not know?)");
      }
      if (t.shape != it->second)
        throw InputError("'" + f.string() + "': tensor '" + t.name + "' has shape " +
                         format_shape(t.shape) + " but config.json implies " +
                         format_shape(it->second));
      if (!is_floating(t.dtype))
        throw InputError("'" + f.string() + "': tensor '" + t.name + "' is not floating point");
      m.params_[t.name] = tensor_view(reader, t).to(dev, torch::kFloat32).contiguous();
    }
  }
  std::vector<std::string> missing;
  for (const auto& [name, shape] : expected)
    if (!m.params_.count(name)) missing.push_back(name);
  if (!missing.empty())
    throw InputError("model in '" + dir.string() + "' lacks " + std::to_string(missing.size()) +
                     " tensor(s), e.g. '" + missing.front() + "'");
  return m;
}

CausalLM CausalLM::random(const ModelConfig& config, uint64_t seed, const std::string& device) {
  config.validate("model config");
  CausalLM m;
  m.config_ = config;
  m.device_ = device;
  auto gen = at::detail::createCPUGenerator(seed);
  for (const auto& [name, shape] : parameter_shapes(config)) {
    at::Tensor t;
    if (name.find("norm") != std::string::npos)
      t = config.gemma() ? torch::zeros(shape) : torch::ones(shape);  // Gemma scales by 1 + w
    else if (name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0)
      t = torch::zeros(shape);
    else
      t = torch::randn(shape, gen, torch::kFloat32) * 0.02;
    m.params_[name] = t.to(to_device(device));
  }
  return m;
}

void CausalLM::save(const fs::path& dir, bool overwrite) const {
  std::vector<at::Tensor> keep;
  std::vector<TensorBytes> tensors;
  for (const auto& [name, t] : params_) {
    keep.push_back(t.to(torch::kCPU, torch::kFloat32).contiguous());
    tensors.push_back(tensor_bytes(name, keep.back()));
  }
  write_folder_atomic(dir, overwrite, [&](const fs::path& tmp) {
    write_safetensors(tmp / "model.safetensors", tensors, {{"format", "pt"}});
    write_json_file(tmp / "config.json", config_.to_json());
  });
}

at::Tensor CausalLM::last_layer_at(const at::Tensor& pos, const at::Tensor& h, const at::Tensor& x,
                                   const at::Tensor& cos, const at::Tensor& sin,
                                   const at::Tensor& allowed, const Mix& mix, int64_t l) const {
  const auto& c = config_;
  const int64_t B = h.size(0), T = h.size(1), d = c.hidden_size, N = pos.numel();
  const int64_t H = c.num_attention_heads, KV = c.num_key_value_heads, hd = c.head_dim;
  const std::string p = "model.layers." + std::to_string(l) + ".";
  const auto rows = torch::div(pos, T, "floor");
  // The picked rows' mix: their own coefficient rows; groups only while the picked rows still
  // form equal, contiguous groups in group order (an evaluator's points share their examples).
  Mix pm = mix;
  if (mix.coeffs.defined()) pm.coeffs = mix.coeffs.index_select(0, rows);
  if (mix.groups > 0) {
    const auto g = torch::div(rows, B / mix.groups, "floor").cpu();
    const auto expected = torch::arange(mix.groups, torch::kLong)
                              .repeat_interleave(N % mix.groups == 0 ? N / mix.groups : 1);
    pm.groups = N % mix.groups == 0 && g.equal(expected) ? mix.groups : 0;
  }
  const auto pick = [&](const at::Tensor& t, int64_t width) {  // [B, T, ...] -> [N, 1, width]
    return t.expand({B, t.size(1), T, width})
        .transpose(1, 2)
        .reshape({B * T, -1})
        .index_select(0, pos);
  };
  // Keys and values at every position; queries only at the picked ones (Phi-3's fused
  // projection gives them everywhere: the picked rows are taken from it).
  const auto [qf, kf, vf] = project_qkv(p, l, x, mix, false);
  auto k = kf.view({B, T, KV, hd}).transpose(1, 2);
  auto v = vf.view({B, T, KV, hd}).transpose(1, 2);
  if (c.qk_norm()) k = norm(k, p + "self_attn.k_norm.weight");
  k = apply_rotary(k, cos, sin);
  const auto xp = x.reshape({B * T, d}).index_select(0, pos).unsqueeze(1);  // [N, 1, d]
  auto q = (qf.defined() ? qf.reshape({B * T, H * hd}).index_select(0, pos)
                         : linear(p + "self_attn.q_proj", l, xp, pm))
               .view({N, H, 1, hd});
  const int64_t rd = cos.size(-1);  // rotary dims
  const auto cp = pick(cos, rd).view({N, 1, 1, rd}), sp = pick(sin, rd).view({N, 1, 1, rd});
  if (c.qk_norm()) q = norm(q, p + "self_attn.q_norm.weight");
  q = apply_rotary(q, cp, sp);
  k = k.index_select(0, rows);  // [N, KV, T, hd]
  v = v.index_select(0, rows);
  if (KV != H) {
    k = k.repeat_interleave(H / KV, 1);
    v = v.repeat_interleave(H / KV, 1);
  }
  const auto ok = allowed.expand({B, 1, T, T}).reshape({B * T, T}).index_select(0, pos);
  auto scores = attention_scores(q, k);  // [N, H, 1, T]
  scores = scores.masked_fill(ok.view({N, 1, 1, T}).logical_not(),
                              -std::numeric_limits<float>::infinity());
  const auto probs = torch::softmax(scores, -1).nan_to_num(0.0);
  const auto attn = torch::matmul(probs, v).reshape({N, 1, H * hd});
  const auto hp = h.reshape({B * T, d}).index_select(0, pos).unsqueeze(1);
  return finish_block(p, l, hp, attn, pm).squeeze(1);
}

namespace {
// Autocast to bfloat16 on the calling thread (its dispatch state is per thread), restored after.
// LibTorch 2.4 made the calls device-typed (and deprecated the CPU/CUDA-named ones, which then
// warn on every call); Debian's 1.13 has only the named ones.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define BASIN_AUTOCAST_BY_DEVICE 1
#endif
class Bf16Autocast {
 public:
  explicit Bf16Autocast(c10::DeviceType device)
      : cuda_(device == c10::kCUDA), was_enabled_(enabled()), was_dtype_(dtype()) {
    set(true, at::kBFloat16);
  }
  ~Bf16Autocast() {
    set(was_enabled_, was_dtype_);
    if (!was_enabled_) at::autocast::clear_cache();
  }
  Bf16Autocast(const Bf16Autocast&) = delete;
  Bf16Autocast& operator=(const Bf16Autocast&) = delete;

 private:
#ifdef BASIN_AUTOCAST_BY_DEVICE
  c10::DeviceType type() const {
    return cuda_ ? c10::kCUDA : c10::kCPU;
  }
  bool enabled() const {
    return at::autocast::is_autocast_enabled(type());
  }
  at::ScalarType dtype() const {
    return at::autocast::get_autocast_dtype(type());
  }
  void set(bool enabled, at::ScalarType dtype) const {
    at::autocast::set_autocast_dtype(type(), dtype);
    at::autocast::set_autocast_enabled(type(), enabled);
  }
#else
  bool enabled() const {
    return cuda_ ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
  }
  at::ScalarType dtype() const {
    return cuda_ ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
  }
  void set(bool enabled, at::ScalarType dtype) const {
    if (cuda_) {
      at::autocast::set_autocast_gpu_dtype(dtype);
      at::autocast::set_enabled(enabled);
    } else {
      at::autocast::set_autocast_cpu_dtype(dtype);
      at::autocast::set_cpu_enabled(enabled);
    }
  }
#endif
  bool cuda_;
  bool was_enabled_;
  at::ScalarType was_dtype_;
};
}  // namespace

CausalLM::ForwardResult CausalLM::forward(const at::Tensor& input_ids,
                                          const ForwardOptions& o) const {
  if (eval_precision() != EvalPrecision::kBf16 || torch::GradMode::is_enabled())
    return forward_pass(input_ids, o);
  ForwardResult r;
  {
    Bf16Autocast autocast(param("model.embed_tokens.weight").device().type());
    r = forward_pass(input_ids, o);
  }
  if (r.logits.defined()) r.logits = r.logits.to(torch::kFloat32);
  if (r.hidden.defined()) r.hidden = r.hidden.to(torch::kFloat32);
  return r;
}

CausalLM::ForwardResult CausalLM::forward_pass(const at::Tensor& input_ids,
                                               const ForwardOptions& o) const {
  const auto& c = config_;
  if (input_ids.dim() != 2) throw InputError("input_ids must be [batch, tokens]");
  const int64_t B = input_ids.size(0), T = input_ids.size(1);
  const auto dev = param("model.embed_tokens.weight").device();
  const auto ids = input_ids.to(dev, torch::kLong);
  if (ids.numel() && (ids.min().item<int64_t>() < 0 || ids.max().item<int64_t>() >= c.vocab_size))
    throw InputError("token id out of range for vocab_size " + std::to_string(c.vocab_size));
  Mix mix;
  auto& coeffs = mix.coeffs;
  if (o.gate && bank_size_ > 0) {
    if (o.gate->experts() != bank_size_)
      throw InputError("the gate has " + std::to_string(o.gate->experts()) +
                       " experts but the model's LoRA bank holds " + std::to_string(bank_size_));
    mix.gate = o.gate;
  } else if (o.lora_coeffs.defined() && bank_size_ > 0) {
    if (o.lora_coeffs.dim() != 2 || o.lora_coeffs.size(0) != B ||
        o.lora_coeffs.size(1) != bank_size_)
      throw InputError("LoRA coefficients must be [batch=" + std::to_string(B) +
                       ", K=" + std::to_string(bank_size_) + "], got " +
                       format_shape(o.lora_coeffs.sizes().vec()));
    coeffs = o.lora_coeffs.to(dev, torch::kFloat32);
    if (o.active_adapters_only) {
      const auto used = coeffs.ne(0).any(0).to(torch::kCPU);
      const auto ua = used.accessor<bool, 1>();
      for (int64_t k = 0; k < bank_size_; ++k)
        if (ua[k]) mix.active_list.push_back(k);
      if (mix.active_list.empty()) {
        coeffs = at::Tensor();  // every coefficient is 0: the bank adds exactly nothing
      } else if (static_cast<int64_t>(mix.active_list.size()) < bank_size_) {
        mix.active = torch::tensor(mix.active_list, torch::kLong).to(dev);
        coeffs = coeffs.index_select(1, mix.active);
      } else {
        mix.active_list.clear();
      }
    }
  }
  using Route = LmForwardOptions::LoraRoute;
  if (o.row_groups < 0 || (o.row_groups > 0 && B % o.row_groups != 0))
    throw InputError("row_groups (" + std::to_string(o.row_groups) + ") must divide the batch of " +
                     std::to_string(B) + " rows");
  if (o.lora_route == Route::kMergedGroups && o.row_groups == 0)
    throw InputError("the merged-groups LoRA route needs row_groups");
  mix.route = o.lora_route;
  if (o.row_groups > 0 && coeffs.defined()) {
    const int64_t G = o.row_groups;
    const auto grouped = coeffs.view({G, B / G, coeffs.size(1)});
    mix.group_coeffs = grouped.select(1, 0).contiguous();
    if (!grouped.eq(mix.group_coeffs.unsqueeze(1)).all().item<bool>())
      throw InputError("row_groups: the rows of a group must share one coefficient vector");
    mix.groups = G;
  }
  const auto fopts = torch::TensorOptions().dtype(torch::kFloat32).device(dev);
  KvCache* cache = o.cache;
  const int64_t P = cache ? cache->length : 0;  // position of the first new token
  if (cache && P > 0 && (cache->k.empty() || cache->k[0].size(0) != B))
    throw InputError("KV cache batch size does not match the input");
  if (o.position_ids.defined() &&
      (o.position_ids.dim() != 2 || o.position_ids.size(0) != B || o.position_ids.size(1) != T))
    throw InputError("position_ids must be [batch, new tokens]");
  if (o.attention_mask.defined() && (o.attention_mask.dim() != 2 || o.attention_mask.size(0) != B ||
                                     o.attention_mask.size(1) != P + T))
    throw InputError("attention_mask must be [batch, cached + new tokens]");
  // Rotary tables for positions P..P+T-1, or each row's own positions.
  const auto real =
      o.attention_mask.defined() ? o.attention_mask.narrow(1, P, T).ne(0) : at::Tensor();
  const auto rot = rotary_tables(c, o.position_ids, B, P, T, real, fopts);
  // Gemma 3's sliding layers: plain RoPE at rope_local_base_freq (transformers' rotary_emb_local,
  // a copy of the config with that theta and no scaling).
  RotaryTables rot_local = rot;
  if (c.rope_local_base_freq > 0) {
    ModelConfig local = c;
    local.rope_theta = c.rope_local_base_freq;
    local.rope_scaling = RopeScaling{};
    rot_local = rotary_tables(local, o.position_ids, B, P, T, real, fopts);
  }
  // Causal mask over cached + new keys (query i sits at index P + i), plus key padding.
  const auto bopts = torch::TensorOptions().dtype(torch::kBool).device(dev);
  auto allowed = torch::ones({T, P + T}, bopts).tril(P).view({1, 1, T, P + T});
  // Sliding-window layers also drop keys window or more indices back (transformers'
  // sliding_window_overlay: kv_idx > q_idx − window).
  auto allowed_window =
      c.sliding_window > 0
          ? allowed &
                torch::ones({T, P + T}, bopts).triu(P - c.sliding_window + 1).view({1, 1, T, P + T})
          : allowed;
  if (o.attention_mask.defined()) {
    const auto keys = o.attention_mask.to(dev).to(torch::kBool).view({B, 1, 1, P + T});
    allowed = allowed & keys;
    allowed_window = allowed_window & keys;
  }
  if (mix.gate) {
    const int64_t Pm = o.attention_mask.defined() ? o.attention_mask.size(1) - T : 0;
    mix.gate->begin_forward(o.attention_mask.defined()
                                ? o.attention_mask.narrow(1, Pm, T).to(dev, torch::kFloat32)
                                : torch::ones({B, T}, fopts));
  }
  if (cache && cache->k.empty()) {
    cache->k.resize(static_cast<size_t>(c.num_hidden_layers));
    cache->v.resize(static_cast<size_t>(c.num_hidden_layers));
  }
  const double neg = -std::numeric_limits<float>::infinity();

  ForwardResult r;
  auto h =
      param("model.embed_tokens.weight").index_select(0, ids.flatten()).view({B, T, c.hidden_size});
  // Gemma: embeddings times sqrt(hidden_size), that factor rounded to the compute dtype first
  // (transformers' normalizer / embed_scale; float32 here).
  if (c.gemma()) h = h * double(static_cast<float>(std::sqrt(double(c.hidden_size))));
  if (o.output_layer == 0) r.hidden = h;
  const int64_t H = c.num_attention_heads, KV = c.num_key_value_heads, hd = c.head_dim;
  at::Tensor pos;  // the picked positions, checked
  if (o.logit_positions.defined()) {
    if (o.logit_positions.dim() != 1)
      throw InputError("logit_positions must be a list of flat positions b·T + t");
    pos = o.logit_positions.to(dev, torch::kLong);
    if (pos.numel() && (pos.min().item<int64_t>() < 0 || pos.max().item<int64_t>() >= B * T))
      throw InputError("a logit position is outside the batch");
  }
  // Only the picked positions reach the head, so the last layer needs keys and values at every
  // position but queries, attention output and MLP only at those (no cache, gate or last-layer
  // hidden state asked for).
  const bool trim_last = pos.defined() && pos.numel() > 0 && !cache && !mix.gate &&
                         o.output_layer != c.num_hidden_layers;
  at::Tensor picked;  // [N, d]: the last layer's output at the picked positions
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    const auto x = norm(h, p + "input_layernorm.weight");
    const auto& ok = c.layer_slides(l) ? allowed_window : allowed;
    const auto& cos = c.layer_slides(l) ? rot_local.cos : rot.cos;
    const auto& sin = c.layer_slides(l) ? rot_local.sin : rot.sin;
    if (trim_last && l + 1 == c.num_hidden_layers) {
      picked = last_layer_at(pos, h, x, cos, sin, ok, mix, l);
      break;
    }
    const auto [qf, kf, vf] = project_qkv(p, l, x, mix);
    auto q = qf.view({B, T, H, hd}).transpose(1, 2);
    auto k = kf.view({B, T, KV, hd}).transpose(1, 2);
    auto v = vf.view({B, T, KV, hd}).transpose(1, 2);
    if (c.qk_norm()) {  // Qwen3, Gemma 3: per-head RMSNorm before rotary
      q = norm(q, p + "self_attn.q_norm.weight");
      k = norm(k, p + "self_attn.k_norm.weight");
    }
    q = apply_rotary(q, cos, sin);
    k = apply_rotary(k, cos, sin);
    if (cache) {
      auto& ck = cache->k[static_cast<size_t>(l)];
      auto& cv = cache->v[static_cast<size_t>(l)];
      ck = ck.defined() ? torch::cat({ck, k}, 2) : k;
      cv = cv.defined() ? torch::cat({cv, v}, 2) : v;
      k = ck;
      v = cv;
    }
    if (KV != H) {  // grouped-query attention: each KV head serves H/KV query heads
      k = k.repeat_interleave(H / KV, 1);
      v = v.repeat_interleave(H / KV, 1);
    }
    auto scores = attention_scores(q, k);
    scores = scores.masked_fill(ok.logical_not(), neg);
    // Rows with no allowed key (a padded query) would be all -inf: give them zeros instead.
    auto probs = torch::softmax(scores, -1).nan_to_num(0.0);
    auto attn = torch::matmul(probs, v).transpose(1, 2).reshape({B, T, H * hd});
    h = finish_block(p, l, h, attn, mix);
    if (o.output_layer == l + 1 && l + 1 < c.num_hidden_layers) {
      r.hidden = h;
      // Only this hidden state is wanted (no logits, no cache to fill): stop here.
      if (!cache && o.logit_positions.defined() && o.logit_positions.numel() == 0) {
        r.logits = torch::empty({0, c.vocab_size}, fopts);
        return r;
      }
    }
  }
  if (cache) cache->length += T;
  const auto& head =
      c.tie_word_embeddings ? param("model.embed_tokens.weight") : param("lm_head.weight");
  // Gemma 2's final soft-capping cap · tanh(logits / cap), after the head.
  const auto softcap = [&](at::Tensor z) {
    const double cap = c.final_logit_softcapping;
    return cap > 0 ? torch::tanh(z / cap) * cap : z;
  };
  if (pos.defined()) {
    // Only the wanted positions go through the final norm and the head ([N, V]).
    if (!picked.defined()) picked = h.reshape({B * T, c.hidden_size}).index_select(0, pos);
    const auto hn = norm(picked, "model.norm.weight");
    if (o.output_layer == c.num_hidden_layers) r.hidden = norm(h, "model.norm.weight");
    r.logits = softcap(torch::matmul(hn, head.t()));
    return r;
  }
  h = norm(h, "model.norm.weight");
  if (o.output_layer == c.num_hidden_layers) r.hidden = h;
  r.logits = softcap(torch::matmul(h, head.t()));
  return r;
}

}  // namespace basin
