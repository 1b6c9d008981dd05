#include "landscape/soup.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <nlohmann/json.hpp>

#include "io/json_numbers.h"
#include "util/errors.h"

namespace basin {
namespace {

std::vector<double> checked(const std::vector<double>& losses, size_t expected) {
  if (losses.size() != expected)
    throw InputError("soup: the loss function returned " + std::to_string(losses.size()) +
                     " values for " + std::to_string(expected) + " points");
  for (double l : losses)
    if (std::isnan(l)) throw InputError("soup: the loss is NaN at a point");
  return losses;
}

}  // namespace

// Algorithm 1 of the uniformity study (greedy soup with interpolation), in coefficient space.
SoupResult greedy_soup(const std::vector<std::string>& labels, const PointLossFn& loss,
                       jobs::Progress& progress) {
  const size_t n = labels.size();
  if (n == 0) throw InputError("soup needs at least one ingredient");
  SoupResult r;
  r.labels = labels;
  // Every ingredient alone, and the uniform soup, in one batch.
  std::vector<Point> first;
  for (size_t i = 0; i < n; ++i) {
    Point c(n, 0.0);
    c[i] = 1.0;
    first.push_back(c);
  }
  r.uniform_coeffs.assign(n, 1.0 / double(n));
  first.push_back(r.uniform_coeffs);
  progress.report(0.0, "soup: each ingredient alone");
  const auto l0 = checked(loss(first), n + 1);
  progress.check_cancelled();
  r.single_loss.assign(l0.begin(), l0.begin() + static_cast<long>(n));
  r.uniform_loss = l0[n];
  r.order.resize(n);
  std::iota(r.order.begin(), r.order.end(), 0);
  std::stable_sort(r.order.begin(), r.order.end(),
                   [&](int a, int b) { return r.single_loss[a] < r.single_loss[b]; });
  r.coeffs = first[static_cast<size_t>(r.order[0])];
  r.loss = r.single_loss[static_cast<size_t>(r.order[0])];
  for (size_t s = 1; s < n; ++s) {
    progress.check_cancelled();
    progress.report(double(s) / double(n), "soup: trying " + labels[r.order[s]]);
    const auto& ingredient = first[static_cast<size_t>(r.order[s])];
    std::vector<Point> tries;
    for (int k = 1; k <= 4; ++k) {  // θ' = (k θ_g + (5−k) θ_i) / 5
      Point c(n);
      for (size_t j = 0; j < n; ++j)
        c[j] = (k * r.coeffs[j] + (5 - k) * ingredient[j]) / 5.0;
      tries.push_back(c);
    }
    SoupStep step;
    step.candidate = labels[static_cast<size_t>(r.order[s])];
    step.tried = checked(loss(tries), 4);
    const auto best = std::min_element(step.tried.begin(), step.tried.end());
    if (*best < r.loss) {
      step.accepted_k = static_cast<int>(best - step.tried.begin()) + 1;
      r.coeffs = tries[static_cast<size_t>(step.accepted_k - 1)];
      r.loss = *best;
    }
    step.loss = r.loss;
    step.coeffs = r.coeffs;
    r.steps.push_back(step);
  }
  progress.report(1.0, "soup done");
  return r;
}

nlohmann::json SoupResult::to_json() const {
  nlohmann::json steps_json = nlohmann::json::array();
  for (const auto& s : steps)
    steps_json.push_back({{"candidate", s.candidate},
                          {"tried", s.tried},
                          {"accepted_k", s.accepted_k},
                          {"loss", s.loss},
                          {"coeffs", s.coeffs}});
  return {{"labels", labels},
          {"single_loss", single_loss},
          {"order", order},
          {"coeffs", coeffs},
          {"loss", loss},
          {"steps", steps_json},
          {"uniform_coeffs", uniform_coeffs},
          {"uniform_loss", uniform_loss}};
}

SoupResult SoupResult::from_json(const nlohmann::json& j) {
  SoupResult r;
  try {
    r.labels = j.at("labels").get<std::vector<std::string>>();
    r.single_loss = j.at("single_loss").get<std::vector<double>>();
    if (!j.at("order").is_array()) throw InputError("soup result in JSON: 'order' is no array");
    for (const auto& o : j.at("order"))
      r.order.push_back(json_integer<int>(o, "soup order"));
    r.coeffs = j.at("coeffs").get<std::vector<double>>();
    r.loss = j.at("loss").get<double>();
    for (const auto& s : j.at("steps")) {
      SoupStep st;
      st.candidate = s.at("candidate").get<std::string>();
      st.tried = s.at("tried").get<std::vector<double>>();
      st.accepted_k = json_integer<int>(s.at("accepted_k"), "soup accepted_k");
      st.loss = s.at("loss").get<double>();
      st.coeffs = s.at("coeffs").get<std::vector<double>>();
      r.steps.push_back(st);
    }
    r.uniform_coeffs = j.at("uniform_coeffs").get<std::vector<double>>();
    r.uniform_loss = j.at("uniform_loss").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(std::string("bad soup result in JSON: ") + e.what());
  }
  const size_t n = r.labels.size();
  if (r.single_loss.size() != n || r.order.size() != n || r.coeffs.size() != n ||
      r.uniform_coeffs.size() != n)
    throw InputError("soup result in JSON: arrays differ from the number of ingredients");
  for (int o : r.order)
    if (o < 0 || size_t(o) >= n) throw InputError("soup result in JSON: bad order entry");
  return r;
}

PointLossFn evaluator_loss(const PointEvaluator& eval, jobs::Progress& job,
                           std::vector<size_t> slots) {
  return [&eval, &job, slots = std::move(slots)](const std::vector<Point>& points) {
    const auto K = static_cast<size_t>(eval.bank_size());
    std::vector<Point> full;
    for (const auto& p : points) {
      Point q(K, 0.0);
      for (size_t i = 0; i < p.size(); ++i) {
        const size_t k = slots.empty() ? i : slots.at(i);
        if (k >= K)
          throw InputError("soup ingredient " + std::to_string(i) + " is not in the bank");
        q[k] = p[i];
      }
      full.push_back(std::move(q));
    }
    jobs::CallbackProgress relay([&job](double, const std::string&) { return !job.cancelled(); });
    std::vector<double> out;
    for (const auto& s : eval.evaluate(full, relay, "soup"))
      out.push_back(s.loss);
    job.check_cancelled();
    return out;
  };
}

}  // namespace basin
