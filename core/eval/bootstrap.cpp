#include "eval/bootstrap.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "eval/task_eval.h"
#include "util/errors.h"

namespace basin {

DiffInterval paired_bootstrap_diff(TaskMetric metric, const std::vector<std::string>& a,
                                   const std::vector<std::string>& b,
                                   const std::vector<std::string>& refs,
                                   const BootstrapOptions& o) {
  if (a.size() != refs.size() || b.size() != refs.size() || refs.empty())
    throw InputError("bootstrap: " + std::to_string(a.size()) + " and " + std::to_string(b.size()) +
                     " predictions for " + std::to_string(refs.size()) + " references");
  if (o.resamples < 10 || !(o.level > 0 && o.level < 1))
    throw InputError("bootstrap: needs at least 10 resamples and a level in (0, 1)");
  DiffInterval out;
  out.diff = score_predictions(metric, a, refs) - score_predictions(metric, b, refs);
  std::mt19937_64 rng(o.seed);
  const size_t n = refs.size();
  std::vector<std::string> ra(n), rb(n), rr(n);
  std::vector<double> diffs;
  diffs.reserve(size_t(o.resamples));
  for (int s = 0; s < o.resamples; ++s) {
    for (size_t i = 0; i < n; ++i) {
      const size_t j = size_t(rng() % n);
      ra[i] = a[j];
      rb[i] = b[j];
      rr[i] = refs[j];
    }
    diffs.push_back(score_predictions(metric, ra, rr) - score_predictions(metric, rb, rr));
  }
  std::sort(diffs.begin(), diffs.end());
  const double tail = (1 - o.level) / 2;
  const auto at = [&](double q) {
    const double pos = q * double(diffs.size() - 1);
    return diffs[size_t(std::lround(pos))];
  };
  out.low = at(tail);
  out.high = at(1 - tail);
  return out;
}

}  // namespace basin
