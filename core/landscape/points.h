// Evaluating points of weight space through a CausalLM's LoRA bank. A point is a coefficient
// vector c over the bank's K adapters, θ(c) = Σ_k c_k s_k B_k A_k; many points are scored in
// one batch because every row of a forward pass carries its own coefficients (DESIGN.md,
// "Performance principles") — no merged weight copy is ever made.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "jobs/progress.h"
#include "model/causal_lm.h"
#include "train/trainer.h"

namespace basin {

using Point = std::vector<double>;  // one coefficient per bank adapter

// A named point: an adapter of the bank (one-hot), the base model (all zero), a merge held in
// the bank, or any combination.
struct Endpoint {
  std::string label;
  Point coeffs;
};
// The K one-hot endpoints of a bank, labelled in order.
std::vector<Endpoint> bank_endpoints(const std::vector<std::string>& labels);

// An evaluation set: token sequences with their target positions (prompt + answer + EOS;
// see train/task_examples.h). Padded on the right to the longest sequence of each batch.
struct EvalSet {
  std::vector<TrainExample> examples;
  int64_t target_tokens() const;
};

// Loss and next-token error of one point over the whole evaluation set.
struct PointScore {
  double loss = 0;         // mean NLL per target token
  double token_error = 0;  // share of target tokens whose argmax prediction is wrong
  int64_t tokens = 0;
};

// How the rows (point × example) of an evaluation reach the model.
//  - kBank (default): a batch is a run of examples of similar length (little padding) at a few
//    points; only the answer positions go through the head; the bank keeps only the adapters
//    a batch uses, and each projection picks by cost between the bank's per-row coefficients
//    and each point's ΔW merged into a weight copy for the batch (LmForwardOptions::row_groups).
//  - kReference: the route before these (rows point by point, whole-vocabulary logits at every
//    position, the whole bank in every batch). Kept as the reference the tests and the
//    benchmarks compare kBank against; the two agree within float32 rounding.
enum class EvalRoute { kBank, kReference };

class PointEvaluator {
 public:
  // `model` must already hold the bank (CausalLM::set_lora_bank) and outlive the evaluator.
  // `max_rows` bounds the batch; it shrinks further so a batch's activations (kBank) or its
  // logits (kReference) stay bounded.
  PointEvaluator(const CausalLM& model, EvalSet data, int64_t max_rows = 64,
                 EvalRoute route = EvalRoute::kBank);

  int64_t bank_size() const { return model_.lora_bank_size(); }
  const EvalSet& data() const { return data_; }
  const CausalLM& model() const { return model_; }

  // Scores every point (rows = point × example, batched). Progress runs from 0 to 1 over the
  // points; cancel is checked between batches. Throws InputError when a point's length is not
  // the bank size or a coefficient is not finite.
  std::vector<PointScore> evaluate(const std::vector<Point>& points, jobs::Progress& progress,
                                   const std::string& stage = "evaluating") const;
  // Forward passes run so far (for the benchmark's batched-vs-separate ratio).
  int64_t forward_passes() const { return forward_passes_; }
  // Forces the LoRA route of the kBank evaluation (tests, benchmarks); default kAuto = by cost.
  void set_lora_route(LmForwardOptions::LoraRoute route) { lora_route_ = route; }
  // Worker threads of the kBank route on the CPU, each running whole batches on one compute
  // thread (jobs/parallel.h); 0 (default) = compute_threads(). Scores do not depend on it.
  void set_workers(int workers) { workers_ = workers; }
  // Threads the last kBank evaluation ran on.
  int last_workers() const { return last_workers_; }

 private:
  std::vector<PointScore> evaluate_reference(const std::vector<Point>& points,
                                             jobs::Progress& progress,
                                             const std::string& stage) const;

  const CausalLM& model_;
  EvalSet data_;
  int64_t max_rows_;
  EvalRoute route_;
  LmForwardOptions::LoraRoute lora_route_ = LmForwardOptions::LoraRoute::kAuto;
  int workers_ = 0;
  mutable int64_t forward_passes_ = 0;
  mutable int last_workers_ = 0;
};

}  // namespace basin
