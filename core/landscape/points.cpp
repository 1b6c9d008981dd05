#include "landscape/points.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <numeric>

#include <torch/torch.h>

#include "jobs/parallel.h"
#include "util/errors.h"
#include "util/runtime.h"

namespace basin {

std::vector<Endpoint> bank_endpoints(const std::vector<std::string>& labels) {
  std::vector<Endpoint> out;
  for (size_t k = 0; k < labels.size(); ++k) {
    Point c(labels.size(), 0.0);
    c[k] = 1.0;
    out.push_back({labels[k], c});
  }
  return out;
}

namespace {

// Example indices, longest first (stable): similar lengths share a batch, and memory peaks in
// the first batch.
std::vector<size_t> longest_first(const std::vector<TrainExample>& ex) {
  std::vector<size_t> order(ex.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return ex[a].ids.size() > ex[b].ids.size(); });
  return order;
}

// Per-point sums over the answer tokens, and the scores they give.
struct Tally {
  std::vector<double> nll;
  std::vector<int64_t> tokens, wrong;
  explicit Tally(size_t points) : nll(points, 0.0), tokens(points, 0), wrong(points, 0) {}
  std::vector<PointScore> scores() const {
    std::vector<PointScore> out(nll.size());
    for (size_t p = 0; p < nll.size(); ++p) {
      out[p].tokens = tokens[p];
      out[p].loss = tokens[p] ? nll[p] / double(tokens[p]) : 0.0;
      out[p].token_error = tokens[p] ? double(wrong[p]) / double(tokens[p]) : 0.0;
    }
    return out;
  }
};

}  // namespace

int64_t EvalSet::target_tokens() const {
  int64_t n = 0;
  for (const auto& e : examples)
    for (size_t t = 1; t < e.target.size(); ++t)
      n += e.target[t] ? 1 : 0;
  return n;
}

PointEvaluator::PointEvaluator(const CausalLM& model, EvalSet data, int64_t max_rows,
                               EvalRoute route)
    : model_(model),
      data_(std::move(data)),
      max_rows_(std::max<int64_t>(1, max_rows)),
      route_(route) {
  if (data_.examples.empty()) throw InputError("the evaluation set is empty");
  for (size_t i = 0; i < data_.examples.size(); ++i) {
    const auto& e = data_.examples[i];
    if (e.ids.size() != e.target.size() || e.ids.empty())
      throw InputError("evaluation example " + std::to_string(i) + " is malformed");
  }
  if (data_.target_tokens() == 0) throw InputError("the evaluation set has no target tokens");
}

std::vector<PointScore> PointEvaluator::evaluate(const std::vector<Point>& points,
                                                 jobs::Progress& progress,
                                                 const std::string& stage) const {
  const int64_t K = model_.lora_bank_size();
  for (size_t p = 0; p < points.size(); ++p) {
    if (static_cast<int64_t>(points[p].size()) != K)
      throw InputError("point " + std::to_string(p) + " has " + std::to_string(points[p].size()) +
                       " coefficients; the LoRA bank holds " + std::to_string(K) + " adapters");
    for (double c : points[p])
      if (!std::isfinite(c))
        throw InputError("point " + std::to_string(p) + " has a non-finite coefficient");
  }
  if (route_ == EvalRoute::kReference) return evaluate_reference(points, progress, stage);
  torch::NoGradGuard no_grad;
  const auto dev = model_.parameters().at("model.embed_tokens.weight").device();
  const auto& ex = data_.examples;
  const int64_t P = static_cast<int64_t>(points.size());
  constexpr int64_t kTokenBudget = 4096;  // rows × length per batch: activations stay small
  // A batch is one run of examples of similar length (longest first; each at least 3/4 of the
  // run's longest or at most 8 tokens shorter, so padding stays small) at G points, rows point
  // by point: the model may then merge each point's ΔW into its weights once per batch
  // (row_groups).
  const std::vector<size_t> order = longest_first(ex);
  const auto len = [&](size_t i) { return static_cast<int64_t>(ex[order[i]].ids.size()); };
  struct Run {
    size_t begin, end;
    int64_t L;
  };
  std::vector<Run> runs;
  for (size_t i = 0; i < order.size();) {
    const int64_t L = len(i);
    size_t j = i + 1;
    while (j < order.size() && int64_t(j - i + 1) * L <= kTokenBudget &&
           int64_t(j - i + 1) <= max_rows_ && (len(j) * 4 >= L * 3 || L - len(j) <= 8))
      ++j;
    runs.push_back({i, j, L});
    i = j;
  }
  // The batches: each run at G points at a time.
  struct Batch {
    size_t run;
    int64_t p0, G;
  };
  std::vector<Batch> batches;
  for (size_t r = 0; r < runs.size(); ++r) {
    const int64_t n = static_cast<int64_t>(runs[r].end - runs[r].begin);
    for (int64_t p0 = 0; p0 < P;) {
      const int64_t G = std::min({P - p0, std::max<int64_t>(1, max_rows_ / n),
                                  std::max<int64_t>(1, kTokenBudget / (n * runs[r].L))});
      batches.push_back({r, p0, G});
      p0 += G;
    }
  }
  // Each batch tallies its own points; the tallies are summed in batch order afterwards, so
  // the scores do not depend on how many workers ran or which batch finished first.
  std::vector<Tally> parts(batches.size(), Tally(0));
  const int64_t total = P * static_cast<int64_t>(ex.size());
  std::mutex progress_mu;
  int64_t done = 0, passes = 0;
  progress.report(0.0, stage);
  auto run_batch = [&](size_t bi, const std::atomic<bool>& stop) {
    if (stop.load()) return;
    progress.check_cancelled();
    const Batch& batch = batches[bi];
    const Run& run = runs[batch.run];
    const int64_t n = static_cast<int64_t>(run.end - run.begin), L = run.L, G = batch.G;
    const int64_t p0 = batch.p0, B = G * n;
    Tally& part = parts[bi];
    part = Tally(static_cast<size_t>(G));
    auto ids = torch::zeros({B, L}, torch::kLong);
    auto attn = torch::zeros({B, L}, torch::kLong);
    auto coeffs = torch::zeros({B, std::max<int64_t>(K, 1)}, torch::kFloat32);
    auto ia = ids.accessor<int64_t, 2>();
    auto aa = attn.accessor<int64_t, 2>();
    auto ca = coeffs.accessor<float, 2>();
    // Answer positions: logits at t−1 predict target token t.
    std::vector<int64_t> pos, next, group_of;
    for (int64_t g = 0; g < G; ++g) {
      const auto& pt = points[static_cast<size_t>(p0 + g)];
      for (int64_t e = 0; e < n; ++e) {
        const int64_t b = g * n + e;
        const auto& x = ex[order[run.begin + static_cast<size_t>(e)]];
        for (size_t t = 0; t < x.ids.size(); ++t) {
          ia[b][int64_t(t)] = x.ids[t];
          aa[b][int64_t(t)] = 1;
          if (t > 0 && x.target[t]) {
            pos.push_back(b * L + int64_t(t) - 1);
            next.push_back(x.ids[t]);
            group_of.push_back(g);
          }
        }
        for (int64_t k = 0; k < K; ++k)
          ca[b][k] = static_cast<float>(pt[static_cast<size_t>(k)]);
      }
    }
    if (!pos.empty()) {
      LmForwardOptions fo;
      fo.attention_mask = attn.to(dev);
      if (K > 0) fo.lora_coeffs = coeffs.to(dev);
      fo.row_groups = G;
      fo.lora_route = lora_route_;
      fo.logit_positions = torch::tensor(pos, torch::kLong).to(dev);
      const auto logits = model_.forward(ids.to(dev), fo).logits;  // [N, V]
      const auto nx = torch::tensor(next, torch::kLong).to(dev);
      // log p = logit[target] − logsumexp(logits)
      const auto logp = (logits.gather(1, nx.unsqueeze(1)).squeeze(1) - logits.logsumexp(1))
                            .to(torch::kCPU, torch::kFloat64)
                            .contiguous();
      const auto miss = logits.argmax(1).ne(nx).to(torch::kCPU).contiguous();
      const double* lp = logp.data_ptr<double>();
      const bool* ms = miss.data_ptr<bool>();
      for (size_t m = 0; m < pos.size(); ++m) {
        const auto g = static_cast<size_t>(group_of[m]);
        part.nll[g] -= lp[m];
        part.wrong[g] += ms[m] ? 1 : 0;
        part.tokens[g] += 1;
      }
    }
    std::lock_guard<std::mutex> lock(progress_mu);
    passes += pos.empty() ? 0 : 1;
    done += B;
    progress.report(double(done) / double(total), stage);
  };
  // On the CPU the batches run side by side, one compute thread each (jobs/parallel.h).
  const int workers = dev.is_cpu() ? (workers_ > 0 ? workers_ : compute_threads()) : 1;
  last_workers_ = jobs::parallel_tasks(batches.size(), workers, run_batch);
  forward_passes_ += passes;
  Tally tally(points.size());
  for (size_t bi = 0; bi < batches.size(); ++bi)
    for (size_t g = 0; g < parts[bi].nll.size(); ++g) {
      const auto p = static_cast<size_t>(batches[bi].p0) + g;
      tally.nll[p] += parts[bi].nll[g];
      tally.wrong[p] += parts[bi].wrong[g];
      tally.tokens[p] += parts[bi].tokens[g];
    }
  return tally.scores();
}

std::vector<PointScore> PointEvaluator::evaluate_reference(const std::vector<Point>& points,
                                                           jobs::Progress& progress,
                                                           const std::string& stage) const {
  const int64_t K = model_.lora_bank_size();
  torch::NoGradGuard no_grad;
  const auto dev = model_.parameters().at("model.embed_tokens.weight").device();
  const auto& ex = data_.examples;
  const int64_t E = static_cast<int64_t>(ex.size()), P = static_cast<int64_t>(points.size());
  const std::vector<size_t> order = longest_first(ex);  // row r is example order[r % E]
  Tally tally(points.size());
  const int64_t V = model_.config().vocab_size;
  constexpr double kLogitBudget = 64.0 * 1024 * 1024;  // floats of logits per batch (256 MB)
  const int64_t total = P * E;
  progress.report(0.0, stage);
  for (int64_t r = 0; r < total;) {
    progress.check_cancelled();
    const int64_t T = static_cast<int64_t>(ex[order[static_cast<size_t>(r % E)]].ids.size());
    const int64_t budget_rows = std::max<int64_t>(1, int64_t(kLogitBudget / double(T * V)));
    const int64_t B = std::min({max_rows_, budget_rows, total - r});
    // Batch length: the longest row in it (rows are sorted within each point's run).
    int64_t L = 0;
    for (int64_t b = 0; b < B; ++b)
      L = std::max<int64_t>(L, int64_t(ex[order[static_cast<size_t>((r + b) % E)]].ids.size()));
    auto ids = torch::zeros({B, L}, torch::kLong);
    auto attn = torch::zeros({B, L}, torch::kLong);
    auto tgt = torch::zeros({B, L}, torch::kFloat32);
    auto coeffs = torch::zeros({B, std::max<int64_t>(K, 1)}, torch::kFloat32);
    auto ia = ids.accessor<int64_t, 2>();
    auto aa = attn.accessor<int64_t, 2>();
    auto ta = tgt.accessor<float, 2>();
    auto ca = coeffs.accessor<float, 2>();
    std::vector<int64_t> row_point(static_cast<size_t>(B));
    for (int64_t b = 0; b < B; ++b) {
      const int64_t p = (r + b) / E;
      row_point[static_cast<size_t>(b)] = p;
      const auto& e = ex[order[static_cast<size_t>((r + b) % E)]];
      for (size_t t = 0; t < e.ids.size(); ++t) {
        ia[b][int64_t(t)] = e.ids[t];
        aa[b][int64_t(t)] = 1;
        ta[b][int64_t(t)] = t > 0 && e.target[t] ? 1.f : 0.f;
      }
      for (int64_t k = 0; k < K; ++k)
        ca[b][k] = static_cast<float>(points[static_cast<size_t>(p)][static_cast<size_t>(k)]);
    }
    LmForwardOptions fo;
    fo.attention_mask = attn.to(dev);
    if (K > 0) fo.lora_coeffs = coeffs.to(dev);
    fo.active_adapters_only = false;
    const auto logits = model_.forward(ids.to(dev), fo).logits.narrow(1, 0, L - 1);
    ++forward_passes_;
    // Logits at t−1 predict token t: log p = logit[target] − logsumexp(logits).
    const auto next = ids.narrow(1, 1, L - 1).to(dev);
    const auto logp = logits.gather(-1, next.unsqueeze(-1)).squeeze(-1) - logits.logsumexp(-1);
    const auto miss = logits.argmax(-1).ne(next).to(torch::kFloat32);
    const auto m = tgt.narrow(1, 1, L - 1).to(dev);
    const auto row_nll = (-logp.to(torch::kFloat64) * m).sum(1).cpu();
    const auto row_miss = (miss * m).sum(1).cpu();
    const auto row_tok = m.sum(1).cpu();
    for (int64_t b = 0; b < B; ++b) {
      const auto p = static_cast<size_t>(row_point[static_cast<size_t>(b)]);
      tally.nll[p] += row_nll[b].item<double>();
      tally.wrong[p] += static_cast<int64_t>(std::lround(row_miss[b].item<double>()));
      tally.tokens[p] += static_cast<int64_t>(std::lround(row_tok[b].item<double>()));
    }
    r += B;
    progress.report(double(r) / double(total), stage);
  }
  return tally.scores();
}

}  // namespace basin
