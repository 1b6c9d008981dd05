#include "train/task_examples.h"

namespace basin {

TrainExample task_example(const TaskSpec& spec, const Example& row, const Tokenizer& tok,
                          int64_t eos) {
  const auto p = tok.encode(spec.render_prompt(row));
  const auto a = tok.encode(" " + spec.target_of(row));
  TrainExample te;
  te.ids.assign(p.begin(), p.end());
  te.target.assign(p.size(), 0);
  te.ids.insert(te.ids.end(), a.begin(), a.end());
  te.target.insert(te.target.end(), a.size(), 1);
  if (eos >= 0) {
    te.ids.push_back(eos);
    te.target.push_back(1);
  }
  return te;
}

std::vector<TrainExample> task_examples(const TaskSpec& spec, const std::vector<Example>& rows,
                                        const Tokenizer& tok, int64_t eos, size_t max_tokens) {
  std::vector<TrainExample> out;
  for (const auto& row : rows) {
    auto te = task_example(spec, row, tok, eos);
    if (max_tokens > 0 && te.ids.size() > max_tokens) continue;
    out.push_back(std::move(te));
  }
  return out;
}

}  // namespace basin
