#include "train/trainer.h"

#include <cmath>
#include <numeric>
#include <random>

#include "model/generate.h"
#include "train/train_loop.h"
#include "util/errors.h"
#include "util/strings.h"

namespace basin {

Adapter train_lora(const CausalLM& base, const std::vector<TrainExample>& data,
                   const LoraOptions& lora, const TrainOptions& o, jobs::Progress& progress,
                   TrainReport* report) {
  check_train_data(data, o);
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
  run_train_loop(
      params, data, o, dev, progress, report,
      [&](const TrainBatch& b) {
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
  check_train_data(data, o);
  const auto dev = model.parameters().at("model.embed_tokens.weight").device();
  std::vector<at::Tensor> params;
  for (auto& [name, t] : model.parameters()) {
    t = t.detach().clone().requires_grad_(true);
    params.push_back(t);
  }
  try {
    run_train_loop(
        params, data, o, dev, progress, report,
        [&](const TrainBatch& b) {
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
    const TrainBatch b = make_train_batch(data, idx, dev);
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
