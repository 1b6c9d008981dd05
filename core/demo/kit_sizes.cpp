#include "demo/kit_sizes.h"

#include "util/errors.h"
#include "util/strings.h"

namespace basin {
namespace {

void set_shape(KitSizeSpec& s, int64_t d, int64_t mlp, int64_t layers, int64_t heads,
               int64_t kv_heads) {
  s.model.model_type = "qwen2";
  s.model.hidden_size = d;
  s.model.intermediate_size = mlp;
  s.model.num_hidden_layers = layers;
  s.model.num_attention_heads = heads;
  s.model.num_key_value_heads = kv_heads;
  s.model.head_dim = d / heads;
  s.model.rope_theta = 10000.0;
  s.model.tie_word_embeddings = true;
}

}  // namespace

std::vector<std::string> kit_sizes() {
  return {"tiny", "small", "medium", "tiny-medium"};
}

KitSizeSpec kit_size_spec(const std::string& size) {
  KitSizeSpec s;
  s.name = size;
  if (size == "tiny" || size == "tiny-medium") {
    s.vocab = 512;
    s.context = 48;
    s.max_per_task = 60;
    s.max_pretrain_chars = 200000;
    s.fact_repeats = 2;
    s.lora_steps = 25;
    if (size == "tiny") {
      set_shape(s, 64, 128, 2, 4, 2);
      s.pretrain_steps = 60;
    } else {
      s.parent = "tiny";
      s.family = false;
      set_shape(s, 96, 256, 3, 4, 2);
      s.pretrain_steps = 60;
    }
  } else if (size == "small" || size == "medium") {
    s.vocab = 2048;
    s.context = 128;
    s.max_per_task = 520;  // 104 test examples per task
    s.max_pretrain_chars = 1500000;
    s.fact_repeats = 40;
    s.lora_steps = 300;
    if (size == "small") {
      set_shape(s, 128, 352, 4, 4, 2);
      s.pretrain_steps = 1200;
    } else {
      // The router-free study compares Qwen2 0.5B with 1.5B (3×); here 3.3× the small model's
      // non-embedding weights (d = 192, 6 layers, a wider MLP) on the same text for the same
      // steps, and its own adapters with the same recipe (about 30 min on 2 cores, README).
      s.parent = "small";
      s.family = false;
      set_shape(s, 192, 512, 6, 6, 3);
      s.pretrain_steps = 1200;
      s.pretrain_lr = 3e-3;  // a deeper, wider model takes a smaller step (Brown et al. 2020)
    }
  } else {
    throw InputError("unknown demo kit size '" + size + "' (expected " + join(kit_sizes(), ", ") +
                     ")");
  }
  return s;
}

int64_t parameter_count(const ModelConfig& c) {
  const int64_t d = c.hidden_size, hd = c.head_dim;
  const int64_t q = c.num_attention_heads * hd, kv = c.num_key_value_heads * hd;
  int64_t attn = 2 * d * q + 2 * d * kv;
  if (c.attention_bias) attn += q + 2 * kv;  // q/k/v biases
  if (c.o_proj_bias()) attn += d;
  // Phi-3's fused qkv_proj and gate_up_proj hold the same weights as the separate projections.
  int64_t mlp = 3 * d * c.intermediate_size;
  if (c.mlp_bias) mlp += 2 * c.intermediate_size + d;  // gate/up, down
  int64_t norms = (c.gemma() ? 4 : 2) * d;             // Gemma: pre/post-feedforward norms too
  if (c.qk_norm()) norms += 2 * hd;                    // Qwen3, Gemma 3: q_norm, k_norm
  const int64_t layer = attn + mlp + norms;
  const int64_t embed = c.vocab_size * d * (c.tie_word_embeddings ? 1 : 2);
  return c.num_hidden_layers * layer + embed + d;  // final norm
}

}  // namespace basin
