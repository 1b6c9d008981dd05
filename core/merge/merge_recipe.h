// What to merge and how: one plain struct per merge, validated before any work starts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace basin {

enum class MergeMethod {
  Cat,             // stack factors: ΔW = Σ c_i B_i A_i exactly, rank Σ r_i
  Linear,          // weighted sum of factors (router-free study): cross terms by design
  TaskArithmetic,  // Σ c_i B_i A_i re-factorised to rank r (Ilharco et al. 2023)
  Svd,             // Σ c_i B_i A_i truncated to rank r (router-free study)
  Ties,            // trim, elect sign, disjoint mean (Yadav et al. 2023)
  DareLinear,      // random drop + 1/density rescale, then sum (Yu et al. 2024)
  DareTies,        // DARE drop, then TIES sign election and disjoint mean
  MagnitudePrune,  // trim by magnitude, then sum
  // PEFT's add_weighted_adapter variants, only under peft_compat: the method applied to the
  // dense ΔW_i = s_i B_i A_i with weights w_i s_i, then a truncated SVD (PEFT 0.19–0.20).
  TiesSvd,
  DareLinearSvd,
  DareTiesSvd,
  MagnitudePruneSvd,
};

enum class MajoritySign { Total, Frequency };

struct MergeRecipe {
  MergeMethod method = MergeMethod::Svd;
  std::vector<double> weights;  // w_i, one per adapter; empty = default_weights(); may be < 0
  int64_t rank = 0;             // target rank r; 0 = the method's default (see default_rank)
  double density = 1.0;         // fraction kept by ties / dare_* / magnitude_prune (and *_svd)
  MajoritySign majority_sign = MajoritySign::Total;  // TIES sign election
  uint64_t seed = 0;            // DARE drop masks (deterministic per module and adapter)
  std::optional<double> clamp;  // svd, task_arithmetic, *_svd: quantile clamp of factors, (0, 1]
  bool peft_compat = false;     // reproduce PEFT add_weighted_adapter's numbers (DESIGN.md)
  std::string name;             // name of the merged adapter; empty = "merge-<method>"

  // Throws InputError naming the field and value (bad density, rank < 0, weights count, ...).
  void validate(size_t n_adapters) const;
  // The weights used for n adapters: `weights` if given, else 1/N for linear and svd (the
  // router-free study's averages) and 1 for the others (task-vector addition).
  std::vector<double> effective_weights(size_t n_adapters) const;

  nlohmann::json to_json() const;
  static MergeRecipe from_json(const nlohmann::json& j);  // throws InputError naming the key
};

const char* method_name(MergeMethod m);
// Accepts the names above ("cat", "linear", "task_arithmetic", "svd", "ties", "dare_linear",
// "dare_ties", "magnitude_prune", and PEFT's "ties_svd", "dare_linear_svd", "dare_ties_svd",
// "magnitude_prune_svd"); throws InputError listing them otherwise.
MergeMethod parse_method(const std::string& name);
std::vector<std::string> method_names();
const char* majority_sign_name(MajoritySign m);
MajoritySign parse_majority_sign(const std::string& name);
// Whether the method works on dense ΔW per module (trim / drop), needing density.
bool uses_density(MergeMethod m);
// PEFT's *_svd variants (ties_svd, dare_linear_svd, dare_ties_svd, magnitude_prune_svd).
bool is_peft_svd_variant(MergeMethod m);
// The trim/drop method a *_svd variant applies before its SVD (ties_svd -> ties); m otherwise.
MergeMethod base_method(MergeMethod m);

}  // namespace basin
