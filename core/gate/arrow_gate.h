// Arrow routing (Ostapenko et al. 2024, "Towards Modular LLMs by Building and Reusing a Library
// of LoRAs", §4): training-free, per token and per projection. Each expert's prototype at a
// projection is the top right singular vector v_k of its ΔW_k = s_k B_k A_k (computed from the
// factors, no dense ΔW); a token x goes to the top-k experts by |cos(x, v_k)|, weighted by a
// softmax over those k scores with temperature τ (the others get 0).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "lora/adapter.h"
#include "model/causal_lm.h"
#include "model/lora_gate.h"

namespace basin {

struct ArrowOptions {
  int64_t top_k = 2;         // experts per token (1 … K)
  double temperature = 1.0;  // τ of the softmax over the top-k |cosines|
};

// Top right singular vector of s·B·A [out, in] (unit norm, [in], float64): QR of B, then the
// SVD of the small R·A. Zero when ΔW is zero.
at::Tensor top_right_singular_vector(const at::Tensor& A, const at::Tensor& B);

class ArrowGate : public LoraGate {
 public:
  // Prototypes of every module of every expert. Throws InputError for k outside 1 … K,
  // τ ≤ 0 or non-finite, or no experts.
  static std::unique_ptr<ArrowGate> build(
      const std::vector<std::shared_ptr<const Adapter>>& experts, const ArrowOptions& options);
  ArrowGate(int64_t experts, const ArrowOptions& options,
            std::map<std::string, at::Tensor> prototypes);

  int64_t experts() const override { return experts_; }
  const ArrowOptions& options() const { return options_; }
  // Per module: [K, in] float32, row k = expert k's prototype (zero where it lacks the module).
  const std::map<std::string, at::Tensor>& prototypes() const { return prototypes_; }
  // Throws InputError naming the module when `model`'s bank modules or widths do not match.
  void check_model(const CausalLM& model, const std::string& label) const;

 protected:
  at::Tensor compute(const GateSite& site, const at::Tensor& x,
                     const at::Tensor& expert_out) override;

 private:
  int64_t experts_;
  ArrowOptions options_;
  std::map<std::string, at::Tensor> prototypes_;
};

}  // namespace basin
