#include "interpolate_answers.h"

#include <ATen/ATen.h>

#include <map>
#include <utility>

#include "eval/task_eval.h"
#include "model/generate.h"
#include "util/errors.h"

namespace basin::ui {

std::vector<InterpolatePrompt> interpolation_prompts(const Workbench& bench,
                                                     const std::string& split, size_t per_task) {
  std::vector<InterpolatePrompt> out;
  for (const auto& spec : bench.tasks) {
    const auto rows = spec.load_split(split);
    for (size_t i = 0; i < rows.size() && i < per_task; ++i) {
      InterpolatePrompt p;
      p.task = spec.name;
      p.prompt = spec.render_prompt(rows[i]);
      p.reference = spec.target_of(rows[i]);
      for (int32_t id : bench.tokenizer.encode(p.prompt))
        p.ids.push_back(id);
      if (p.ids.empty()) throw InputError("task '" + spec.name + "': an empty prompt");
      p.max_new_tokens = std::min<int64_t>(spec.max_new_tokens, kLiveAnswerTokens);
      out.push_back(std::move(p));
    }
  }
  return out;
}

std::vector<std::string> greedy_answers(const Workbench& bench,
                                        const std::vector<InterpolatePrompt>& prompts,
                                        const Point& point) {
  const CausalLM& model = bench.model;
  const int64_t K = model.lora_bank_size();
  if (static_cast<int64_t>(point.size()) != K)
    throw InputError("a point has " + std::to_string(point.size()) +
                     " coefficients; the LoRA bank holds " + std::to_string(K));
  at::NoGradGuard no_grad;
  const auto dev = model.parameters().at("model.embed_tokens.weight").device();
  // Rows that can decode together: same prompt length (no padding) and same budget.
  std::map<std::pair<size_t, int64_t>, std::vector<size_t>> groups;
  for (size_t i = 0; i < prompts.size(); ++i)
    groups[{prompts[i].ids.size(), prompts[i].max_new_tokens}].push_back(i);
  std::vector<std::string> answers(prompts.size());
  for (const auto& [shape, rows] : groups) {
    const auto B = static_cast<int64_t>(rows.size()), T = static_cast<int64_t>(shape.first);
    auto ids = at::empty({B, T}, at::kLong);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t)
        ids[b][t] = prompts[rows[static_cast<size_t>(b)]].ids[static_cast<size_t>(t)];
    GenerateOptions o;
    o.max_new_tokens = shape.second;
    o.eos_token_id = model.config().eos_token_id;
    if (K > 0) {
      auto c = at::empty({1, K}, at::kFloat);
      for (int64_t k = 0; k < K; ++k)
        c[0][k] = static_cast<float>(point[static_cast<size_t>(k)]);
      o.lora_coeffs = c.expand({B, K}).contiguous().to(dev);
    }
    const auto out = greedy_generate(model, ids.to(dev), o);
    for (int64_t b = 0; b < B; ++b) {
      const auto& toks = out[static_cast<size_t>(b)];
      const std::string raw =
          bench.tokenizer.decode(std::vector<int32_t>(toks.begin(), toks.end()), true);
      std::string text = clean_answer(raw);
      // The budget ran out before the answer's line ended.
      const bool cut =
          static_cast<int64_t>(toks.size()) == shape.second && raw.find('\n') == std::string::npos;
      answers[rows[static_cast<size_t>(b)]] = cut ? text + "…" : text;
    }
  }
  return answers;
}

}  // namespace basin::ui
