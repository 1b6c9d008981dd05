#include "report/captions.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "landscape/multitask.h"
#include "landscape/soup.h"
#include "landscape/surface.h"
#include "landscape/sweep.h"
#include "util/strings.h"

namespace basin {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string num(double v) {
  return caption_number(v);
}

std::string percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %%", v + 0.0);
  return buf;
}

std::string pair(const std::vector<std::string>& labels, size_t i, size_t j) {
  return labels[i] + "–" + labels[j];  // en dash
}

// Off-diagonal entries i < j of a matrix, skipping `skip` (npos: none) and non-finite values.
struct PairStats {
  size_t count = 0;
  double mean = kNaN;
  double lo = kNaN, hi = kNaN;
  size_t lo_i = 0, lo_j = 0, hi_i = 0, hi_j = 0;
};

PairStats pair_stats(const Eigen::MatrixXd& v, bool absolute, size_t skip = size_t(-1)) {
  PairStats s;
  double sum = 0;
  for (Eigen::Index i = 0; i < v.rows(); ++i)
    for (Eigen::Index j = i + 1; j < v.cols(); ++j) {
      if (size_t(i) == skip || size_t(j) == skip) continue;
      double x = v(i, j);
      if (!std::isfinite(x)) continue;
      if (absolute) x = std::abs(x);
      if (s.count == 0 || x < s.lo) s.lo = x, s.lo_i = size_t(i), s.lo_j = size_t(j);
      if (s.count == 0 || x > s.hi) s.hi = x, s.hi_i = size_t(i), s.hi_j = size_t(j);
      sum += x;
      ++s.count;
    }
  if (s.count) s.mean = sum / double(s.count);
  return s;
}

bool is_reference_row(const std::string& m) {
  return m == "oracle" || m == "base";
}

std::string count_text(const std::vector<size_t>& n) {
  size_t lo = 0, hi = 0;
  for (size_t x : n) {
    if (x == 0) continue;
    lo = lo == 0 ? x : std::min(lo, x);
    hi = std::max(hi, x);
  }
  if (hi == 0) return "";
  return lo == hi ? std::to_string(lo) : std::to_string(lo) + "–" + std::to_string(hi);
}

}  // namespace

std::string caption_number(double v) {
  if (!std::isfinite(v)) return "—";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  std::string s = buf;
  if (s == "-0.000") s = "0.000";
  return s;
}

Caption cosine_caption(const PairwiseMatrix& cosine) {
  const size_t n = cosine.labels.size();
  if (n < 2)
    return {"Only one adapter: there is no pair to compare.", "Its cosine with itself is 1."};
  const PairStats s = pair_stats(cosine.values, /*absolute=*/true);
  if (s.count == 0)
    return {"No pair of the " + std::to_string(n) + " adapters has a defined cosine.",
            "An adapter whose ΔW is zero has no direction."};
  const std::string shape = s.mean < 0.1   ? "nearly orthogonal"
                            : s.mean < 0.3 ? "weakly aligned"
                                           : "strongly aligned";
  return {"The " + std::to_string(n) + " adapters are " + shape + ": mean |cos| " + num(s.mean) +
              ", largest " + num(s.hi) + " (" + pair(cosine.labels, s.hi_i, s.hi_j) + ").",
          "Smallest |cos| " + num(s.lo) + " (" + pair(cosine.labels, s.lo_i, s.lo_j) + "); over " +
              std::to_string(s.count) +
              " pairs, cos near 0 means their updates barely interfere when summed."};
}

Caption multitask_caption(const MultitaskResult& r) {
  if (r.tables.empty()) return {"No multitask study was run.", ""};
  const auto& full = r.full();
  const MultitaskRow* oracle = nullptr;
  for (const auto& row : full.rows)
    if (row.method == "oracle") oracle = &row;
  std::vector<std::string> solved;
  for (size_t t = 0; oracle && t < oracle->scores.size() && t < r.tasks.size(); ++t)
    if (std::isfinite(oracle->scores[t]) && oracle->scores[t] > 0) solved.push_back(r.tasks[t]);

  // Best router-free method per task count.
  struct Best {
    int count;
    std::string method;
    double score;
  };
  std::vector<Best> best;
  for (const auto& t : r.tables) {
    Best b{t.task_count, "", kNaN};
    for (const auto& row : t.rows) {
      if (is_reference_row(row.method) || is_gate_method(row.method)) continue;
      if (std::isfinite(row.multitask_score) && !(row.multitask_score <= b.score))
        b = {t.task_count, row.method, row.multitask_score};
    }
    if (!b.method.empty()) best.push_back(b);
  }
  const std::string n_tasks = std::to_string(full.task_count);
  if (best.empty())
    return {"No multitask score on this run: each task's own adapter scores above 0 on " +
                std::to_string(solved.size()) + " of " + n_tasks + " tasks.",
            "A share of an oracle score of 0 is undefined, so the bars show the raw metric of " +
                std::to_string(full.rows.size()) + " rows (oracle, base and the methods)."};
  bool same = true;
  for (const auto& b : best)
    same = same && b.method == best[0].method;
  std::string head;
  if (same) {
    head = best[0].method + " keeps " + num(best[0].score) + " of the oracles at " +
           std::to_string(best[0].count) + " tasks";
    for (size_t k = 1; k < best.size(); ++k)
      head += (k + 1 == best.size() ? " and " : ", ") + num(best[k].score) + " at " +
              std::to_string(best[k].count);
  } else {
    for (size_t k = 0; k < best.size(); ++k)
      head += (k ? "; " : "") + best[k].method + " keeps " + num(best[k].score) + " at " +
              std::to_string(best[k].count) + " tasks";
  }
  std::string detail = "Base model";
  for (size_t k = 0; k < r.tables.size(); ++k) {
    double b = kNaN;
    for (const auto& row : r.tables[k].rows)
      if (row.method == "base") b = row.multitask_score;
    detail += (k ? ", " : " ") + num(b) + " at " + std::to_string(r.tables[k].task_count);
  }
  for (const auto& row : full.rows)
    if (is_gate_method(row.method))
      detail += "; " + row.method + " " + num(row.multitask_score) + " at " + n_tasks;
  detail += ". The score counts the " + std::to_string(solved.size()) + " of " + n_tasks +
            " tasks whose own adapter scores above 0 (" + join(solved, ", ") + ").";
  return {"Best router-free merge: " + head + ".", detail};
}

Caption convexity_caption(const ConnectivityResult& result) {
  const PairwiseMatrix m = result.matrix("convexity_gap");
  const PairStats s = pair_stats(m.values, /*absolute=*/false);
  if (s.count == 0) return {"No pair of models was computed.", ""};
  // Each model's own loss, from any computed curve it ends (α = 1 at the lower index).
  double lo = kNaN, hi = kNaN, sum = 0;
  size_t have = 0;
  for (size_t i = 0; i < result.labels.size(); ++i) {
    double own = kNaN;
    for (size_t j = 0; j < result.labels.size() && !std::isfinite(own); ++j) {
      const Curve* c = j == i ? nullptr : result.curve(i, j);
      const double at = i < j ? 1.0 : 0.0;
      for (size_t t = 0; c && t < c->alpha.size(); ++t)
        if (std::abs(c->alpha[t] - at) < 1e-12) own = c->loss[t];
    }
    if (!std::isfinite(own)) continue;
    lo = have ? std::min(lo, own) : own;
    hi = have ? std::max(hi, own) : own;
    sum += own;
    ++have;
  }
  const Caption head{"Largest convexity gap " + num(s.hi) + " (" + pair(m.labels, s.hi_i, s.hi_j) +
                         "); mean " + num(s.mean) + " over " + std::to_string(s.count) + " pairs.",
                     ""};
  if (!have || sum <= 0) return head;
  const double share = 100.0 * s.hi / (sum / double(have));
  return {head.headline, "The models' own losses run " + num(lo) + "–" + num(hi) +
                             ", so the largest gap is " + percent(share) + " of their mean: " +
                             (share <= 2.0 ? "the paths are nearly convex (one basin)."
                                           : "some paths bulge above their chords.")};
}

Caption cka_caption(const PairwiseMatrix& cka) {
  const size_t n = cka.labels.size();
  if (n < 2) return {"Only one model: there is no pair to compare.", ""};
  const auto it = std::find(cka.labels.begin(), cka.labels.end(), "base");
  if (it == cka.labels.end()) {
    const PairStats s = pair_stats(cka.values, false);
    return {"CKA between the " + std::to_string(n) + " models runs " + num(s.lo) + "–" + num(s.hi) +
                "; the least similar pair is " + pair(cka.labels, s.lo_i, s.lo_j) + ".",
            "Mean " + num(s.mean) + " over " + std::to_string(s.count) +
                " pairs; 1 means the same representation up to rotation and scale."};
  }
  const size_t b = size_t(it - cka.labels.begin());
  double lo = kNaN, hi = kNaN;
  size_t lo_k = 0;
  for (size_t k = 0; k < n; ++k) {
    const double v = cka.values(Eigen::Index(b), Eigen::Index(k));
    if (k == b || !std::isfinite(v)) continue;
    if (!std::isfinite(lo) || v < lo) lo = v, lo_k = k;
    if (!std::isfinite(hi) || v > hi) hi = v;
  }
  Caption c{"CKA of the base model to the " + std::to_string(n - 1) + " adapters runs " + num(lo) +
                "–" + num(hi) + "; " + cka.labels[lo_k] + " moves furthest from the base.",
            "Only one adapter: no pair among the adapters."};
  const PairStats s = pair_stats(cka.values, false, b);
  if (s.count)
    c.detail = "Among the adapters: mean " + num(s.mean) + ", lowest " + num(s.lo) + " (" +
               pair(cka.labels, s.lo_i, s.lo_j) + "); 1 means the same representation.";
  return c;
}

Caption soup_caption(const SoupResult& soup) {
  const int b = soup.best_single();
  if (b < 0) return {"No soup was computed.", ""};
  const double best = soup.single_loss[size_t(b)];
  const double gain = best - soup.loss;
  const std::string n = std::to_string(soup.labels.size());
  Caption c{"Greedy soup: validation loss " + num(soup.loss) + " against " + num(best) +
                " for the best single adapter (" + soup.labels[size_t(b)] + "), a gain of " +
                num(gain) + " (" + percent(best != 0 ? 100.0 * gain / best : 0.0) + ").",
            ""};
  std::vector<std::string> used;
  for (size_t i = 0; i < soup.labels.size() && i < soup.coeffs.size(); ++i)
    if (soup.coeffs[i] != 0.0) used.push_back(soup.labels[i] + " " + num(soup.coeffs[i]));
  if (used.size() <= 1)
    c.detail = "No other ingredient lowered the loss, so the soup is " + soup.labels[size_t(b)] +
               " alone; the uniform soup of all " + n + " scores " + num(soup.uniform_loss) + ".";
  else
    c.detail = "It mixes " + std::to_string(used.size()) + " of " + n + " ingredients (" +
               join(used, ", ") + "); the uniform soup of all " + n + " scores " +
               num(soup.uniform_loss) + ".";
  return c;
}

Caption surface_caption(const SurfaceResult& s) {
  if (s.loss.size() == 0 || s.x.empty() || s.y.empty()) return {"No surface was computed.", ""};
  Eigen::Index iy = 0, ix = 0;
  const double lo = s.loss.minCoeff(&iy, &ix);
  const double x = s.x[size_t(ix)], y = s.y[size_t(iy)];
  // Barycentric coordinates of (x, y) in the triangle of the three anchors.
  const double x0 = s.anchor_x[0], y0 = s.anchor_y[0];
  const double d = (s.anchor_y[1] - s.anchor_y[2]) * (x0 - s.anchor_x[2]) +
                   (s.anchor_x[2] - s.anchor_x[1]) * (y0 - s.anchor_y[2]);
  bool inside = false;
  if (d != 0) {
    const double l0 = ((s.anchor_y[1] - s.anchor_y[2]) * (x - s.anchor_x[2]) +
                       (s.anchor_x[2] - s.anchor_x[1]) * (y - s.anchor_y[2])) /
                      d;
    const double l1 =
        ((s.anchor_y[2] - y0) * (x - s.anchor_x[2]) + (x0 - s.anchor_x[2]) * (y - s.anchor_y[2])) /
        d;
    const double eps = 1e-9;
    inside = l0 >= -eps && l1 >= -eps && 1.0 - l0 - l1 >= -eps;
  }
  const auto nearest = [](const std::vector<double>& g, double v) {
    size_t best = 0;
    for (size_t k = 1; k < g.size(); ++k)
      if (std::abs(g[k] - v) < std::abs(g[best] - v)) best = k;
    return Eigen::Index(best);
  };
  std::string at;
  for (int k = 0; k < 3; ++k)
    at += std::string(k == 0   ? ""
                      : k == 1 ? ", "
                               : " and ") +
          num(s.loss(nearest(s.y, s.anchor_y[size_t(k)]), nearest(s.x, s.anchor_x[size_t(k)]))) +
          " (" + s.labels[size_t(k)] + ")";
  return {"Lowest loss on the plane " + num(lo) + " at (" + num(x) + ", " + num(y) + "), " +
              (inside ? "inside" : "outside") + " the triangle of " + s.labels[0] + ", " +
              s.labels[1] + " and " + s.labels[2] + "; highest " + num(s.loss.maxCoeff()) + ".",
          "At the grid points nearest the three models the loss is " + at + "."};
}

Caption oracle_vs_base_caption(const OracleVsBase& scores) {
  size_t both = 0, better = 0, ci_known = 0, ci_clear = 0;
  bool all_zero = true;
  double sum_b = 0, sum_o = 0, best_gain = kNaN;
  const TaskScore* best = nullptr;
  std::vector<size_t> n;
  for (const auto& t : scores.tasks) {
    n.push_back(t.n);
    if (!std::isfinite(t.base) || !std::isfinite(t.oracle)) continue;
    ++both;
    sum_b += t.base;
    sum_o += t.oracle;
    all_zero = all_zero && t.base == 0 && t.oracle == 0;
    if (t.oracle > t.base) ++better;
    const double gain = t.oracle - t.base;
    if (!best || gain > best_gain) best = &t, best_gain = gain;
    if (scores.has_interval && std::isfinite(t.diff.low) && std::isfinite(t.diff.high)) {
      ++ci_known;
      if (t.diff.low > 0 || t.diff.high < 0) ++ci_clear;
    }
  }
  const std::string nt = count_text(n);
  const std::string from =
      (nt.empty() ? "" : nt + " ") + scores.split + " examples per task, from " + scores.source;
  if (both == 0)
    return {"No task has both a base and an own-adapter score.", "Scores: " + from + "."};
  if (all_zero)
    return {"Neither the base model nor any task's own adapter answers correctly: every score is " +
                num(0.0) + " on the " + std::to_string(both) + " tasks.",
            "Scored on " + from + "; the model is too small to generate these answers."};
  std::string detail = "Mean over tasks: base " + num(sum_b / double(both)) + ", own adapter " +
                       num(sum_o / double(both));
  if (ci_known)
    detail += "; the 95 % interval of the difference excludes 0 on " + std::to_string(ci_clear) +
              " of " + std::to_string(ci_known) + " tasks";
  return {"Each task's own adapter beats the base model on " + std::to_string(better) + " of " +
              std::to_string(both) + " tasks; the largest gain is " + num(best_gain) + " " +
              best->metric + " on " + best->task + " (" + num(best->base) + " → " +
              num(best->oracle) + ").",
          detail + " (" + from + ")."};
}

namespace {

std::string weights_text(int64_t n) {
  if (n <= 0) return "";
  char buf[48];
  std::snprintf(buf, sizeof buf, " (%.2f M weights)", double(n) / 1e6);
  return buf;
}

}  // namespace

Caption model_sizes_caption(const ModelSizes& s) {
  if (s.sizes.size() < 2) return {"Only one model size was studied.", ""};
  const size_t lo = 0, hi = s.sizes.size() - 1;
  const ModelSize &small = s.sizes[lo], &large = s.sizes[hi];
  const double ms = s.mean_merge_score(lo), ml = s.mean_merge_score(hi);
  size_t merges = 0, wins = 0;
  std::string best_small, best_large;
  double bs = kNaN, bl = kNaN;
  for (size_t m = 0; m < s.methods.size(); ++m) {
    const std::string& method = s.methods[m];
    if (method == "base" || is_gate_method(method)) continue;
    const double a = small.scores[m], b = large.scores[m];
    if (std::isfinite(a) && !(a <= bs)) bs = a, best_small = method;
    if (std::isfinite(b) && !(b <= bl)) bl = b, best_large = method;
    if (!std::isfinite(a) || !std::isfinite(b)) continue;
    ++merges;
    wins += b > a ? 1 : 0;
  }
  const std::string n_tasks = std::to_string(s.task_count);
  const std::string on_small = " on " + small.name + weights_text(small.parameters);
  const std::string on_large = " on " + large.name + weights_text(large.parameters);
  std::string head;
  if (!std::isfinite(ms) || !std::isfinite(ml)) {
    const std::string where = !std::isfinite(ms) && !std::isfinite(ml) ? " on either model"
                              : std::isfinite(ms)                      ? on_large
                                                                       : on_small;
    head = "No comparison on this run: the router-free merges have no multitask score" + where +
           ", where no task's own adapter scores above 0";
  } else if (ml > ms) {
    head = "The larger model merges better on this run: the router-free merges keep " + num(ml) +
           " of the own adapters on average" + on_large + " vs " + num(ms) + on_small + "; " +
           std::to_string(wins) + " of " + std::to_string(merges) + " merges score higher";
  } else if (ml < ms) {
    head = "The larger model does not merge better on this run: the router-free merges keep " +
           num(ml) + " of the own adapters on average" + on_large + " vs " + num(ms) + on_small +
           "; " + std::to_string(wins) + " of " + std::to_string(merges) +
           " merges score higher on it";
  } else {
    head = "Both models merge equally well on this run: the router-free merges keep " + num(ml) +
           " of the own adapters on average" + on_large + " and" + on_small;
  }
  std::string detail =
      "Best merge at " + n_tasks +
      " tasks: " + (best_small.empty() ? "—" : best_small + " " + num(bs)) + " on " + small.name +
      ", " + (best_large.empty() ? "—" : best_large + " " + num(bl)) + " on " + large.name;
  for (size_t m = 0; m < s.methods.size(); ++m)
    if (s.methods[m] == "base" || is_gate_method(s.methods[m]))
      detail += "; " + s.methods[m] + " " + num(small.scores[m]) + " vs " + num(large.scores[m]);
  // The shares are relative to each model's own adapters: say how good those are.
  auto mean_oracle = [](const ModelSize& z) {
    double sum = 0;
    size_t n = 0;
    for (double v : z.oracle)
      if (std::isfinite(v)) sum += v, ++n;
    return n ? sum / double(n) : kNaN;
  };
  detail += ". Scores are shares of each model's own task adapters, which average " +
            num(mean_oracle(small)) + " on the tasks' metrics on " + small.name + " and " +
            num(mean_oracle(large)) + " on " + large.name + ".";
  return {head + ".", detail};
}

}  // namespace basin
