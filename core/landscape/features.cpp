#include "landscape/features.h"

#include <algorithm>
#include <mutex>
#include <numeric>
#include <random>

#include <torch/torch.h>

#include "jobs/parallel.h"
#include "util/errors.h"
#include "util/runtime.h"

namespace basin {

std::vector<std::string> select_inputs(const std::vector<TaskSpec>& tasks, const std::string& split,
                                       size_t count, uint64_t seed) {
  std::vector<std::string> all;
  for (const auto& t : tasks)
    for (const auto& row : t.load_split(split))
      all.push_back(t.render_prompt(row));
  if (all.empty()) throw InputError("no inputs in split '" + split + "' of the given tasks");
  if (count == 0) throw InputError("the number of inputs must be at least 1");
  if (all.size() <= count) return all;
  // Seeded choice without replacement (partial Fisher–Yates), kept in the tasks' order.
  std::vector<size_t> idx(all.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < count; ++i) {
    std::uniform_int_distribution<size_t> d(i, idx.size() - 1);
    std::swap(idx[i], idx[d(rng)]);
  }
  idx.resize(count);
  std::sort(idx.begin(), idx.end());
  std::vector<std::string> out;
  for (size_t i : idx)
    out.push_back(all[i]);
  return out;
}

std::vector<Eigen::MatrixXd> pooled_features(const CausalLM& model, const Tokenizer& tok,
                                             const std::vector<std::string>& inputs, int layer,
                                             const std::vector<Point>& points,
                                             jobs::Progress& progress, int64_t batch,
                                             EvalRoute route) {
  const int layers = static_cast<int>(model.config().num_hidden_layers);
  if (layer < 0) layer = layers;
  if (layer > layers)
    throw InputError("layer " + std::to_string(layer) + " is beyond the model's " +
                     std::to_string(layers) + " layers");
  if (inputs.empty()) throw InputError("CKA needs at least one input");
  const int64_t K = model.lora_bank_size();
  for (const auto& p : points)
    if (static_cast<int64_t>(p.size()) != K)
      throw InputError("a point has " + std::to_string(p.size()) +
                       " coefficients; the LoRA bank holds " + std::to_string(K));
  std::vector<std::vector<int32_t>> ids;
  for (size_t i = 0; i < inputs.size(); ++i) {
    ids.push_back(tok.encode(inputs[i]));
    bool plain = false;
    for (auto id : ids.back())
      plain = plain || !tok.is_special(id);
    if (!plain) throw InputError("input " + std::to_string(i + 1) + " has no non-special token");
  }
  torch::NoGradGuard no_grad;
  const auto dev = model.parameters().at("model.embed_tokens.weight").device();
  const int64_t N = static_cast<int64_t>(inputs.size()), P = static_cast<int64_t>(points.size());
  const int64_t d = model.config().hidden_size;
  std::vector<Eigen::MatrixXd> out(points.size(), Eigen::MatrixXd(N, d));
  const int64_t total = N * P;
  const bool fast = route == EvalRoute::kBank;
  // Row r is (input, point), point by point: a batch then uses one adapter of the bank (the
  // others drop out of it). kBank also walks each point's inputs longest first, so a batch's
  // rows have similar lengths; the reference keeps the inputs' order.
  std::vector<size_t> order(ids.size());
  std::iota(order.begin(), order.end(), 0);
  if (fast)
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return ids[a].size() > ids[b].size(); });
  const auto input_of = [&](int64_t row) { return order[size_t(row % N)]; };
  const auto point_of = [&](int64_t row) { return size_t(row / N); };
  batch = std::max<int64_t>(1, batch);
  // The batches, as (first row, rows).
  std::vector<std::pair<int64_t, int64_t>> batches;
  for (int64_t r = 0, B = 0; r < total; r += B) {
    // kBank: a batch stays within one point, whose rows come longest first, so the first
    // row's length bounds it; rows × length (activations) and rows × length² (attention
    // scores) stay bounded.
    B = std::min(batch, total - r);
    if (fast) {
      const int64_t L0 = int64_t(ids[input_of(r)].size());
      B = std::min<int64_t>({std::max<int64_t>(batch, 4096 / L0), 8192 / L0,
                             int64_t(1 << 20) / (L0 * L0), N - r % N});
      B = std::max<int64_t>(B, 1);
    }
    batches.emplace_back(r, B);
  }
  std::mutex progress_mu;
  int64_t done = 0;
  progress.report(0.0, "token states");
  // Each batch fills its own rows of `out`, so batches may run side by side.
  auto run_batch = [&](size_t bi, const std::atomic<bool>& stop) {
    if (stop.load()) return;
    progress.check_cancelled();
    const auto [r, B] = batches[bi];
    int64_t L = 0;
    for (int64_t b = 0; b < B; ++b)
      L = std::max<int64_t>(L, int64_t(ids[input_of(r + b)].size()));
    auto x = torch::zeros({B, L}, torch::kLong), attn = torch::zeros({B, L}, torch::kLong);
    auto pool = torch::zeros({B, L}, torch::kFloat32);
    auto coeffs = torch::zeros({B, std::max<int64_t>(K, 1)}, torch::kFloat32);
    auto xa = x.accessor<int64_t, 2>();
    auto aa = attn.accessor<int64_t, 2>();
    auto pa = pool.accessor<float, 2>();
    auto ca = coeffs.accessor<float, 2>();
    for (int64_t b = 0; b < B; ++b) {
      const auto& row = ids[input_of(r + b)];
      for (size_t t = 0; t < row.size(); ++t) {
        xa[b][int64_t(t)] = row[t];
        aa[b][int64_t(t)] = 1;
        pa[b][int64_t(t)] = tok.is_special(row[t]) ? 0.f : 1.f;
      }
      for (int64_t k = 0; k < K; ++k)
        ca[b][k] = static_cast<float>(points[point_of(r + b)][size_t(k)]);
    }
    LmForwardOptions fo;
    fo.attention_mask = attn.to(dev);
    fo.output_layer = layer;
    if (K > 0) fo.lora_coeffs = coeffs.to(dev);
    if (fast) {
      fo.logit_positions = torch::empty({0}, torch::TensorOptions().dtype(torch::kLong));
      fo.row_groups = 1;  // one point per batch: the model may merge its ΔW once (by cost)
    } else {
      fo.active_adapters_only = false;
    }
    const auto h = model.forward(x.to(dev), fo).hidden;  // [B, L, d]
    const auto m = pool.to(dev).unsqueeze(-1);
    const auto mean = ((h * m).sum(1) / m.sum(1)).to(torch::kCPU, torch::kFloat64).contiguous();
    const auto acc = mean.accessor<double, 2>();
    for (int64_t b = 0; b < B; ++b) {
      auto& f = out[point_of(r + b)];
      const auto i = static_cast<Eigen::Index>(input_of(r + b));
      for (int64_t j = 0; j < d; ++j)
        f(i, j) = acc[b][j];
    }
    std::lock_guard<std::mutex> lock(progress_mu);
    done += B;
    progress.report(double(done) / double(total), "token states");
  };
  // kBank on the CPU: batches side by side, one compute thread each (jobs/parallel.h).
  jobs::parallel_tasks(batches.size(), fast && dev.is_cpu() ? compute_threads() : 1, run_batch);
  progress.report(1.0, "token states");
  return out;
}

}  // namespace basin
