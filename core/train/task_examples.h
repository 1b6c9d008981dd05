// Task rows as training sequences: the prompt, then " " + the answer and EOS as targets. One
// definition shared by the demo kit, `basin-cli train-lora` and evaluation.
#pragma once

#include <cstdint>
#include <vector>

#include "data/task.h"
#include "text/tokenizer.h"
#include "train/trainer.h"

namespace basin {

// One sequence: prompt tokens (not targets) + answer tokens + EOS (targets). eos < 0: no EOS.
TrainExample task_example(const TaskSpec& spec, const Example& row, const Tokenizer& tok,
                          int64_t eos);

// All rows; sequences longer than max_tokens (> 0) are skipped to keep batches small.
std::vector<TrainExample> task_examples(const TaskSpec& spec, const std::vector<Example>& rows,
                                        const Tokenizer& tok, int64_t eos, size_t max_tokens = 0);

}  // namespace basin
