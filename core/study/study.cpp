#include "study/study.h"

#include <nlohmann/json.hpp>

#include "io/json_excerpt.h"
#include "io/json_file.h"
#include "io/json_numbers.h"
#include "util/errors.h"
#include "util/strings.h"

namespace fs = std::filesystem;

namespace basin {
namespace {

constexpr size_t kMaxMessage = 400;  // bytes of a study error message, at most

nlohmann::json matrix_json(const Eigen::MatrixXd& m) {
  nlohmann::json rows = nlohmann::json::array();
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    nlohmann::json row = nlohmann::json::array();
    for (Eigen::Index j = 0; j < m.cols(); ++j)
      row.push_back(m(i, j));
    rows.push_back(row);
  }
  return rows;
}

Eigen::MatrixXd matrix_from(const nlohmann::json& j, size_t n, const std::string& label) {
  if (!j.is_array() || j.size() != n) throw InputError(label + ": a matrix has the wrong size");
  Eigen::MatrixXd m(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(n));
  for (size_t i = 0; i < n; ++i) {
    if (!j[i].is_array() || j[i].size() != n)
      throw InputError(label + ": a matrix row has the wrong size");
    for (size_t k = 0; k < n; ++k) {
      if (!j[i][k].is_number()) throw InputError(label + ": a matrix entry is not a number");
      m(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(k)) = j[i][k].get<double>();
    }
  }
  return m;
}

}  // namespace

nlohmann::json similarity_to_json(const SimilarityResult& r) {
  nlohmann::json g = nlohmann::json::array();
  for (const auto& m : r.gram)
    g.push_back(matrix_json(m));
  return {{"labels", r.labels}, {"modules", r.modules}, {"gram", g}};
}

SimilarityResult similarity_from_json(const nlohmann::json& j, const std::string& label) {
  SimilarityResult r;
  try {
    r.labels = j.at("labels").get<std::vector<std::string>>();
    r.modules = j.at("modules").get<std::vector<std::string>>();
    const auto& g = j.at("gram");
    if (!g.is_array() || g.size() != r.modules.size())
      throw InputError(label + ": similarity has " + std::to_string(r.modules.size()) +
                       " modules but a different number of matrices");
    for (const auto& m : g)
      r.gram.push_back(matrix_from(m, r.labels.size(), label));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(label + ": bad similarity result: " + e.what());
  }
  return r;
}

namespace {
// Paths inside the study's folder are stored relative so a study folder can move.
std::string stored_path(const fs::path& path, const fs::path& study_dir) {
  fs::path p = fs::absolute(path).lexically_normal();
  const fs::path rel = p.lexically_relative(fs::absolute(study_dir).lexically_normal());
  if (!rel.empty() && rel.native().rfind("..", 0) != 0) p = rel;
  return p.string();
}
}  // namespace

nlohmann::json Study::to_json(const fs::path& study_dir) const {
  nlohmann::json ads = nlohmann::json::array();
  for (const auto& a : adapters) {
    ads.push_back({{"path", stored_path(a.path, study_dir)},
                   {"included", a.included},
                   {"weight", a.weight ? nlohmann::json(*a.weight) : nlohmann::json()}});
  }
  nlohmann::json merges_json = nlohmann::json::array();
  for (const auto& m : merges)
    merges_json.push_back({{"recipe", m.recipe.to_json()},
                           {"inputs", m.inputs},
                           {"saved_to", m.saved_to},
                           {"modules", m.modules},
                           {"rank_min", m.rank_min},
                           {"rank_max", m.rank_max},
                           {"delta_norm", m.delta_norm},
                           {"seconds", m.seconds}});
  nlohmann::json j = {{"basin_study", kFormatVersion},
                      {"adapters", ads},
                      {"merge_recipe", merge_recipe.to_json()},
                      {"merges", merges_json}};
  if (similarity) j["similarity"] = similarity_to_json(*similarity);
  if (landscape) {
    auto l = landscape->to_json();
    l["model"] = stored_path(landscape->model, study_dir);
    l["tasks"] = nlohmann::json::array();
    for (const auto& t : landscape->tasks)
      l["tasks"].push_back(stored_path(t, study_dir));
    j["landscape"] = l;
  }
  if (connectivity) j["connectivity"] = connectivity->to_json();
  if (!sweeps.empty()) {
    j["sweeps"] = nlohmann::json::array();
    for (const auto& c : sweeps)
      j["sweeps"].push_back(c.to_json());
  }
  if (cka) j["cka"] = cka->to_json();
  if (multitask) j["multitask"] = multitask->to_json();
  if (soup) j["soup"] = soup->to_json();
  if (surface) j["surface"] = surface->to_json();
  if (gates) j["gates"] = gates->to_json();
  return j;
}

Study Study::from_json(const nlohmann::json& j, const fs::path& study_dir,
                       const std::string& label) {
  if (!j.is_object() || !j.contains("basin_study"))
    throw InputError("'" + label + "' is not a Basin study file (no 'basin_study' key)");
  if (!j["basin_study"].is_number_integer() || j["basin_study"].get<int64_t>() > kFormatVersion)
    throw InputError("'" + label + "': key 'basin_study' (the study format) is " +
                     json_excerpt(j["basin_study"]) + "; this Basin reads format " +
                     std::to_string(kFormatVersion));
  Study s;
  try {
    for (const auto& a : j.at("adapters")) {
      StudyAdapter sa;
      fs::path p = a.at("path").get<std::string>();
      sa.path = p.is_absolute() ? p : study_dir / p;
      sa.included = a.value("included", true);
      if (a.contains("weight") && !a["weight"].is_null()) sa.weight = a["weight"].get<double>();
      s.adapters.push_back(sa);
    }
    if (j.contains("merge_recipe")) s.merge_recipe = MergeRecipe::from_json(j["merge_recipe"]);
    for (const auto& m : j.value("merges", nlohmann::json::array())) {
      MergeRecord r;
      r.recipe = MergeRecipe::from_json(m.at("recipe"));
      r.inputs = m.value("inputs", std::vector<std::string>{});
      r.saved_to = m.value("saved_to", "");
      const auto count = [&](const char* key) {
        return m.contains(key) ? json_integer<int64_t>(m[key], std::string("merges.") + key) : 0;
      };
      r.modules = count("modules");
      r.rank_min = count("rank_min");
      r.rank_max = count("rank_max");
      r.delta_norm = m.value("delta_norm", 0.0);
      r.seconds = m.value("seconds", 0.0);
      s.merges.push_back(r);
    }
    if (j.contains("similarity")) s.similarity = similarity_from_json(j["similarity"], label);
    if (j.contains("landscape")) {
      s.landscape = LandscapeSetup::from_json(j["landscape"]);
      const auto resolve = [&](const fs::path& p) { return p.is_absolute() ? p : study_dir / p; };
      s.landscape->model = resolve(s.landscape->model);
      for (auto& t : s.landscape->tasks)
        t = resolve(t);
    }
    if (j.contains("connectivity"))
      s.connectivity = ConnectivityResult::from_json(j["connectivity"]);
    for (const auto& c : j.value("sweeps", nlohmann::json::array()))
      s.sweeps.push_back(Curve::from_json(c));
    if (j.contains("cka")) s.cka = PairwiseMatrix::from_json(j["cka"]);
    if (j.contains("multitask")) s.multitask = MultitaskResult::from_json(j["multitask"]);
    if (j.contains("soup")) s.soup = SoupResult::from_json(j["soup"]);
    if (j.contains("surface")) s.surface = SurfaceResult::from_json(j["surface"]);
    if (j.contains("gates")) s.gates = GateStats::from_json(j["gates"]);
  } catch (const nlohmann::json::exception& e) {
    throw InputError("'" + label + "': bad study file: " + e.what());
  } catch (const InputError& e) {
    // The sections' readers may quote a value whole; a study message stays short.
    const std::string m = e.what();
    if (m.size() <= kMaxMessage) throw;
    throw InputError(excerpt(m, kMaxMessage));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {  // e.g. a count that does not fit, from a section's reader
    throw InputError("'" + label + "': bad study file: " + excerpt(e.what(), 200));
  }
  return s;
}

void Study::save(const fs::path& file) const {
  const fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  write_json_file(file, to_json(dir));
}

Study Study::load(const fs::path& file) {
  const fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  return from_json(read_json_file(file), dir, file.string());
}

}  // namespace basin
