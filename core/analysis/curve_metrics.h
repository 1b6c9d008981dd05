// Shape statistics of a loss curve along a straight path in weight space: the convexity gap
// (Juneja et al. 2022), the loss barrier (Entezari et al. 2022) and the error barrier
// (Frankle et al. 2020). Pure functions on (t, value) samples; t strictly increasing.
#pragma once

#include <vector>

namespace basin {

// The lower convex hull of the points (t_i, y_i), evaluated at every t_i (monotone chain).
std::vector<double> lower_convex_hull(const std::vector<double>& t, const std::vector<double>& y);

// Convexity gap: the largest rise of the curve above the chord over any sub-segment of the
// path, on a grid max_i (y_i − hull(t_i)) ≥ 0. 0 for a convex curve.
double convexity_gap(const std::vector<double>& t, const std::vector<double>& y);
// Index where the convexity gap is reached (the first one on ties).
int convexity_gap_index(const std::vector<double>& t, const std::vector<double>& y);

// Loss barrier (Entezari et al. 2022, eq. 1): max over t in [0,1] of
// y(t) − ((1−t) y(0) + t y(1)). Needs grid points at t = 0 and t = 1 (NaN otherwise);
// points outside [0,1] (extrapolation) are ignored. Can be negative (no barrier at all).
double barrier_height(const std::vector<double>& t, const std::vector<double>& y);

// Error barrier (Frankle et al. 2020, "instability"): max over t in [0,1] of err(t) minus the
// mean of err(0) and err(1). Needs grid points at 0 and 1 (NaN otherwise).
double error_barrier(const std::vector<double>& t, const std::vector<double>& err);

}  // namespace basin
