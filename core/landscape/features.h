// Representations for CKA: token states of one layer averaged over the non-special tokens of
// each input, for several points of a LoRA bank in the same batches.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "data/task.h"
#include "jobs/progress.h"
#include "landscape/points.h"
#include "model/causal_lm.h"
#include "text/tokenizer.h"

namespace basin {

// `count` prompts drawn without replacement from the tasks' split (seeded; all of them when
// fewer exist), in a stable order. Throws InputError when there are none.
std::vector<std::string> select_inputs(const std::vector<TaskSpec>& tasks, const std::string& split,
                                       size_t count, uint64_t seed);

// Features [N, d] (float64) per point: the hidden state after `layer` layers (−1 or
// num_hidden_layers = the last, after the final norm) mean-pooled over each input's
// non-special tokens. Throws InputError for a bad layer or an input with no plain token.
// kBank (default) batches rows input by input (longest first: little padding), stops at
// `layer` and never computes logits; kReference is the earlier route (points one after
// another, every layer and the whole-vocabulary logits), kept for tests and benchmarks.
std::vector<Eigen::MatrixXd> pooled_features(const CausalLM& model, const Tokenizer& tok,
                                             const std::vector<std::string>& inputs, int layer,
                                             const std::vector<Point>& points,
                                             jobs::Progress& progress, int64_t batch = 32,
                                             EvalRoute route = EvalRoute::kBank);

}  // namespace basin
