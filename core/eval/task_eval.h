// Scoring a task at points of a LoRA bank: greedy answers (first line, trimmed) against the
// target with the task's metric, or the mean answer NLL for metric "loss". One prompt's
// answers at P points are generated as one batch of P rows (same prompt, per-row
// coefficients), so a whole sweep or method comparison costs one decode per prompt.
#pragma once

#include <string>
#include <vector>

#include "data/task.h"
#include "gate/gate.h"
#include "jobs/progress.h"
#include "landscape/points.h"
#include "model/causal_lm.h"
#include "text/tokenizer.h"

namespace basin {

// The answer part of generated text: first line, surrounding blanks removed.
std::string clean_answer(const std::string& generated);
// The task metric of predictions against single references (higher is better; "loss" is not
// a prediction metric and throws).
double score_predictions(TaskMetric metric, const std::vector<std::string>& preds,
                         const std::vector<std::string>& refs);

// Greedy answers (clean_answer of each generation) at each point: [point][row]. Points empty:
// the model as it is (one list). Not for metric "loss".
// kBank (default): prompts of unequal length decode together (left padding), many points ×
// prompts per batch, points grouped so a batch's adapters stay cheap; kReference: the earlier
// route (one prompt at a time at every point, the whole bank), kept for tests and benchmarks.
std::vector<std::vector<std::string>> predict_task_points(
    const CausalLM& model, const Tokenizer& tok, const TaskSpec& spec,
    const std::vector<Example>& rows, const std::vector<Point>& points, jobs::Progress& progress,
    EvalRoute route = EvalRoute::kBank);

// One score per point (points empty: the model as it is, no bank coefficients → one score).
std::vector<double> score_task_points(const CausalLM& model, const Tokenizer& tok,
                                      const TaskSpec& spec, const std::vector<Example>& rows,
                                      const std::vector<Point>& points, jobs::Progress& progress,
                                      EvalRoute route = EvalRoute::kBank);

// The task score of a gated model: the model's bank must be the gate's experts, in order. Each
// prompt is routed (per sequence for the router, per token and projection for MoLE / Arrow),
// then answered greedily; for metric "loss", the mean answer NLL under the gate.
double score_task_gate(const CausalLM& model, const Tokenizer& tok, const TaskSpec& spec,
                       const std::vector<Example>& rows, const Gate& gate,
                       jobs::Progress& progress);

}  // namespace basin
