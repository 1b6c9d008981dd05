#include "merge/merge_recipe.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "util/errors.h"
#include "util/strings.h"

namespace basin {
namespace {

struct MethodRow {
  MergeMethod method;
  const char* name;
};
constexpr MethodRow kMethods[] = {
    {MergeMethod::Cat, "cat"},
    {MergeMethod::Linear, "linear"},
    {MergeMethod::TaskArithmetic, "task_arithmetic"},
    {MergeMethod::Svd, "svd"},
    {MergeMethod::Ties, "ties"},
    {MergeMethod::DareLinear, "dare_linear"},
    {MergeMethod::DareTies, "dare_ties"},
    {MergeMethod::MagnitudePrune, "magnitude_prune"},
    {MergeMethod::TiesSvd, "ties_svd"},
    {MergeMethod::DareLinearSvd, "dare_linear_svd"},
    {MergeMethod::DareTiesSvd, "dare_ties_svd"},
    {MergeMethod::MagnitudePruneSvd, "magnitude_prune_svd"},
};

}  // namespace

const char* method_name(MergeMethod m) {
  for (const auto& r : kMethods)
    if (r.method == m) return r.name;
  return "?";
}

std::vector<std::string> method_names() {
  std::vector<std::string> out;
  for (const auto& r : kMethods)
    out.emplace_back(r.name);
  return out;
}

MergeMethod parse_method(const std::string& name) {
  for (const auto& r : kMethods)
    if (name == r.name) return r.method;
  throw InputError("unknown merge method '" + name +
                   "' (expected one of: " + join(method_names(), ", ") + ")");
}

const char* majority_sign_name(MajoritySign m) {
  return m == MajoritySign::Total ? "total" : "frequency";
}

MajoritySign parse_majority_sign(const std::string& name) {
  if (name == "total") return MajoritySign::Total;
  if (name == "frequency") return MajoritySign::Frequency;
  throw InputError("unknown majority sign method '" + name + "' (expected total or frequency)");
}

bool is_peft_svd_variant(MergeMethod m) {
  return m == MergeMethod::TiesSvd || m == MergeMethod::DareLinearSvd ||
         m == MergeMethod::DareTiesSvd || m == MergeMethod::MagnitudePruneSvd;
}

MergeMethod base_method(MergeMethod m) {
  switch (m) {
    case MergeMethod::TiesSvd:
      return MergeMethod::Ties;
    case MergeMethod::DareLinearSvd:
      return MergeMethod::DareLinear;
    case MergeMethod::DareTiesSvd:
      return MergeMethod::DareTies;
    case MergeMethod::MagnitudePruneSvd:
      return MergeMethod::MagnitudePrune;
    default:
      return m;
  }
}

bool uses_density(MergeMethod m) {
  m = base_method(m);
  return m == MergeMethod::Ties || m == MergeMethod::DareLinear || m == MergeMethod::DareTies ||
         m == MergeMethod::MagnitudePrune;
}

void MergeRecipe::validate(size_t n) const {
  if (n == 0) throw InputError("nothing to merge: the adapter set is empty");
  if (!weights.empty() && weights.size() != n)
    throw InputError("got " + std::to_string(weights.size()) + " weights for " + std::to_string(n) +
                     " adapters");
  for (size_t i = 0; i < weights.size(); ++i)
    if (!std::isfinite(weights[i]))
      throw InputError("weight " + std::to_string(i + 1) + " is " + format_double(weights[i]) +
                       "; weights must be finite");
  if (rank < 0) throw InputError("rank must be positive, got " + std::to_string(rank));
  if (!(density > 0.0 && density <= 1.0))
    throw InputError("density must be in (0, 1], got " + format_double(density));
  if (clamp && !(*clamp > 0.0 && *clamp <= 1.0))
    throw InputError("clamp quantile must be in (0, 1], got " + format_double(*clamp));
  if (is_peft_svd_variant(method) && !peft_compat)
    throw InputError(std::string(method_name(method)) +
                     " is PEFT's add_weighted_adapter variant and needs --peft-compat (it applies "
                     "PEFT's doubled scale); without it use " +
                     method_name(base_method(method)) +
                     ", which already re-factorises the merged ΔW by a truncated SVD");
  if (clamp && method != MergeMethod::Svd && method != MergeMethod::TaskArithmetic &&
      !is_peft_svd_variant(method))
    throw InputError(std::string("clamp applies to svd, task_arithmetic and the *_svd variants, "
                                 "not ") +
                     method_name(method));
  // PEFT switches a single adapter to linear before it looks at the method (peft_plan).
  if (peft_compat && method == MergeMethod::TaskArithmetic && n > 1)
    throw InputError(
        "PEFT's add_weighted_adapter has no task_arithmetic; use svd with --peft-compat");
}

std::vector<double> MergeRecipe::effective_weights(size_t n) const {
  if (!weights.empty()) return weights;
  const bool average = method == MergeMethod::Linear || method == MergeMethod::Svd;
  return std::vector<double>(n, average ? 1.0 / static_cast<double>(n) : 1.0);
}

nlohmann::json MergeRecipe::to_json() const {
  nlohmann::json j;
  j["method"] = method_name(method);
  j["weights"] = weights;
  j["rank"] = rank;
  j["density"] = density;
  j["majority_sign"] = majority_sign_name(majority_sign);
  j["seed"] = seed;
  j["clamp"] = clamp ? nlohmann::json(*clamp) : nlohmann::json(nullptr);
  j["peft_compat"] = peft_compat;
  j["name"] = name;
  return j;
}

MergeRecipe MergeRecipe::from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw InputError("merge recipe must be a JSON object");
  MergeRecipe r;
  auto need = [&](const char* key, bool ok, const char* what) {
    if (!ok) throw InputError(std::string("merge recipe key '") + key + "' must be " + what);
  };
  if (!j.contains("method")) throw InputError("merge recipe has no 'method'");
  need("method", j["method"].is_string(), "a string");
  r.method = parse_method(j["method"].get<std::string>());
  if (j.contains("weights") && !j["weights"].is_null()) {
    need("weights", j["weights"].is_array(), "a list of numbers");
    for (const auto& w : j["weights"]) {
      need("weights", w.is_number(), "a list of numbers");
      r.weights.push_back(w.get<double>());
    }
  }
  if (j.contains("rank")) {
    need("rank", j["rank"].is_number_integer(), "an integer");
    r.rank = j["rank"].get<int64_t>();
  }
  if (j.contains("density")) {
    need("density", j["density"].is_number(), "a number");
    r.density = j["density"].get<double>();
  }
  if (j.contains("majority_sign")) {
    need("majority_sign", j["majority_sign"].is_string(), "\"total\" or \"frequency\"");
    r.majority_sign = parse_majority_sign(j["majority_sign"].get<std::string>());
  }
  if (j.contains("seed")) {
    need("seed",
         j["seed"].is_number_unsigned() ||
             (j["seed"].is_number_integer() && j["seed"].get<int64_t>() >= 0),
         "a non-negative integer");
    r.seed = j["seed"].get<uint64_t>();
  }
  if (j.contains("clamp") && !j["clamp"].is_null()) {
    need("clamp", j["clamp"].is_number(), "a number");
    r.clamp = j["clamp"].get<double>();
  }
  if (j.contains("peft_compat")) {
    need("peft_compat", j["peft_compat"].is_boolean(), "true or false");
    r.peft_compat = j["peft_compat"].get<bool>();
  }
  if (j.contains("name")) {
    need("name", j["name"].is_string(), "a string");
    r.name = j["name"].get<std::string>();
  }
  return r;
}

}  // namespace basin
