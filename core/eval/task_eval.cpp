#include "eval/task_eval.h"

#include <algorithm>
#include <numeric>

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
                                      const std::vector<Point>& points, jobs::Progress& progress,
                                      EvalRoute route) {
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
    PointEvaluator ev(model, set, 64, route);
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
  for (const auto& preds : predict_task_points(model, tok, spec, rows, points, progress, route))
    scores.push_back(score_predictions(spec.metric, preds, refs));
  return scores;
}

std::vector<std::vector<std::string>> predict_task_points(
    const CausalLM& model, const Tokenizer& tok, const TaskSpec& spec,
    const std::vector<Example>& rows, const std::vector<Point>& points, jobs::Progress& progress,
    EvalRoute route) {
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
  std::vector<std::vector<int64_t>> enc(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto ids = tok.encode(spec.render_prompt(rows[i]));
    enc[i].assign(ids.begin(), ids.end());
    if (enc[i].empty()) throw InputError("task '" + spec.name + "': an empty prompt");
  }
  if (route == EvalRoute::kReference) {
    std::vector<std::vector<std::string>> preds(P);
    for (size_t i = 0; i < rows.size(); ++i) {
      progress.check_cancelled();
      progress.report(double(i) / double(rows.size()), "scoring " + spec.name);
      const auto prompt = torch::tensor(enc[i]).view({1, -1}).expand({int64_t(P), -1});
      GenerateOptions o;
      o.max_new_tokens = spec.max_new_tokens;
      o.eos_token_id = eos;
      o.lora_coeffs = coeffs;
      o.active_adapters_only = false;
      const auto out = greedy_generate(model, prompt.contiguous().to(dev), o);
      for (size_t p = 0; p < P; ++p)
        preds[p].push_back(clean_answer(tok.decode({out[p].begin(), out[p].end()}, true)));
    }
    progress.report(1.0, "scoring " + spec.name);
    return preds;
  }
  // Points go in groups whose adapters together stay cheap next to the base model (every row
  // of a batch pays for the union of the batch's adapters); each group decodes its prompts,
  // longest first (little padding), in chunks of at most kMaxRows rows (prompt × point).
  constexpr size_t kMaxRows = 256;
  std::vector<size_t> order(rows.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return enc[a].size() > enc[b].size(); });
  std::vector<std::vector<size_t>> groups;
  {
    const auto& ranks = model.lora_bank_ranks();
    const int64_t budget = std::max<int64_t>(8, model.config().hidden_size / 4);
    std::vector<bool> in_group(size_t(std::max<int64_t>(K, 0)), false);
    int64_t group_rank = 0;
    for (size_t p = 0; p < P; ++p) {
      int64_t extra = 0;
      if (!points.empty())
        for (int64_t k = 0; k < K; ++k)
          if (points[p][size_t(k)] != 0 && !in_group[size_t(k)]) extra += ranks[size_t(k)];
      if (groups.empty() || (group_rank > 0 && group_rank + extra > budget) ||
          groups.back().size() >= kMaxRows) {
        groups.emplace_back();
        std::fill(in_group.begin(), in_group.end(), false);
        group_rank = 0;
        extra = 0;
        if (!points.empty())
          for (int64_t k = 0; k < K; ++k)
            if (points[p][size_t(k)] != 0) extra += ranks[size_t(k)];
      }
      groups.back().push_back(p);
      group_rank += extra;
      if (!points.empty())
        for (int64_t k = 0; k < K; ++k)
          if (points[p][size_t(k)] != 0) in_group[size_t(k)] = true;
    }
  }
  std::vector<std::vector<std::string>> preds(P, std::vector<std::string>(rows.size()));
  const double work = double(P * rows.size());
  double done = 0;
  for (const auto& group : groups) {
    const size_t G = group.size();
    const size_t per_chunk = std::max<size_t>(1, kMaxRows / G);
    for (size_t c0 = 0; c0 < order.size(); c0 += per_chunk) {
      progress.check_cancelled();
      progress.report(done / work, "scoring " + spec.name);
      const size_t c1 = std::min(order.size(), c0 + per_chunk);
      std::vector<std::vector<int64_t>> prompts;
      std::vector<int64_t> point_of;
      for (size_t i = c0; i < c1; ++i)
        for (size_t p : group) {
          prompts.push_back(enc[order[i]]);
          point_of.push_back(int64_t(p));
        }
      GenerateOptions o;
      o.max_new_tokens = spec.max_new_tokens;
      o.eos_token_id = eos;
      if (coeffs.defined())
        o.lora_coeffs = coeffs.index_select(0, torch::tensor(point_of, torch::kLong).to(dev));
      const auto out = greedy_generate_batch(model, prompts, o);
      for (size_t n = 0; n < out.size(); ++n)
        preds[size_t(point_of[n])][order[c0 + n / G]] =
            clean_answer(tok.decode({out[n].begin(), out[n].end()}, true));
      done += double(out.size());
    }
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
