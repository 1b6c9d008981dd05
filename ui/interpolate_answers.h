// The Interpolate view's live answers: a few validation prompts of each task, answered greedily
// by the model at one point of its LoRA bank. Composes core (TaskSpec, Tokenizer,
// greedy_generate, clean_answer); no Qt, called on a worker thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "landscape/points.h"
#include "landscape/workbench.h"

namespace basin::ui {

// New tokens per live answer at most: the slider must feel live (≤ 0.5 s a move on the demo
// kit), and a dozen tokens show whether a long answer (a headline, a translation) is on track.
constexpr int64_t kLiveAnswerTokens = 12;

struct InterpolatePrompt {
  std::string task;
  std::string prompt;     // the rendered prompt
  std::string reference;  // the target answer
  std::vector<int64_t> ids;
  int64_t max_new_tokens = 16;  // the task's budget, capped at kLiveAnswerTokens
};

// The first `per_task` rows of `split` of every task of the workbench, rendered and tokenized.
std::vector<InterpolatePrompt> interpolation_prompts(const Workbench& bench,
                                                     const std::string& split, size_t per_task);

// Greedy answers (first line, trimmed) of the bank's model at `point`, one per prompt. Prompts
// of equal length and budget share a batch, so a handful of prompts costs a few decodes.
std::vector<std::string> greedy_answers(const Workbench& bench,
                                        const std::vector<InterpolatePrompt>& prompts,
                                        const Point& point);

}  // namespace basin::ui
