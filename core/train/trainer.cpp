#include "train/trainer.h"

#include <cmath>
#include <numeric>
#include <random>

#include "model/generate.h"
#include "util/errors.h"
#include "util/strings.h"

namespace basin {
namespace {

struct Batch {
  at::Tensor ids, attn, target;
};

Batch make_batch(const std::vector<TrainExample>& data, const std::vector<size_t>& idx,
                 torch::Device dev) {
  size_t T = 0;
  for (auto i : idx)
    T = std::max(T, data[i].ids.size());
  const int64_t B = static_cast<int64_t>(idx.size());
  auto ids = torch::zeros({B, static_cast<int64_t>(T)}, torch::kLong);
  auto attn = torch::zeros({B, static_cast<int64_t>(T)}, torch::kLong);
  auto target = torch::zeros({B, static_cast<int64_t>(T)}, torch::kLong);
  auto pi = ids.accessor<int64_t, 2>(), pa = attn.accessor<int64_t, 2>(),
       pt = target.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; ++b) {
    const auto& ex = data[idx[static_cast<size_t>(b)]];
    for (size_t t = 0; t < ex.ids.size(); ++t) {
      pi[b][static_cast<int64_t>(t)] = ex.ids[t];
      pa[b][static_cast<int64_t>(t)] = 1;
      pt[b][static_cast<int64_t>(t)] = t < ex.target.size() ? ex.target[t] : 0;
    }
  }
  return {ids.to(dev), attn.to(dev), target.to(dev)};
}

void check_data(const std::vector<TrainExample>& data, const TrainOptions& o) {
  if (data.empty()) throw InputError("training data is empty");
  if (o.steps <= 0) throw InputError("steps must be positive, got " + std::to_string(o.steps));
  if (o.batch_size <= 0)
    throw InputError("batch size must be positive, got " + std::to_string(o.batch_size));
  if (!(o.lr > 0) || !std::isfinite(o.lr))
    throw InputError("learning rate must be positive, got " + format_double(o.lr));
  for (size_t i = 0; i < data.size(); ++i)
    if (data[i].ids.size() < 2)
      throw InputError("training example " + std::to_string(i + 1) + " has fewer than 2 tokens");
}

// The optimisation loop shared by LoRA and full training. `before_step` refreshes anything
// derived from the parameters (the LoRA bank); `loss_of` computes the batch loss.
template <typename LossFn, typename RefreshFn>
void run_loop(std::vector<at::Tensor> params, const std::vector<TrainExample>& data,
              const TrainOptions& o, torch::Device dev, jobs::Progress& progress,
              TrainReport* report, LossFn loss_of, RefreshFn refresh, const std::string& stage) {
  torch::optim::AdamW opt(params, torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay));
  std::mt19937_64 rng(o.seed);
  std::vector<size_t> order(data.size());
  std::iota(order.begin(), order.end(), 0);
  size_t pos = order.size();
  const int64_t warmup = std::max<int64_t>(1, o.steps / 20);
  for (int64_t step = 0; step < o.steps; ++step) {
    progress.check_cancelled();
    std::vector<size_t> idx;
    while (static_cast<int64_t>(idx.size()) < o.batch_size) {
      if (pos == order.size()) {
        std::shuffle(order.begin(), order.end(), rng);
        pos = 0;
      }
      idx.push_back(order[pos++]);
      if (static_cast<int64_t>(idx.size()) >= static_cast<int64_t>(data.size())) break;
    }
    const Batch b = make_batch(data, idx, dev);
    for (auto& g : opt.param_groups())
      static_cast<torch::optim::AdamWOptions&>(g.options())
          .lr(o.lr * std::min(1.0, double(step + 1) / warmup));
    refresh();
    opt.zero_grad();
    at::Tensor loss = loss_of(b);
    loss.backward();
    if (o.max_grad_norm > 0) torch::nn::utils::clip_grad_norm_(params, o.max_grad_norm);
    opt.step();
    const double l = loss.item<double>();
    if (!std::isfinite(l))
      throw InputError("training diverged (loss " + format_double(l) + " at step " +
                       std::to_string(step + 1) + "); lower the learning rate");
    if (report) report->losses.push_back(l);
    progress.report(double(step + 1) / double(o.steps), stage);
  }
}

}  // namespace

Adapter train_lora(const CausalLM& base, const std::vector<TrainExample>& data,
                   const LoraOptions& lora, const TrainOptions& o, jobs::Progress& progress,
                   TrainReport* report) {
  check_data(data, o);
  if (lora.rank <= 0)
    throw InputError("LoRA rank must be positive, got " + std::to_string(lora.rank));
  const auto dev = base.parameters().at("model.embed_tokens.weight").device();
  auto a = std::make_shared<Adapter>();
  a->name = lora.name;
  a->config.r = lora.rank;
  a->config.lora_alpha = lora.alpha;
  a->config.use_rslora = lora.use_rslora;
  a->config.task_type = "CAUSAL_LM";
  auto gen = at::detail::createCPUGenerator(o.seed * 7919 + 1);
  std::vector<at::Tensor> params;
  PeftLoraConfig selector;  // PEFT's list rule: a full name or a ".suffix"
  selector.target_modules = lora.target_modules;
  for (const auto& target : base.lora_targets()) {
    if (selector.target_modules.empty() || !selector.targets(target)) continue;
    const auto& W = base.parameters().at(target + ".weight");
    LoraModule m;
    m.name = target;
    const double bound = 1.0 / std::sqrt(double(W.size(1)));  // kaiming_uniform_(a=√5)
    m.A = ((torch::rand({lora.rank, W.size(1)}, gen, torch::kFloat32) * 2 - 1) * bound)
              .to(dev)
              .requires_grad_(true);
    m.B = torch::zeros({W.size(0), lora.rank},
                       torch::TensorOptions().dtype(torch::kFloat32).device(dev))
              .requires_grad_(true);
    m.alpha = lora.alpha;
    m.scale = lora_scale(lora.alpha, lora.rank, lora.use_rslora);
    params.push_back(m.A);
    params.push_back(m.B);
    a->modules.push_back(std::move(m));
  }
  if (a->modules.empty())
    throw InputError("no module of the model matches target_modules (" +
                     join(lora.target_modules, ", ") + ")");
  a->config.target_modules = lora.target_modules;
  CausalLM model = base;  // shares the frozen weights; only the bank differs
  const auto ones = torch::ones({1, 1}, torch::TensorOptions().dtype(torch::kFloat32).device(dev));
  run_loop(
      params, data, o, dev, progress, report,
      [&](const Batch& b) {
        const auto r =
            sequence_nll(model, b.ids, b.attn, b.target, ones.expand({b.ids.size(0), 1}));
        return r.nll.sum() / r.tokens.sum().clamp_min(1);
      },
      [&] { model.set_lora_bank({a}); }, "training LoRA " + lora.name);
  Adapter out = *a;
  for (auto& m : out.modules) {
    m.A = m.A.detach().to(torch::kCPU).contiguous();
    m.B = m.B.detach().to(torch::kCPU).contiguous();
  }
  sort_modules(out.modules);
  return out;
}

void train_full(CausalLM& model, const std::vector<TrainExample>& data, const TrainOptions& o,
                jobs::Progress& progress, TrainReport* report) {
  check_data(data, o);
  const auto dev = model.parameters().at("model.embed_tokens.weight").device();
  std::vector<at::Tensor> params;
  for (auto& [name, t] : model.parameters()) {
    t = t.detach().clone().requires_grad_(true);
    params.push_back(t);
  }
  try {
    run_loop(
        params, data, o, dev, progress, report,
        [&](const Batch& b) {
          const auto r = sequence_nll(model, b.ids, b.attn, b.target);
          return r.nll.sum() / r.tokens.sum().clamp_min(1);
        },
        [] {}, "pre-training the base model");
  } catch (...) {
    for (auto& [name, t] : model.parameters())
      t = t.detach();
    throw;
  }
  for (auto& [name, t] : model.parameters())
    t = t.detach();
}

double mean_nll(const CausalLM& model, const std::vector<TrainExample>& data, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  const auto dev = model.parameters().at("model.embed_tokens.weight").device();
  double nll = 0;
  int64_t n = 0;
  for (size_t s = 0; s < data.size(); s += static_cast<size_t>(batch_size)) {
    std::vector<size_t> idx;
    for (size_t i = s; i < std::min(data.size(), s + static_cast<size_t>(batch_size)); ++i)
      idx.push_back(i);
    const Batch b = make_batch(data, idx, dev);
    at::Tensor coeffs;
    if (model.lora_bank_size() > 0)
      coeffs =
          torch::ones({b.ids.size(0), model.lora_bank_size()}, torch::TensorOptions().device(dev));
    const auto r = sequence_nll(model, b.ids, b.attn, b.target, coeffs);
    nll += r.nll.sum().item<double>();
    n += r.tokens.sum().item<int64_t>();
  }
  return n ? nll / double(n) : 0.0;
}

}  // namespace basin
