#include "train/gate_training.h"

#include <chrono>
#include <cmath>

#include "model/generate.h"
#include "train/task_examples.h"
#include "train/train_loop.h"
#include "util/errors.h"
#include "util/strings.h"

namespace basin {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void check_experts(const CausalLM& model,
                   const std::vector<std::shared_ptr<const Adapter>>& experts) {
  if (experts.empty()) throw InputError("a gate needs at least one expert adapter");
  if (model.lora_bank_size() != static_cast<int64_t>(experts.size()))
    throw Error("internal: the model's LoRA bank is not the gate's experts");
}

// Rows of `split` (first `limit`, 0 = all) of every task as prompt + answer sequences.
std::vector<std::vector<TrainExample>> task_sequences(const CausalLM& model, const Tokenizer& tok,
                                                      const std::vector<TaskSpec>& tasks,
                                                      const std::string& split, size_t limit) {
  std::vector<std::vector<TrainExample>> out;
  for (const auto& t : tasks) {
    auto rows = t.load_split(split);
    if (limit > 0 && rows.size() > limit) rows.resize(limit);
    if (rows.empty())
      throw InputError("task '" + t.name + "' has no examples in split '" + excerpt(split) + "'");
    out.push_back(task_examples(t, rows, tok, model.config().eos_token_id));
  }
  return out;
}

// Router features [N, d] of sequences, in batches.
at::Tensor sequence_features(const CausalLM& model, const std::vector<TrainExample>& seqs,
                             int layer, jobs::Progress& progress) {
  const auto dev = model.parameters().at("model.embed_tokens.weight").device();
  std::vector<at::Tensor> parts;
  for (size_t s = 0; s < seqs.size(); s += 32) {
    progress.check_cancelled();
    std::vector<size_t> idx;
    for (size_t i = s; i < std::min(seqs.size(), s + 32); ++i)
      idx.push_back(i);
    const auto b = make_train_batch(seqs, idx, dev);
    parts.push_back(prompt_states(model, b.ids, prompt_mask_of(b.attn, b.target), layer));
  }
  return torch::cat(parts, 0);
}

}  // namespace

at::Tensor prompt_mask_of(const at::Tensor& attention_mask, const at::Tensor& target_mask) {
  const auto before_target = target_mask.to(torch::kLong).cumsum(1) == 0;
  return (attention_mask.to(torch::kBool) & before_target).to(torch::kLong);
}

Gate train_mole_gate(const CausalLM& model,
                     const std::vector<std::shared_ptr<const Adapter>>& experts,
                     const std::vector<TrainExample>& data, const MoleTrainOptions& o,
                     jobs::Progress& progress, TrainReport* report) {
  check_experts(model, experts);
  check_train_data(data, o.train);
  if (!(o.balance_alpha >= 0) || !std::isfinite(o.balance_alpha))
    throw InputError("balance loss weight α must be a finite number ≥ 0, got " +
                     format_double(o.balance_alpha));
  const auto t0 = std::chrono::steady_clock::now();
  auto gate = MoleGate::create(model, o.granularity, o.temperature, o.train.seed);
  for (auto& [key, w] : gate->weights())
    w.requires_grad_(true);
  const auto dev = model.parameters().at("model.embed_tokens.weight").device();
  TrainReport local;
  local.on_step = o.on_step;
  try {
    run_train_loop(
        gate->parameters(), data, o.train, dev, progress, &local,
        [&](const TrainBatch& b) {
          const auto r = sequence_nll(model, b.ids, b.attn, b.target, {}, gate.get());
          const auto task = r.nll.sum() / r.tokens.sum().clamp_min(1).to(torch::kFloat64);
          return task + o.balance_alpha * gate->balance_loss().to(torch::kCPU, torch::kFloat64);
        },
        [] {}, "training MoLE gate");
  } catch (...) {
    for (auto& [key, w] : gate->weights())
      w = w.detach();
    throw;
  }
  for (auto& [key, w] : gate->weights())
    w = w.detach().contiguous();
  Gate g;
  g.kind = GateKind::Mole;
  g.experts = experts;
  g.mole = std::move(gate);
  g.record.steps = o.train.steps;
  g.record.batch_size = o.train.batch_size;
  g.record.lr = o.train.lr;
  g.record.balance_alpha = o.balance_alpha;
  g.record.seed = o.train.seed;
  g.record.losses = local.losses;
  g.record.train_seconds = seconds_since(t0);
  if (report) report->losses = local.losses;
  return g;
}

Gate train_moa_router(const CausalLM& model,
                      const std::vector<std::shared_ptr<const Adapter>>& experts,
                      const Tokenizer& tok, const std::vector<TaskSpec>& tasks,
                      const MoaTrainOptions& o, jobs::Progress& progress) {
  check_experts(model, experts);
  const auto K = static_cast<int64_t>(experts.size());
  if (tasks.size() != experts.size())
    throw InputError("the router needs one adapter per task: " + std::to_string(tasks.size()) +
                     " tasks, " + std::to_string(experts.size()) + " adapters");
  check_router_options(o.router, K);
  if (o.steps <= 0) throw InputError("steps must be positive, got " + std::to_string(o.steps));
  if (!(o.lr > 0) || !std::isfinite(o.lr))
    throw InputError("learning rate must be positive, got " + format_double(o.lr));
  if (!(o.weight_decay >= 0) || !std::isfinite(o.weight_decay))
    throw InputError("weight decay must be a finite number ≥ 0, got " +
                     format_double(o.weight_decay));
  const int L =
      o.router.layer < 0 ? static_cast<int>(model.config().num_hidden_layers) : o.router.layer;
  if (L > model.config().num_hidden_layers)
    throw InputError("router layer " + std::to_string(o.router.layer) + " exceeds the model's " +
                     std::to_string(model.config().num_hidden_layers) + " layers");
  const auto t0 = std::chrono::steady_clock::now();
  progress.report(0.0, "router: prompt features");
  const auto seqs = task_sequences(model, tok, tasks, o.split, o.per_task);
  std::vector<at::Tensor> xs, ys;
  for (size_t t = 0; t < seqs.size(); ++t) {
    xs.push_back(sequence_features(model, seqs[t], L, progress).to(torch::kCPU));
    ys.push_back(
        torch::full({static_cast<int64_t>(seqs[t].size())}, static_cast<int64_t>(t), torch::kLong));
    progress.report(0.4 * double(t + 1) / double(seqs.size()));
  }
  const auto X = torch::cat(xs, 0), y = torch::cat(ys, 0);
  const auto mean = X.mean(0), std = X.std(0, /*unbiased=*/false).clamp_min(1e-6);
  const auto Z = (X - mean) / std;
  auto W = torch::zeros({X.size(1), K}, torch::kFloat32).requires_grad_(true);
  auto b = torch::zeros({K}, torch::kFloat32).requires_grad_(true);
  // Multinomial logistic regression, full batch (deterministic: no sampling).
  torch::optim::Adam opt({W, b}, torch::optim::AdamOptions(o.lr));
  GateRecord rec;
  for (int64_t step = 0; step < o.steps; ++step) {
    progress.check_cancelled();
    opt.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(torch::matmul(Z, W) + b, y) +
                o.weight_decay * W.pow(2).sum();
    loss.backward();
    opt.step();
    rec.losses.push_back(loss.item<double>());
    if (o.on_step) o.on_step(step, rec.losses.back());
    progress.report(0.4 + 0.5 * double(step + 1) / double(o.steps), "router: training");
  }
  Gate g;
  g.kind = GateKind::Moa;
  g.experts = experts;
  g.router =
      std::make_unique<TaskRouter>(o.router, W.detach().clone(), b.detach().clone(), mean, std);
  rec.steps = o.steps;
  rec.batch_size = X.size(0);
  rec.lr = o.lr;
  rec.seed = o.seed;
  for (const auto& t : tasks)
    rec.tasks.push_back(t.name);
  jobs::CallbackProgress sub([&](double f, const std::string&) {
    progress.report(0.9 + 0.1 * f, "router: routing accuracy");
    return !progress.cancelled();
  });
  rec.routing_accuracy =
      router_confusion(model, *g.router, tok, tasks, o.eval_split, o.eval_limit, sub).accuracy;
  rec.train_seconds = seconds_since(t0);
  g.record = rec;
  progress.report(1.0, "router trained");
  return g;
}

Gate build_arrow_gate(const std::vector<std::shared_ptr<const Adapter>>& experts,
                      const ArrowOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  Gate g;
  g.kind = GateKind::Arrow;
  g.experts = experts;
  g.arrow = ArrowGate::build(experts, options);
  g.record.train_seconds = seconds_since(t0);
  return g;
}

RoutingConfusion router_confusion(const CausalLM& model, const TaskRouter& router,
                                  const Tokenizer& tok, const std::vector<TaskSpec>& tasks,
                                  const std::string& split, size_t limit,
                                  jobs::Progress& progress) {
  const auto seqs = task_sequences(model, tok, tasks, split, limit);
  RoutingConfusion c;
  for (size_t t = 0; t < seqs.size(); ++t) {
    const auto logits =
        router.logits(sequence_features(model, seqs[t], router.resolved_layer(model), progress));
    const auto coeffs = router.coefficients(logits).to(torch::kCPU, torch::kFloat64);
    const auto share = coeffs.mean(0);
    std::vector<double> row;
    for (int64_t k = 0; k < share.size(0); ++k)
      row.push_back(share[k].item<double>());
    c.share.push_back(row);
    c.accuracy.push_back((logits.argmax(-1).to(torch::kCPU) == static_cast<int64_t>(t))
                             .to(torch::kFloat64)
                             .mean()
                             .item<double>());
    progress.report(double(t + 1) / double(seqs.size()), "routing " + tasks[t].name);
  }
  return c;
}

}  // namespace basin
