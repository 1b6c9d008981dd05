// Making gates over frozen LoRA experts (gate/): training a MoLE gate on a task mix, training
// the Mixture-of-LoRAs router on the mix's task labels, and building Arrow routing (no
// training). The base model and the experts stay frozen; only the gate's parameters learn.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "data/task.h"
#include "gate/gate.h"
#include "jobs/progress.h"
#include "text/tokenizer.h"
#include "train/trainer.h"

namespace basin {

struct MoleTrainOptions {
  MoleGranularity granularity = MoleGranularity::Module;  // a gate per projection or per block
  double temperature = 1.0;                               // τ of the gate softmax
  double balance_alpha = 0.01;                            // α of the gating-balance loss
  TrainOptions train{/*lr=*/5e-3,           /*weight_decay=*/0.0,
                     /*steps=*/100,         /*batch_size=*/8,
                     /*max_grad_norm=*/1.0, /*seed=*/0};
  std::function<void(int64_t step, double loss)> on_step;  // live loss (training thread)
};

struct MoaTrainOptions {
  RouterOptions router;
  int64_t steps = 300;         // full-batch optimiser steps of the linear classifier
  double lr = 0.05;            // Adam learning rate
  double weight_decay = 1e-4;  // L2 on the classifier weights
  size_t per_task = 256;       // training prompts per task (0 = all)
  std::string split = "train";
  std::string eval_split = "test";  // routing accuracy is reported on this split
  size_t eval_limit = 100;          // prompts per task for the accuracy (0 = all)
  uint64_t seed = 0;
  std::function<void(int64_t step, double loss)> on_step;  // live loss (training thread)
};

// Prompt positions of a right-padded batch: attention mask and no target at or before t.
at::Tensor prompt_mask_of(const at::Tensor& attention_mask, const at::Tensor& target_mask);

// `model` must hold `experts` as its LoRA bank, in order. `data` is the task mix.
// Throws InputError for bad settings; jobs::Cancelled leaves nothing behind.
Gate train_mole_gate(const CausalLM& model,
                     const std::vector<std::shared_ptr<const Adapter>>& experts,
                     const std::vector<TrainExample>& data, const MoleTrainOptions& options,
                     jobs::Progress& progress, TrainReport* report = nullptr);

// experts[t] is task t's adapter; the router learns which task a prompt belongs to.
Gate train_moa_router(const CausalLM& model,
                      const std::vector<std::shared_ptr<const Adapter>>& experts,
                      const Tokenizer& tok, const std::vector<TaskSpec>& tasks,
                      const MoaTrainOptions& options, jobs::Progress& progress);

Gate build_arrow_gate(const std::vector<std::shared_ptr<const Adapter>>& experts,
                      const ArrowOptions& options);

// Share of each task's prompts (rows) the router sends to each expert (columns), over the
// first `limit` rows of `split` (the router's confusion matrix), and the routing accuracy per
// task (the diagonal). The model's bank must be the router's experts.
struct RoutingConfusion {
  std::vector<std::vector<double>> share;  // [task][expert]
  std::vector<double> accuracy;            // per task
};
RoutingConfusion router_confusion(const CausalLM& model, const TaskRouter& router,
                                  const Tokenizer& tok, const std::vector<TaskSpec>& tasks,
                                  const std::string& split, size_t limit, jobs::Progress& progress);

}  // namespace basin
