#include "landscape/surface.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Dense>
#include <nlohmann/json.hpp>

#include "analysis/pairwise_matrix.h"
#include "util/errors.h"
#include "util/strings.h"

namespace basin {
namespace {

nlohmann::json matrix_json(const Eigen::MatrixXd& m) {
  nlohmann::json rows = nlohmann::json::array();
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    nlohmann::json row = nlohmann::json::array();
    for (Eigen::Index j = 0; j < m.cols(); ++j)
      row.push_back(std::isfinite(m(i, j)) ? nlohmann::json(m(i, j)) : nlohmann::json());
    rows.push_back(row);
  }
  return rows;
}

Eigen::MatrixXd matrix_from(const nlohmann::json& j, size_t rows, size_t cols) {
  if (!j.is_array() || j.size() != rows)
    throw InputError("surface JSON: a grid has the wrong number of rows");
  Eigen::MatrixXd m(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
  for (size_t i = 0; i < rows; ++i) {
    if (!j[i].is_array() || j[i].size() != cols)
      throw InputError("surface JSON: grid row " + std::to_string(i) + " has the wrong length");
    for (size_t k = 0; k < cols; ++k)
      m(Eigen::Index(i), Eigen::Index(k)) =
          j[i][k].is_null() ? std::numeric_limits<double>::quiet_NaN() : j[i][k].get<double>();
  }
  return m;
}

}  // namespace

SurfaceResult loss_surface(const PointEvaluator& eval, const std::array<Endpoint, 3>& pts,
                           const Eigen::MatrixXd& bank_gram, const SurfaceOptions& o,
                           jobs::Progress& progress, const jobs::Shard& shard) {
  if (o.grid < 3 || o.grid > 201)
    throw InputError("surface grid " + std::to_string(o.grid) + " must be in 3 … 201");
  if (!std::isfinite(o.margin) || o.margin < 0 || o.margin > 2)
    throw InputError("surface margin " + format_double(o.margin) + " must be in 0 … 2");
  const auto K = eval.bank_size();
  if (bank_gram.rows() != K || bank_gram.cols() != K)
    throw InputError("surface: the Gram matrix is not " + std::to_string(K) + "×" +
                     std::to_string(K));
  Eigen::MatrixXd C(3, K);  // rows: the three points' coefficients
  for (int i = 0; i < 3; ++i) {
    if (static_cast<int64_t>(pts[size_t(i)].coeffs.size()) != K)
      throw InputError("surface point '" + pts[size_t(i)].label + "' has the wrong coefficients");
    for (int64_t k = 0; k < K; ++k)
      C(i, k) = pts[size_t(i)].coeffs[size_t(k)];
  }
  const Eigen::Matrix3d G = C * bank_gram * C.transpose();  // ⟨θ_i, θ_j⟩
  // Gram–Schmidt on d1 = θ2 − θ1, d2 = θ3 − θ1 with inner products from G.
  const auto inner = [&](const Eigen::Vector3d& u, const Eigen::Vector3d& v) {
    return u.dot(G * v);
  };
  const Eigen::Vector3d d1(-1, 1, 0), d2(-1, 0, 1);
  const double n1 = std::sqrt(std::max(0.0, inner(d1, d1)));
  const double scale = std::sqrt(std::max({G(0, 0), G(1, 1), G(2, 2), 1e-300}));
  if (n1 <= 1e-9 * scale)
    throw InputError("surface: '" + pts[0].label + "' and '" + pts[1].label +
                     "' are the same point");
  const double proj = inner(d2, d1) / n1;  // ⟨d2, e1⟩
  const double n2 = std::sqrt(std::max(0.0, inner(d2, d2) - proj * proj));
  if (n2 <= 1e-6 * std::max(n1, scale))
    throw InputError("surface: '" + pts[0].label + "', '" + pts[1].label + "' and '" +
                     pts[2].label + "' lie on one line; no plane passes through them");
  SurfaceResult r;
  for (int i = 0; i < 3; ++i)
    r.labels[size_t(i)] = pts[size_t(i)].label;
  r.anchor_x = {0.0, n1, proj};
  r.anchor_y = {0.0, 0.0, n2};
  const double x0 = std::min({0.0, n1, proj}), x1 = std::max({0.0, n1, proj});
  const double y0 = 0.0, y1 = n2;
  const double mx = o.margin * (x1 - x0), my = o.margin * (y1 - y0);
  for (int i = 0; i < o.grid; ++i) {
    r.x.push_back(x0 - mx + (x1 - x0 + 2 * mx) * i / (o.grid - 1));
    r.y.push_back(y0 - my + (y1 - y0 + 2 * my) * i / (o.grid - 1));
  }
  // (x, y) → θ1 + a (θ2 − θ1) + b (θ3 − θ1) with b = y / n2, a = (x − b·proj) / n1.
  std::vector<Point> points;
  for (double y : r.y)
    for (double x : r.x) {
      const double b = y / n2, a = (x - b * proj) / n1;
      const Eigen::VectorXd c = ((1 - a - b) * C.row(0) + a * C.row(1) + b * C.row(2)).transpose();
      points.emplace_back(c.data(), c.data() + c.size());
    }
  const auto [first, last] = shard.block(points.size());
  const std::vector<Point> mine(points.begin() + long(first), points.begin() + long(last));
  const auto scores =
      mine.empty() ? std::vector<PointScore>{} : eval.evaluate(mine, progress, "loss surface");
  r.loss.setConstant(o.grid, o.grid, std::numeric_limits<double>::quiet_NaN());
  r.token_error.setConstant(o.grid, o.grid, std::numeric_limits<double>::quiet_NaN());
  for (size_t k = first; k < last; ++k) {
    const auto iy = Eigen::Index(k / size_t(o.grid)), ix = Eigen::Index(k % size_t(o.grid));
    r.loss(iy, ix) = scores[k - first].loss;
    r.token_error(iy, ix) = scores[k - first].token_error;
  }
  return r;
}

SurfaceResult SurfaceResult::gather(const std::vector<SurfaceResult>& shares) {
  if (shares.empty()) throw InputError("surface: no shares to gather");
  SurfaceResult r = shares.front();
  const int n = int(shares.size());
  const size_t cols = r.x.size(), cells = r.y.size() * cols;
  // Each share computes the plane from the bank's Gram matrix itself; on another machine its
  // BLAS may sum those float32 inner products in another order (relative error ≲ 1e-6), so the
  // grids are compared to 1e-5 of the plane's extent, and share 0's grid is kept.
  const auto extent = [](const std::vector<double>& v) {
    double m = 0;
    for (double a : v)
      m = std::max(m, std::abs(a));
    return std::max(m, 1e-300);
  };
  const double scale = std::max(extent(r.x), extent(r.y));
  const auto near = [&](const auto& a, const auto& b) {
    if (a.size() != b.size()) return false;
    for (size_t k = 0; k < a.size(); ++k)
      if (!(std::abs(a[k] - b[k]) <= 1e-5 * scale)) return false;
    return true;
  };
  for (int i = 0; i < n; ++i) {
    const SurfaceResult& s = shares[size_t(i)];
    if (s.labels != r.labels || !near(s.x, r.x) || !near(s.y, r.y) ||
        !near(s.anchor_x, r.anchor_x) || !near(s.anchor_y, r.anchor_y))
      throw InputError("surface: share " + std::to_string(i) +
                       " is another plane or grid than share 0");
    const auto [first, last] = jobs::Shard{i, n}.block(cells);
    for (size_t k = first; k < last; ++k) {
      const auto iy = Eigen::Index(k / cols), ix = Eigen::Index(k % cols);
      r.loss(iy, ix) = s.loss(iy, ix);
      r.token_error(iy, ix) = s.token_error(iy, ix);
    }
  }
  return r;
}

nlohmann::json SurfaceResult::to_json() const {
  return {{"labels", labels},
          {"anchor_x", anchor_x},
          {"anchor_y", anchor_y},
          {"x", x},
          {"y", y},
          {"loss", matrix_json(loss)},
          {"token_error", matrix_json(token_error)}};
}

SurfaceResult SurfaceResult::from_json(const nlohmann::json& j) {
  SurfaceResult r;
  try {
    r.labels = j.at("labels").get<std::array<std::string, 3>>();
    r.anchor_x = j.at("anchor_x").get<std::array<double, 3>>();
    r.anchor_y = j.at("anchor_y").get<std::array<double, 3>>();
    r.x = j.at("x").get<std::vector<double>>();
    r.y = j.at("y").get<std::vector<double>>();
    r.loss = matrix_from(j.at("loss"), r.y.size(), r.x.size());
    r.token_error = matrix_from(j.at("token_error"), r.y.size(), r.x.size());
  } catch (const nlohmann::json::exception& e) {
    throw InputError(std::string("bad surface result in JSON: ") + e.what());
  }
  return r;
}

std::string SurfaceResult::to_csv() const {
  std::string out = "x,y,loss,token_error\n";
  for (size_t iy = 0; iy < y.size(); ++iy)
    for (size_t ix = 0; ix < x.size(); ++ix)
      out += format_double(x[ix]) + "," + format_double(y[iy]) + "," +
             format_double(loss(Eigen::Index(iy), Eigen::Index(ix))) + "," +
             format_double(token_error(Eigen::Index(iy), Eigen::Index(ix))) + "\n";
  return out;
}

}  // namespace basin
