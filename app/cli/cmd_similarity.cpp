// basin-cli similarity ADAPTER... [--per-module|--per-layer] [--csv|--json] [-o FILE]
#include <cmath>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "analysis/cosine_similarity.h"
#include "cli_common.h"
#include "lora/adapter_set.h"
#include "lora/peft_io.h"
#include "plot.h"
#include "util/errors.h"
#include "util/strings.h"

namespace basin::cli {
namespace {

std::string table(const PairwiseMatrix& m) {
  size_t w = 8;
  for (const auto& l : m.labels)
    w = std::max(w, l.size());
  std::string out;
  char buf[64];
  out += std::string(w, ' ');
  for (const auto& l : m.labels) {
    std::snprintf(buf, sizeof buf, " %*s", static_cast<int>(w), l.c_str());
    out += buf;
  }
  out += "\n";
  for (size_t i = 0; i < m.labels.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%-*s", static_cast<int>(w), m.labels[i].c_str());
    out += buf;
    for (size_t j = 0; j < m.labels.size(); ++j) {
      const double v = m.values(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j));
      if (std::isfinite(v))
        std::snprintf(buf, sizeof buf, " %*.4f", static_cast<int>(w), v);
      else
        std::snprintf(buf, sizeof buf, " %*s", static_cast<int>(w), "—");
      out += buf;
    }
    out += "\n";
  }
  return out;
}

// Long CSV: scope,adapter_i,adapter_j,cosine (one row per pair and scope).
std::string long_csv(const std::vector<PairwiseMatrix>& ms,
                     const std::vector<std::string>& scopes) {
  std::string out = "scope,adapter_i,adapter_j,cosine\n";
  for (size_t k = 0; k < ms.size(); ++k)
    for (size_t i = 0; i < ms[k].labels.size(); ++i)
      for (size_t j = 0; j < ms[k].labels.size(); ++j) {
        const double v = ms[k].values(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j));
        out += csv_field(scopes[k]) + "," + csv_field(ms[k].labels[i]) + "," +
               csv_field(ms[k].labels[j]) + "," + (std::isfinite(v) ? format_double(v) : "") + "\n";
      }
  return out;
}

}  // namespace

void register_similarity(CLI::App& app, Context& ctx, int& exit_code) {
  auto* sub = app.add_subcommand(
      "similarity", "Cosine similarity of the adapters' ΔW (overall, per module, per layer)");
  struct Args {
    std::vector<std::string> adapters;
    bool per_module = false, per_layer = false, csv = false, json = false;
    std::string output, plot;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("ADAPTER", a->adapters, "PEFT adapter folders (two or more)")->required();
  sub->add_flag("--per-module", a->per_module, "also one matrix per module");
  sub->add_flag("--per-layer", a->per_layer, "also one matrix per layer");
  auto* csv = sub->add_flag("--csv", a->csv, "CSV output");
  auto* json = sub->add_flag("--json", a->json, "JSON output");
  csv->excludes(json);
  sub->add_option("-o,--output", a->output, "write to this file instead of stdout")
      ->check(writable_output());
  sub->add_option("--plot", a->plot,
                  "also write the overall heatmap (PNG, SVG or PDF by extension; GUI build)");
  sub->callback([&ctx, &exit_code, a] {
    start(ctx);
    if (a->adapters.size() < 2) throw InputError("similarity needs at least two adapters");
    if (!a->plot.empty()) check_plot_path(a->plot);
    std::vector<std::filesystem::path> dirs(a->adapters.begin(), a->adapters.end());
    jobs::SubProgress load_part(progress(), 0.0, 0.2);
    AdapterSet set;
    for (size_t i = 0; i < dirs.size(); ++i) {
      progress().check_cancelled();
      load_part.report(double(i) / dirs.size(), "loading " + dirs[i].filename().string());
      for (const auto& w : set.add(load_peft_adapter(dirs[i])))
        std::cerr << "basin-cli: warning: " << w << "\n";
    }
    const auto result = cosine_similarity(set, progress());
    progress().finish();

    std::vector<PairwiseMatrix> ms{result.overall()};
    std::vector<std::string> scopes{"overall"};
    if (a->per_layer)
      for (int l : result.layers()) {
        ms.push_back(result.layer(l));
        scopes.push_back("layer " + std::to_string(l));
      }
    if (a->per_module)
      for (size_t i = 0; i < result.modules.size(); ++i) {
        ms.push_back(result.module(i));
        scopes.push_back(result.modules[i]);
      }

    std::string text;
    if (a->json) {
      nlohmann::ordered_json j;
      j["labels"] = result.labels;
      j["overall"] = ms[0].to_json()["values"];
      if (a->per_layer || a->per_module) {
        j["scopes"] = nlohmann::ordered_json::object();
        for (size_t k = 1; k < ms.size(); ++k)
          j["scopes"][scopes[k]] = ms[k].to_json()["values"];
      }
      text = j.dump(2) + "\n";
    } else if (a->csv) {
      text = ms.size() == 1 ? ms[0].to_csv() : long_csv(ms, scopes);
    } else {
      for (size_t k = 0; k < ms.size(); ++k)
        text += "[" + scopes[k] + "]\n" + table(ms[k]) + "\n";
    }
    write_output(a->output, text);
    if (!a->plot.empty())
      plot_heatmap(ms[0], -1.0, 1.0, "Cosine similarity of ΔW (all modules)", a->plot);
    exit_code = kOk;
  });
}

}  // namespace basin::cli
