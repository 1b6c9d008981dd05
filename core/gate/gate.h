// A gate over a bank of frozen LoRA experts, ready to evaluate: MoLE (learned, per token and
// projection), the Mixture-of-LoRAs router ("moa", learned, per sequence) or Arrow routing
// (training-free, per token and projection). The model must hold the experts as its LoRA bank,
// in order (CausalLM::set_lora_bank(gate.experts)); the gate only supplies the coefficients.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "gate/arrow_gate.h"
#include "gate/mole_gate.h"
#include "gate/task_router.h"
#include "lora/adapter.h"
#include "model/causal_lm.h"

namespace basin {

enum class GateKind { Mole, Moa, Arrow };
const char* gate_kind_name(GateKind kind);          // "mole", "moa", "arrow"
GateKind parse_gate_kind(const std::string& name);  // throws InputError listing the kinds

// How a gate was made (saved with it; for the record and the cost table).
struct GateRecord {
  std::vector<std::string> tasks;  // the task mix it was trained on (empty for Arrow)
  int64_t steps = 0;
  int64_t batch_size = 0;
  double lr = 0;
  double balance_alpha = 0;  // MoLE: weight of the gating-balance loss
  uint64_t seed = 0;
  double train_seconds = 0;
  std::vector<double> losses;            // per step (MoLE: task + α·balance; MoA: cross-entropy)
  std::vector<double> routing_accuracy;  // MoA: per task, on the held-out split
};

// The coefficient source for one batch: per-sequence coefficients or a per-token gate.
struct Routing {
  at::Tensor coeffs;         // [B, K] (router), else undefined
  LoraGate* gate = nullptr;  // MoLE / Arrow
};

struct Gate {
  GateKind kind = GateKind::Arrow;
  std::vector<std::shared_ptr<const Adapter>> experts;  // the bank, in order
  std::unique_ptr<MoleGate> mole;
  std::unique_ptr<ArrowGate> arrow;
  std::unique_ptr<TaskRouter> router;
  GateRecord record;

  int64_t size() const { return static_cast<int64_t>(experts.size()); }
  std::vector<std::string> expert_names() const;
  LoraGate* token_gate() const;  // MoLE or Arrow; nullptr for the router
  int64_t trainable_parameters() const;
  // Throws InputError naming `label` when the model (with its bank installed) does not fit.
  void check_model(const CausalLM& model, const std::string& label) const;
  // Coefficients for sequences `ids` [B, T] whose prompt is where prompt_mask [B, T] is 1.
  Routing route(const CausalLM& model, const at::Tensor& ids, const at::Tensor& prompt_mask) const;
};

}  // namespace basin
