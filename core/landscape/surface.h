// A 2D loss surface over the plane through three points of weight space. The plane gets an
// orthonormal basis (Gram–Schmidt under the Frobenius inner product of ΔW, from the bank's
// Gram matrix), so distances and angles in the plot are true ones (Garipov et al. 2018).
#pragma once

#include <array>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <nlohmann/json_fwd.hpp>

#include "jobs/shard.h"
#include "landscape/points.h"

namespace basin {

struct SurfaceOptions {
  int grid = 21;         // grid × grid points (3 … 201)
  double margin = 0.25;  // extra room around the three points, as a share of the span
};

struct SurfaceResult {
  std::array<std::string, 3> labels;
  std::array<double, 3> anchor_x{}, anchor_y{};  // the three points in plane coordinates
  std::vector<double> x, y;                      // grid coordinates
  Eigen::MatrixXd loss;                          // [y.size(), x.size()]
  Eigen::MatrixXd token_error;                   // same shape

  nlohmann::json to_json() const;
  static SurfaceResult from_json(const nlohmann::json& j);
  std::string to_csv() const;  // long form: x,y,loss,token_error
  // Combines the n shares of one surface (in share order: share i holds the grid points of
  // jobs::Shard{i, n}.block(grid²), row by row); throws InputError when they are not the
  // same plane and grid.
  static SurfaceResult gather(const std::vector<SurfaceResult>& shares);
};

// `bank_gram` is the K×K Gram matrix ⟨θ_i, θ_j⟩_F of the bank's adapters (e.g. summed over
// modules from cosine_similarity). Throws InputError when the three points are (nearly)
// collinear. A share of several scores only its block of the grid points (row by row, y
// then x); the others are NaN.
SurfaceResult loss_surface(const PointEvaluator& eval, const std::array<Endpoint, 3>& points,
                           const Eigen::MatrixXd& bank_gram, const SurfaceOptions& options,
                           jobs::Progress& progress, const jobs::Shard& shard = {});

}  // namespace basin
