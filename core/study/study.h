// A study file (JSON): the adapter set (paths, included flags, weights), the last merge
// recipe, merge records and computed results, so a study reopens without recomputing.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "analysis/cosine_similarity.h"
#include "analysis/pairwise_matrix.h"
#include "landscape/gate_stats.h"
#include "landscape/multitask.h"
#include "landscape/soup.h"
#include "landscape/surface.h"
#include "landscape/sweep.h"
#include "landscape/workbench.h"
#include "merge/merge_recipe.h"

namespace basin {

struct StudyAdapter {
  std::filesystem::path path;    // adapter folder (stored relative to the study file if inside)
  bool included = true;          // part of the analysed set
  std::optional<double> weight;  // user weight; empty = the method's default
};

struct MergeRecord {
  MergeRecipe recipe;
  std::vector<std::string> inputs;  // adapter names
  std::string saved_to;             // folder the merge was saved to ("" if not saved)
  int64_t modules = 0;
  int64_t rank_min = 0, rank_max = 0;
  double delta_norm = 0;  // ‖ΔW‖_F over all modules
  double seconds = 0;
};

struct Study {
  static constexpr int kFormatVersion = 1;
  std::vector<StudyAdapter> adapters;
  MergeRecipe merge_recipe;  // the Merge view's current settings
  std::vector<MergeRecord> merges;
  std::optional<SimilarityResult> similarity;  // for the included adapters, in order
  // Landscape analyses (issue: loss landscapes); each optional, saved when computed.
  std::optional<LandscapeSetup> landscape;  // base model + evaluation tasks
  std::optional<ConnectivityResult> connectivity;
  std::vector<Curve> sweeps;  // single sweeps the user ran
  std::optional<PairwiseMatrix> cka;
  std::optional<MultitaskResult> multitask;
  std::optional<SoupResult> soup;
  std::optional<SurfaceResult> surface;
  std::optional<GateStats> gates;  // the last gate trained in the Gates view, as inspected

  nlohmann::json to_json(const std::filesystem::path& study_dir) const;
  static Study from_json(const nlohmann::json& j, const std::filesystem::path& study_dir,
                         const std::string& label);
  // Atomic write; throws IoError / InputError naming the file.
  void save(const std::filesystem::path& file) const;
  static Study load(const std::filesystem::path& file);
};

nlohmann::json similarity_to_json(const SimilarityResult& r);
SimilarityResult similarity_from_json(const nlohmann::json& j, const std::string& label);

}  // namespace basin
