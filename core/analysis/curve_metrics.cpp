#include "analysis/curve_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "util/errors.h"

namespace basin {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void check_curve(const std::vector<double>& t, const std::vector<double>& y) {
  if (t.size() != y.size())
    throw InputError("curve has " + std::to_string(t.size()) + " positions but " +
                     std::to_string(y.size()) + " values");
  for (size_t i = 1; i < t.size(); ++i)
    if (!(t[i] > t[i - 1])) throw InputError("curve positions must increase strictly");
  for (double v : y)
    if (!std::isfinite(v)) throw InputError("curve holds a non-finite value");
}

// Index of the grid point at exactly `v` (grids are built as min + i·step, so 0 and 1 are
// matched with a small tolerance), or -1.
int find_position(const std::vector<double>& t, double v) {
  for (size_t i = 0; i < t.size(); ++i)
    if (std::abs(t[i] - v) <= 1e-9) return static_cast<int>(i);
  return -1;
}

// max over t in [0,1] of y(t) − chord(t), the chord through (0, y0) and (1, y1).
double rise_over_chord(const std::vector<double>& t, const std::vector<double>& y) {
  const int i0 = find_position(t, 0.0), i1 = find_position(t, 1.0);
  if (i0 < 0 || i1 < 0) return kNaN;
  double best = -std::numeric_limits<double>::infinity();
  for (int i = i0; i <= i1; ++i)
    best = std::max(best, y[i] - ((1.0 - t[i]) * y[i0] + t[i] * y[i1]));
  return best;
}

}  // namespace

// Andrew's monotone chain (lower half), then linear interpolation between hull vertices.
std::vector<double> lower_convex_hull(const std::vector<double>& t, const std::vector<double>& y) {
  check_curve(t, y);
  std::vector<size_t> hull;
  for (size_t i = 0; i < t.size(); ++i) {
    while (hull.size() >= 2) {
      const size_t a = hull[hull.size() - 2], b = hull.back();
      // Drop b when it lies on or above the segment a → i.
      const double cross = (t[b] - t[a]) * (y[i] - y[a]) - (y[b] - y[a]) * (t[i] - t[a]);
      if (cross <= 0) {
        hull.pop_back();
      } else {
        break;
      }
    }
    hull.push_back(i);
  }
  std::vector<double> out(t.size());
  size_t seg = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    while (seg + 1 < hull.size() && hull[seg + 1] < i)
      ++seg;
    const size_t a = hull[seg];
    if (a == i || seg + 1 >= hull.size()) {
      out[i] = y[i];  // a hull vertex
      continue;
    }
    const size_t b = hull[seg + 1];
    const double w = (t[i] - t[a]) / (t[b] - t[a]);
    out[i] = (1.0 - w) * y[a] + w * y[b];
  }
  return out;
}

double convexity_gap(const std::vector<double>& t, const std::vector<double>& y) {
  const int i = convexity_gap_index(t, y);
  if (i < 0) return kNaN;
  return std::max(0.0, y[i] - lower_convex_hull(t, y)[i]);
}

int convexity_gap_index(const std::vector<double>& t, const std::vector<double>& y) {
  if (t.empty()) return -1;
  const auto hull = lower_convex_hull(t, y);
  int best = 0;
  for (size_t i = 1; i < t.size(); ++i)
    if (y[i] - hull[i] > y[best] - hull[best]) best = static_cast<int>(i);
  return best;
}

double barrier_height(const std::vector<double>& t, const std::vector<double>& y) {
  check_curve(t, y);
  return rise_over_chord(t, y);
}

double error_barrier(const std::vector<double>& t, const std::vector<double>& err) {
  check_curve(t, err);
  const int i0 = find_position(t, 0.0), i1 = find_position(t, 1.0);
  if (i0 < 0 || i1 < 0) return kNaN;
  double worst = err[i0];
  for (int i = i0; i <= i1; ++i)
    worst = std::max(worst, err[i]);
  return worst - 0.5 * (err[i0] + err[i1]);
}

}  // namespace basin
