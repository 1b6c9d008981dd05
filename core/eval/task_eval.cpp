#include "eval/task_eval.h"

#include <torch/torch.h>

#include "eval/metrics.h"
#include "model/generate.h"
#include "train/gate_training.h"
#include "train/task_examples.h"
#include "train/train_loop.h"
#include "util/errors.h"

namespace basin {

std::string clean_answer(const std::string& generated) {
  const std::string line = generated.substr(0, generated.find('\n'));
  const auto b = line.find_first_not_of(" \t\r"), e = line.find_last_not_of(" \t\r");
  return b == std::string::npos ? std::string() : line.substr(b, e - b + 1);
}

double score_predictions(TaskMetric metric, const std::vector<std::string>& preds,
                         const std::vector<std::string>& refs) {
  std::vector<std::vector<std::string>> multi;
  for (const auto& r : refs)
    multi.push_back({r});
  switch (metric) {
    case TaskMetric::Accuracy:
      return accuracy(preds, refs);
    case TaskMetric::MacroF1:
      return macro_f1(preds, refs);
    case TaskMetric::ExactMatch:
      return exact_match(preds, multi);
    case TaskMetric::Bleu:
      return corpus_bleu(preds, multi).score;
    case TaskMetric::Chrf:
      return corpus_chrf(preds, refs);
    case TaskMetric::RougeL:
      return mean_rouge_l_f(preds, refs);
    case TaskMetric::Loss:
      break;
  }
  throw InputError("metric 'loss' scores sequences, not predictions");
}

std::vector<double> score_task_points(const CausalLM& model, const Tokenizer& tok,
                                      const TaskSpec& spec, const std::vector<Example>& rows,
                                      const std::vector<Point>& points, jobs::Progress& progress) {
  if (rows.empty()) throw InputError("task '" + spec.name + "' has no examples to score");
  const int64_t eos = model.config().eos_token_id;
  const int64_t K = model.lora_bank_size();
  if (!points.empty())
    for (const auto& p : points)
      if (static_cast<int64_t>(p.size()) != K)
        throw InputError("a point has " + std::to_string(p.size()) +
                         " coefficients; the LoRA bank holds " + std::to_string(K));
  torch::NoGradGuard no_grad;
  if (spec.metric == TaskMetric::Loss) {
    EvalSet set{task_examples(spec, rows, tok, eos)};
    PointEvaluator ev(model, set);
    std::vector<Point> pts = points.empty() ? std::vector<Point>{Point(size_t(K), 1.0)} : points;
    std::vector<double> out;
    for (const auto& s : ev.evaluate(pts, progress, "scoring " + spec.name))
      out.push_back(s.loss);
    return out;
  }
  std::vector<double> scores;
  std::vector<std::string> refs;
  for (const auto& r : rows)
    refs.push_back(spec.target_of(r));
  for (const auto& preds : predict_task_points(model, tok, spec, rows, points, progress))
    scores.push_back(score_predictions(spec.metric, preds, refs));
  return scores;
}

std::vector<std::vector<std::string>> predict_task_points(
    const CausalLM& model, const Tokenizer& tok, const TaskSpec& spec,
    const std::vector<Example>& rows, const std::vector<Point>& points, jobs::Progress& progress) {
  if (rows.empty()) throw InputError("task '" + spec.name + "' has no examples to score");
  if (spec.metric == TaskMetric::Loss)
    throw InputError("task '" + spec.name + "': metric 'loss' has no answers to predict");
  const int64_t eos = model.config().eos_token_id;
  const int64_t K = model.lora_bank_size();
  const size_t P = points.empty() ? 1 : points.size();
  for (const auto& p : points)
    if (static_cast<int64_t>(p.size()) != K)
      throw InputError("a point has " + std::to_string(p.size()) +
                       " coefficients; the LoRA bank holds " + std::to_string(K));
  torch::NoGradGuard no_grad;
  const auto dev = model.parameters().at("model.embed_tokens.weight").device();
  at::Tensor coeffs;
  if (!points.empty() && K > 0) {
    coeffs = torch::zeros({int64_t(P), K}, torch::kFloat32);
    auto ca = coeffs.accessor<float, 2>();
    for (size_t p = 0; p < P; ++p)
      for (int64_t k = 0; k < K; ++k)
        ca[int64_t(p)][k] = static_cast<float>(points[p][size_t(k)]);
    coeffs = coeffs.to(dev);
  } else if (K > 0) {
    coeffs = torch::ones({1, K}, torch::TensorOptions().device(dev));
  }
  std::vector<std::vector<std::string>> preds(P);
  for (size_t i = 0; i < rows.size(); ++i) {
    progress.check_cancelled();
    progress.report(double(i) / double(rows.size()), "scoring " + spec.name);
    const auto ids = tok.encode(spec.render_prompt(rows[i]));
    if (ids.empty()) throw InputError("task '" + spec.name + "': an empty prompt");
    const auto prompt = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()))
                            .view({1, -1})
                            .expand({int64_t(P), -1})
                            .contiguous()
                            .to(dev);
    GenerateOptions o;
    o.max_new_tokens = spec.max_new_tokens;
    o.eos_token_id = eos;
    o.lora_coeffs = coeffs;
    const auto out = greedy_generate(model, prompt, o);
    for (size_t p = 0; p < P; ++p)
      preds[p].push_back(clean_answer(tok.decode({out[p].begin(), out[p].end()}, true)));
  }
  progress.report(1.0, "scoring " + spec.name);
  return preds;
}

double score_task_gate(const CausalLM& model, const Tokenizer& tok, const TaskSpec& spec,
                       const std::vector<Example>& rows, const Gate& gate,
                       jobs::Progress& progress) {
  if (rows.empty()) throw InputError("task '" + spec.name + "' has no examples to score");
  gate.check_model(model, "gate");
  const int64_t eos = model.config().eos_token_id;
  torch::NoGradGuard no_grad;
  const auto dev = model.parameters().at("model.embed_tokens.weight").device();
  const std::string stage = "scoring " + spec.name + " (" + gate_kind_name(gate.kind) + ")";
  if (spec.metric == TaskMetric::Loss) {
    const auto seqs = task_examples(spec, rows, tok, eos);
    double nll = 0, tokens = 0;
    for (size_t s = 0; s < seqs.size(); s += 16) {
      progress.check_cancelled();
      progress.report(double(s) / double(seqs.size()), stage);
      std::vector<size_t> idx;
      for (size_t i = s; i < std::min(seqs.size(), s + 16); ++i)
        idx.push_back(i);
      const auto b = make_train_batch(seqs, idx, dev);
      const auto r = gate.route(model, b.ids, prompt_mask_of(b.attn, b.target));
      const auto res = sequence_nll(model, b.ids, b.attn, b.target, r.coeffs, r.gate);
      nll += res.nll.sum().item<double>();
      tokens += res.tokens.sum().item<double>();
    }
    progress.report(1.0, stage);
    return tokens > 0 ? nll / tokens : 0.0;
  }
  std::vector<std::string> preds, refs;
  for (size_t i = 0; i < rows.size(); ++i) {
    progress.check_cancelled();
    progress.report(double(i) / double(rows.size()), stage);
    const auto ids = tok.encode(spec.render_prompt(rows[i]));
    if (ids.empty()) throw InputError("task '" + spec.name + "': an empty prompt");
    const auto prompt =
        torch::tensor(std::vector<int64_t>(ids.begin(), ids.end())).view({1, -1}).to(dev);
    const auto r = gate.route(model, prompt, torch::ones_like(prompt));
    GenerateOptions o;
    o.max_new_tokens = spec.max_new_tokens;
    o.eos_token_id = eos;
    o.lora_coeffs = r.coeffs;
    o.gate = r.gate;
    const auto out = greedy_generate(model, prompt, o);
    preds.push_back(clean_answer(tok.decode({out[0].begin(), out[0].end()}, true)));
    refs.push_back(spec.target_of(rows[i]));
  }
  progress.report(1.0, stage);
  return score_predictions(spec.metric, preds, refs);
}

}  // namespace basin
