#include "landscape/sweep.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <nlohmann/json.hpp>

#include "analysis/curve_metrics.h"
#include "io/json_numbers.h"
#include "util/errors.h"
#include "util/strings.h"

namespace basin {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Point combine(const Endpoint& a, const Endpoint& b, double alpha) {
  if (a.coeffs.size() != b.coeffs.size())
    throw InputError("endpoints '" + a.label + "' and '" + b.label +
                     "' have different numbers of coefficients");
  Point c(a.coeffs.size());
  for (size_t k = 0; k < c.size(); ++k)
    c[k] = alpha * a.coeffs[k] + (1.0 - alpha) * b.coeffs[k];
  return c;
}

}  // namespace

std::vector<double> sweep_alphas(const SweepRange& r) {
  if (!std::isfinite(r.alpha_min) || r.alpha_min < -0.5 || r.alpha_min > 1.5)
    throw InputError("alpha min " + format_double(r.alpha_min) + " is outside [-0.5, 1.5]");
  if (!std::isfinite(r.alpha_max) || r.alpha_max < -0.5 || r.alpha_max > 1.5)
    throw InputError("alpha max " + format_double(r.alpha_max) + " is outside [-0.5, 1.5]");
  if (!(r.alpha_min < r.alpha_max))
    throw InputError("alpha min " + format_double(r.alpha_min) + " must be below alpha max " +
                     format_double(r.alpha_max));
  if (r.intervals < 1 || r.intervals > 1000)
    throw InputError("intervals " + std::to_string(r.intervals) + " must be in 1 … 1000");
  std::vector<double> a(static_cast<size_t>(r.intervals) + 1);
  const double step = (r.alpha_max - r.alpha_min) / r.intervals;
  for (int i = 0; i <= r.intervals; ++i) {
    a[static_cast<size_t>(i)] = r.alpha_min + step * i;
    // Snap to exact grid values (0 and 1 matter for the barriers).
    const double snapped = std::round(a[static_cast<size_t>(i)] * 1e9) / 1e9;
    if (std::abs(snapped - a[static_cast<size_t>(i)]) < 1e-12) a[static_cast<size_t>(i)] = snapped;
  }
  a.back() = r.alpha_max;
  return a;
}

namespace {
// Curve statistics are undefined (NaN) while any value is missing or not finite.
bool all_finite(const std::vector<double>& v) {
  for (double x : v)
    if (!std::isfinite(x)) return false;
  return !v.empty();
}
}  // namespace

double Curve::convexity_gap() const {
  return all_finite(loss) ? basin::convexity_gap(alpha, loss) : kNaN;
}
double Curve::barrier() const {
  return all_finite(loss) ? barrier_height(alpha, loss) : kNaN;
}
double Curve::error_barrier() const {
  return all_finite(token_error) ? basin::error_barrier(alpha, token_error) : kNaN;
}
std::vector<double> Curve::hull() const {
  return all_finite(loss) ? lower_convex_hull(alpha, loss)
                          : std::vector<double>(alpha.size(), kNaN);
}

std::vector<double> Curve::chord() const {
  double l0 = kNaN, l1 = kNaN;
  for (size_t i = 0; i < alpha.size(); ++i) {
    if (std::abs(alpha[i]) < 1e-9) l0 = loss[i];
    if (std::abs(alpha[i] - 1.0) < 1e-9) l1 = loss[i];
  }
  std::vector<double> c(alpha.size());
  for (size_t i = 0; i < alpha.size(); ++i)
    c[i] = (1.0 - alpha[i]) * l0 + alpha[i] * l1;
  return c;
}

nlohmann::json Curve::to_json() const {
  nlohmann::json j = {{"a", a},
                      {"b", b},
                      {"alpha", json_numbers(alpha)},
                      {"loss", json_numbers(loss)},
                      {"token_error", json_numbers(token_error)},
                      {"convexity_gap", json_numbers({convexity_gap()})[0]},
                      {"barrier", json_numbers({barrier()})[0]},
                      {"error_barrier", json_numbers({error_barrier()})[0]}};
  if (!metric.empty()) {
    j["metric"] = metric;
    j["metric_value"] = json_numbers(metric_value);
  }
  return j;
}

Curve Curve::from_json(const nlohmann::json& j) {
  Curve c;
  try {
    c.a = j.at("a").get<std::string>();
    c.b = j.at("b").get<std::string>();
    c.alpha = numbers_from_json(j.at("alpha"));
    c.loss = numbers_from_json(j.at("loss"));
    c.token_error = numbers_from_json(j.at("token_error"));
    c.metric = j.value("metric", "");
    if (j.contains("metric_value")) c.metric_value = numbers_from_json(j["metric_value"]);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(std::string("bad sweep curve in JSON: ") + e.what());
  }
  if (c.loss.size() != c.alpha.size() || c.token_error.size() != c.alpha.size() ||
      (!c.metric.empty() && c.metric_value.size() != c.alpha.size()))
    throw InputError("sweep curve '" + c.a + "' ↔ '" + c.b + "': arrays differ in length");
  for (size_t i = 1; i < c.alpha.size(); ++i)
    if (!(c.alpha[i] > c.alpha[i - 1]))
      throw InputError("sweep curve '" + c.a + "' ↔ '" + c.b + "': alpha must increase");
  return c;
}

std::string Curve::to_csv() const {
  std::string out = "alpha,loss,token_error";
  if (!metric.empty()) out += "," + csv_field(metric);
  out += ",hull,chord\n";
  const auto h = hull();
  const auto ch = chord();
  for (size_t i = 0; i < alpha.size(); ++i) {
    out += format_double(alpha[i]) + "," + format_double(loss[i]) + "," +
           format_double(token_error[i]);
    if (!metric.empty()) out += "," + format_double(metric_value[i]);
    out += "," + format_double(h[i]) + "," +
           (std::isfinite(ch[i]) ? format_double(ch[i]) : std::string()) + "\n";
  }
  return out;
}

Curve Curve::concatenate(const std::vector<Curve>& blocks) {
  if (blocks.empty()) throw InputError("sweep: no shares to gather");
  Curve c;
  c.a = blocks.front().a;
  c.b = blocks.front().b;
  c.metric = blocks.front().metric;
  for (size_t i = 0; i < blocks.size(); ++i) {
    const Curve& p = blocks[i];
    if (p.a != c.a || p.b != c.b || p.metric != c.metric)
      throw InputError("sweep: share " + std::to_string(i) +
                       " is another path or metric than share 0");
    if (!p.alpha.empty() && !c.alpha.empty() && !(p.alpha.front() > c.alpha.back()))
      throw InputError("sweep: share " + std::to_string(i) +
                       "'s α do not follow the shares before it");
    c.alpha.insert(c.alpha.end(), p.alpha.begin(), p.alpha.end());
    c.loss.insert(c.loss.end(), p.loss.begin(), p.loss.end());
    c.token_error.insert(c.token_error.end(), p.token_error.begin(), p.token_error.end());
    c.metric_value.insert(c.metric_value.end(), p.metric_value.begin(), p.metric_value.end());
  }
  return c;
}

Curve sweep(const PointEvaluator& eval, const Endpoint& a, const Endpoint& b,
            const std::vector<double>& alphas, jobs::Progress& progress) {
  std::vector<Point> points;
  for (double al : alphas)
    points.push_back(combine(a, b, al));
  const auto scores = points.empty()
                          ? std::vector<PointScore>{}
                          : eval.evaluate(points, progress, "sweep " + a.label + " ↔ " + b.label);
  Curve c;
  c.a = a.label;
  c.b = b.label;
  c.alpha = alphas;
  for (const auto& s : scores) {
    c.loss.push_back(s.loss);
    c.token_error.push_back(s.token_error);
  }
  return c;
}

size_t ConnectivityResult::pair_index(size_t i, size_t j) const {
  const size_t n = labels.size();
  if (i >= j || j >= n) throw InputError("pair index needs i < j < n");
  // Pairs before row i: (n−1) + (n−2) + … + (n−i).
  return i * (2 * n - i - 1) / 2 + (j - i - 1);
}

const Curve* ConnectivityResult::curve(size_t i, size_t j) const {
  if (i == j || i >= labels.size() || j >= labels.size()) return nullptr;
  const size_t k = pair_index(std::min(i, j), std::max(i, j));
  return k < curves.size() && !curves[k].alpha.empty() ? &curves[k] : nullptr;
}

size_t ConnectivityResult::computed_pairs() const {
  return size_t(
      std::count_if(curves.begin(), curves.end(), [](const Curve& c) { return !c.alpha.empty(); }));
}

PairwiseMatrix ConnectivityResult::matrix(const std::string& which) const {
  if (which != "convexity_gap" && which != "barrier" && which != "error_barrier")
    throw InputError("unknown connectivity matrix '" + which +
                     "' (convexity_gap, barrier, error_barrier)");
  PairwiseMatrix m;
  m.metric = which;
  m.labels = labels;
  const auto n = static_cast<Eigen::Index>(labels.size());
  m.values = Eigen::MatrixXd::Constant(n, n, kNaN);
  for (Eigen::Index i = 0; i < n; ++i) {
    m.values(i, i) = 0.0;
    for (Eigen::Index j = i + 1; j < n; ++j) {
      const Curve* c = curve(size_t(i), size_t(j));
      if (!c) continue;
      const double v = which == "convexity_gap" ? c->convexity_gap()
                       : which == "barrier"     ? c->barrier()
                                                : c->error_barrier();
      m.values(i, j) = m.values(j, i) = v;
    }
  }
  return m;
}

nlohmann::json ConnectivityResult::to_json() const {
  nlohmann::json cs = nlohmann::json::array();
  for (const auto& c : curves)
    cs.push_back(c.alpha.empty() ? nlohmann::json(nullptr) : c.to_json());
  return {{"labels", labels},
          {"alphas", json_numbers(alphas)},
          {"curves", cs},
          {"convexity_gap", matrix("convexity_gap").to_json()},
          {"barrier", matrix("barrier").to_json()},
          {"error_barrier", matrix("error_barrier").to_json()}};
}

ConnectivityResult ConnectivityResult::from_json(const nlohmann::json& j) {
  ConnectivityResult r;
  try {
    r.labels = j.at("labels").get<std::vector<std::string>>();
    r.alphas = numbers_from_json(j.at("alphas"));
    for (const auto& c : j.at("curves"))
      r.curves.push_back(c.is_null() ? Curve{} : Curve::from_json(c));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(std::string("bad connectivity result in JSON: ") + e.what());
  }
  // A matrix of 2,048 models already has 2 million pairs; a file naming more is not one Basin
  // wrote, and sizing the pairs from it could exhaust memory (partial results, basin-cli gather).
  constexpr size_t kMaxModels = 2048;
  if (r.labels.size() > kMaxModels)
    throw InputError("connectivity result names " + std::to_string(r.labels.size()) +
                     " models; at most " + std::to_string(kMaxModels) + " are read");
  if (r.curves.size() > pair_count(r.labels.size()))
    throw InputError("connectivity result has more curves than pairs");
  for (size_t k = 0; k < r.curves.size(); ++k)
    if (!r.curves[k].alpha.empty() && r.curves[k].alpha.size() != r.alphas.size())
      throw InputError("connectivity result: curve " + std::to_string(k) + " has " +
                       std::to_string(r.curves[k].alpha.size()) + " points, the grid " +
                       std::to_string(r.alphas.size()));
  return r;
}

ConnectivityResult ConnectivityResult::gather(const std::vector<ConnectivityResult>& shares) {
  if (shares.empty()) throw InputError("connectivity: no shares to gather");
  ConnectivityResult r;
  r.labels = shares.front().labels;
  r.alphas = shares.front().alphas;
  const size_t pairs = pair_count(r.labels.size());
  r.curves.assign(pairs, Curve{});
  for (size_t s = 0; s < shares.size(); ++s) {
    const auto& sh = shares[s];
    if (sh.labels != r.labels || sh.alphas != r.alphas)
      throw InputError("connectivity: share " + std::to_string(s) +
                       " has other models or another α grid than share 0");
    for (size_t k = 0; k < sh.curves.size(); ++k) {
      if (sh.curves[k].alpha.empty()) continue;
      if (!r.curves[k].alpha.empty())
        throw InputError("connectivity: pair " + std::to_string(k) + " (" + sh.curves[k].a + " ↔ " +
                         sh.curves[k].b + ") is in two shares");
      r.curves[k] = sh.curves[k];
    }
  }
  for (size_t k = 0; k < pairs; ++k)
    if (r.curves[k].alpha.empty())
      throw InputError("connectivity: pair " + std::to_string(k) + " is in no share");
  return r;
}

ConnectivityResult connectivity(
    const PointEvaluator& eval, const std::vector<Endpoint>& models,
    const std::vector<double>& alphas, jobs::Progress& progress,
    const std::function<void(const ConnectivityResult& partial)>& on_pair,
    const jobs::Shard& shard) {
  if (models.size() < 2) throw InputError("connectivity needs at least 2 models");
  ConnectivityResult r;
  for (const auto& m : models)
    r.labels.push_back(m.label);
  r.alphas = alphas;
  const size_t n = models.size(), all_pairs = ConnectivityResult::pair_count(n);
  const auto [first, last] = shard.block(all_pairs);
  const size_t pairs = last - first;
  // The pairs (i, j) of this share, in pair order, and the models they use.
  std::vector<std::pair<size_t, size_t>> todo;
  std::vector<char> used(n, 0);
  for (size_t i = 0, k = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j, ++k)
      if (k >= first && k < last) {
        todo.emplace_back(i, j);
        used[i] = used[j] = 1;
      }
  r.curves.assign(first, Curve{});
  // Each model alone is the same point in every pair it belongs to: score it once.
  std::vector<Point> singles;
  std::vector<size_t> single_of(n, 0);
  for (size_t i = 0; i < n; ++i)
    if (used[i]) {
      single_of[i] = singles.size();
      singles.push_back(models[i].coeffs);
    }
  const double single_share =
      double(singles.size()) / double(std::max<size_t>(1, singles.size() + pairs * alphas.size()));
  jobs::CallbackProgress sp([&](double f, const std::string&) {
    progress.report(single_share * f, "scoring each model alone");
    return !progress.cancelled();
  });
  const auto alone = singles.empty() ? std::vector<PointScore>{}
                                     : eval.evaluate(singles, sp, "scoring each model alone");
  progress.check_cancelled();
  size_t done = 0;
  for (const auto& [i, j] : todo) {
    Curve c;
    c.a = models[i].label;
    c.b = models[j].label;
    c.alpha = alphas;
    c.loss.assign(alphas.size(), kNaN);
    c.token_error.assign(alphas.size(), kNaN);
    std::vector<Point> pts;
    std::vector<size_t> where;
    for (size_t t = 0; t < alphas.size(); ++t) {
      if (std::abs(alphas[t] - 1.0) < 1e-12) {
        c.loss[t] = alone[single_of[i]].loss;
        c.token_error[t] = alone[single_of[i]].token_error;
      } else if (std::abs(alphas[t]) < 1e-12) {
        c.loss[t] = alone[single_of[j]].loss;
        c.token_error[t] = alone[single_of[j]].token_error;
      } else {
        pts.push_back(combine(models[i], models[j], alphas[t]));
        where.push_back(t);
      }
    }
    const double begin = single_share + (1 - single_share) * double(done) / double(pairs);
    const double span = (1 - single_share) / double(pairs);
    const std::string stage = "pair " + std::to_string(first + done + 1) + "/" +
                              std::to_string(all_pairs) + ": " + c.a + " ↔ " + c.b;
    jobs::CallbackProgress pp([&](double f, const std::string&) {
      progress.report(begin + span * f, stage);
      return !progress.cancelled();
    });
    const auto scores = eval.evaluate(pts, pp, stage);
    progress.check_cancelled();
    for (size_t k = 0; k < where.size(); ++k) {
      c.loss[where[k]] = scores[k].loss;
      c.token_error[where[k]] = scores[k].token_error;
    }
    r.curves.push_back(std::move(c));
    ++done;
    progress.report(single_share + (1 - single_share) * double(done) / double(pairs), stage);
    if (on_pair) on_pair(r);
  }
  if (!shard.whole()) r.curves.resize(all_pairs);
  return r;
}

}  // namespace basin
