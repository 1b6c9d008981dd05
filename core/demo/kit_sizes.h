// The demo kit's sizes: what model each builds, how long it pre-trains, how its adapters train.
//   tiny         a whole kit for the tests (< 1 min on 2 cores)
//   small        the default kit (the demo)
//   medium       a larger base model for a finished small kit, with its own task adapters on
//                the same task files and tokenizer: <kit>/medium/ (the model-size comparison)
//   tiny-medium  the same beside a tiny kit, for the tests
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/model_config.h"

namespace basin {

// Folder of a kit's larger model (a sub-kit: model/, adapters/, kit.json; tasks are ../tasks).
inline constexpr const char* kLargerKitDir = "medium";

struct KitSizeSpec {
  std::string name;
  std::string parent;   // non-empty: a larger model beside a finished kit of this size
  size_t vocab = 0;     // tokenizer vocabulary (a larger model reuses its parent's tokenizer)
  ModelConfig model;    // vocab and special tokens are filled in when the tokenizer exists
  int64_t context = 0;  // pre-training sequence length
  int64_t pretrain_steps = 0;  // batches of 16 windows
  double pretrain_lr = 4e-3;   // AdamW peak learning rate (cosine decay)
  int64_t lora_steps = 0;
  size_t max_per_task = 0;        // examples per task (the parent's when a larger model)
  size_t max_pretrain_chars = 0;  // general pre-training text
  int fact_repeats = 0;           // times each qa / antonym fact is stated in pre-training
  bool family = true;             // also train seeds and ranks of one task (uniformity figures)
};

// Throws InputError naming `size` when it is not one of kit_sizes().
KitSizeSpec kit_size_spec(const std::string& size);
std::vector<std::string> kit_sizes();  // tiny, small, medium, tiny-medium

// Weights of the model without its (tied) embedding counted twice.
int64_t parameter_count(const ModelConfig& config);

}  // namespace basin
