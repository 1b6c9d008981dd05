#include "train/train_loop.h"

#include <cmath>
#include <numeric>
#include <random>

#include "util/errors.h"
#include "util/strings.h"

namespace basin {

TrainBatch make_train_batch(const std::vector<TrainExample>& data, const std::vector<size_t>& idx,
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

void check_train_data(const std::vector<TrainExample>& data, const TrainOptions& o) {
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

void run_train_loop(std::vector<at::Tensor> params, const std::vector<TrainExample>& data,
                    const TrainOptions& o, torch::Device dev, jobs::Progress& progress,
                    TrainReport* report,
                    const std::function<at::Tensor(const TrainBatch&)>& loss_of,
                    const std::function<void()>& refresh, const std::string& stage) {
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
    const TrainBatch b = make_train_batch(data, idx, dev);
    double factor = std::min(1.0, double(step + 1) / double(warmup));
    if (o.cosine_decay && step >= warmup) {
      const double t = double(step - warmup) / double(std::max<int64_t>(1, o.steps - warmup));
      factor = 0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * t));
    }
    for (auto& g : opt.param_groups())
      static_cast<torch::optim::AdamWOptions&>(g.options()).lr(o.lr * factor);
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
    if (report) {
      report->losses.push_back(l);
      if (report->on_step) report->on_step(step, l);
    }
    progress.report(double(step + 1) / double(o.steps), stage);
  }
}

}  // namespace basin
