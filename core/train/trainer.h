// Training in LibTorch: LoRA adapters on a frozen base (any target module set) and full
// training of a small base model from scratch (the demo kit's). AdamW (Loshchilov & Hutter
// 2019), gradient clipping, deterministic on CPU for a given seed, progress and cancel.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "jobs/progress.h"
#include "lora/adapter.h"
#include "model/causal_lm.h"

namespace basin {

// One training sequence: token ids and which positions are targets (predicted from the prefix).
struct TrainExample {
  std::vector<int64_t> ids;
  std::vector<uint8_t> target;  // same length as ids; target[0] is ignored
};

struct TrainOptions {
  double lr = 1e-3;            // AdamW learning rate (linear warm-up over the first 5% of steps)
  double weight_decay = 0.0;   // AdamW decoupled weight decay
  int64_t steps = 100;         // optimizer steps
  int64_t batch_size = 8;      // sequences per step (right-padded to the longest)
  double max_grad_norm = 1.0;  // global gradient-norm clip (0 = off)
  uint64_t seed = 0;           // data order and initialisation
  bool cosine_decay = false;   // after warm-up, cosine decay to 10% of lr (SGDR, Loshchilov &
                               // Hutter 2017, without restarts)
};

struct LoraOptions {
  std::vector<std::string> target_modules = {"q_proj", "v_proj"};  // leaf names or full paths
  int64_t rank = 8;                                                // r
  double alpha = 16.0;                                             // lora_alpha
  bool use_rslora = false;  // scale alpha / sqrt(r) instead of alpha / r
  std::string name = "adapter";
};

struct TrainReport {
  std::vector<double> losses;  // mean target-token NLL of each step's batch
  // Called after every step with its index and loss, on the training thread (live curves).
  std::function<void(int64_t step, double loss)> on_step;
};

// Trains a new LoRA adapter on `model` (whose weights stay frozen). A is initialised as PEFT
// does (Kaiming-uniform, bound 1/sqrt(in)), B = 0. Returns the adapter with its PEFT config.
Adapter train_lora(const CausalLM& model, const std::vector<TrainExample>& data,
                   const LoraOptions& lora, const TrainOptions& options, jobs::Progress& progress,
                   TrainReport* report = nullptr);

// Trains every weight of `model` in place (pre-training the demo kit's tiny base).
void train_full(CausalLM& model, const std::vector<TrainExample>& data, const TrainOptions& options,
                jobs::Progress& progress, TrainReport* report = nullptr);

// Mean target-token NLL of `data` under `model` (with an optional single adapter).
double mean_nll(const CausalLM& model, const std::vector<TrainExample>& data,
                int64_t batch_size = 16);

}  // namespace basin
