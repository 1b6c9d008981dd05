// The optimisation loop shared by LoRA, full and gate training: AdamW with linear warm-up over
// the first 5 % of steps, seeded shuffling, gradient-norm clipping, a divergence check,
// progress and cancel between steps.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "jobs/progress.h"
#include "train/trainer.h"

namespace basin {

// A right-padded batch: ids, attention mask (1 = token) and target mask, all [B, T] int64.
struct TrainBatch {
  at::Tensor ids, attn, target;
};
TrainBatch make_train_batch(const std::vector<TrainExample>& data, const std::vector<size_t>& idx,
                            c10::Device dev);

// Throws InputError for empty data, non-positive steps / batch, a bad learning rate or an
// example shorter than 2 tokens.
void check_train_data(const std::vector<TrainExample>& data, const TrainOptions& o);

// `refresh` runs before each step (to rebuild anything derived from the parameters);
// `loss_of` returns the batch loss to minimise.
void run_train_loop(std::vector<at::Tensor> params, const std::vector<TrainExample>& data,
                    const TrainOptions& o, c10::Device dev, jobs::Progress& progress,
                    TrainReport* report,
                    const std::function<at::Tensor(const TrainBatch&)>& loss_of,
                    const std::function<void()>& refresh, const std::string& stage);

}  // namespace basin
