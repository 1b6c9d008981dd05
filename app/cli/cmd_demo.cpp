// basin-cli demo --out DIR: the built-in default study, run headless. Until the demo kit
// (trained tiny model + adapters) exists, it uses the generated sample set at Qwen2-0.5B shapes:
// cosine similarity of the set, every merge method, each merge's agreement with its inputs.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "analysis/cosine_similarity.h"
#include "cli_common.h"
#include "io/json_file.h"
#include "lora/adapter_set.h"
#include "lora/peft_io.h"
#include "merge/merge.h"
#include "sample/sample_adapters.h"
#include "util/atomic_file.h"
#include "util/errors.h"
#include "util/strings.h"

namespace fs = std::filesystem;

namespace basin::cli {
namespace {

struct DemoMerge {
  std::string label;
  MergeRecipe recipe;
};

// `linear` (weighted sum of factors) needs equal ranks: included when the set has them.
std::vector<DemoMerge> demo_merges(bool with_linear) {
  std::vector<DemoMerge> out;
  auto add = [&](const std::string& label, MergeMethod m, double density = 1.0) {
    MergeRecipe r;
    r.method = m;
    r.density = density;
    r.name = label;
    out.push_back({label, r});
  };
  add("cat", MergeMethod::Cat);
  if (with_linear) add("linear", MergeMethod::Linear);
  add("svd", MergeMethod::Svd);
  add("task_arithmetic", MergeMethod::TaskArithmetic);
  add("ties", MergeMethod::Ties, 0.2);
  add("dare_ties", MergeMethod::DareTies, 0.5);
  add("magnitude_prune", MergeMethod::MagnitudePrune, 0.2);
  return out;
}

}  // namespace

void register_demo(CLI::App& app, Context& ctx, int& exit_code) {
  auto* sub =
      app.add_subcommand("demo", "Run the built-in default study headless and write a summary");
  struct Args {
    std::string out = "basin-out";
    std::string adapters;
    std::string kit;
    int layers = 0;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("-o,--out", a->out, "output folder (default: basin-out)");
  sub->add_option("--adapters", a->adapters,
                  "sample adapter folder (default: OUT/sample-adapters)");
  sub->add_option("--layers", a->layers, "layers of the sample set (0 = all 24)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--kit", a->kit,
                  "use the seven task adapters of a demo kit (basin-cli demo-kit) instead of "
                  "the generated sample set");
  sub->callback([&ctx, &exit_code, a] {
    start(ctx);
    const fs::path out = a->out;
    fs::create_directories(out);
    const fs::path adir = a->adapters.empty() ? out / "sample-adapters" : fs::path(a->adapters);

    SampleSetOptions so;
    so.layers = a->layers;
    std::vector<fs::path> dirs;
    bool have = fs::is_directory(adir);
    for (int i = 0; i < so.adapters && have; ++i) {
      const fs::path p = adir / sample_adapter_name(i);
      have = fs::exists(p / kAdapterWeightsFile);
      dirs.push_back(p);
    }
    auto& prog = progress();
    std::string input_text;
    if (!a->kit.empty()) {
      const fs::path kit = a->kit;
      if (!fs::exists(kit / "kit.json"))
        throw InputError("'" + kit.string() +
                         "' is not a finished demo kit (no kit.json); run basin-cli demo-kit");
      const auto manifest = read_json_file(kit / "kit.json");
      dirs.clear();
      for (const auto& t : manifest.at("tasks"))
        dirs.push_back(kit / "adapters" / t.get<std::string>());
      have = true;
      input_text = std::to_string(dirs.size()) +
                   " LoRA adapters (one per task) that the demo kit trained on real text, on its " +
                   manifest.value("size", std::string("?")) + " Qwen2-architecture model, in `" +
                   (kit / "adapters").string() + "`";
    }
    if (!have) {
      std::fprintf(stderr, "basin-cli: generating the sample adapter set in %s\n",
                   adir.string().c_str());
      jobs::SubProgress part(prog, 0.0, 0.2);
      jobs::CallbackProgress sub_prog([&](double f, const std::string& s) {
        part.report(f, s);
        return !prog.cancelled();
      });
      dirs = write_sample_set(adir, so, sub_prog);
    }
    AdapterSet set;
    for (const auto& d : dirs)
      set.add(load_peft_adapter(d));

    // 1. Cosine similarity of the inputs.
    jobs::CallbackProgress sim_prog([&](double f, const std::string& s) {
      prog.report(0.2 + 0.1 * f, s);
      return !prog.cancelled();
    });
    const auto sim = cosine_similarity(set, sim_prog);
    write_file_atomic(out / "similarity.csv", sim.overall().to_csv());
    nlohmann::ordered_json sim_json;
    sim_json["overall"] = sim.overall().to_json();
    sim_json["layers"] = nlohmann::ordered_json::object();
    for (int l : sim.layers())
      sim_json["layers"][std::to_string(l)] = sim.layer(l).to_json()["values"];
    write_json_file(out / "similarity.json", sim_json);

    // 2. Every merge method; 3. how much of each input each merge keeps (cosine).
    bool equal_ranks = true;
    for (size_t i = 0; i < set.size(); ++i)
      equal_ranks = equal_ranks && set[i].rank_range() == set[0].rank_range() &&
                    set[i].rank_range().first == set[i].rank_range().second;
    const auto merges = demo_merges(equal_ranks);
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    std::string table = "| method | rank | ‖ΔW‖_F | seconds | cosine to each input (" +
                        join(set.names(), ", ") + ") |\n|---|---|---|---|---|\n";
    for (size_t k = 0; k < merges.size(); ++k) {
      const double base = 0.3 + 0.7 * double(k) / merges.size();
      jobs::CallbackProgress mp([&](double f, const std::string& s) {
        prog.report(base + 0.7 / merges.size() * f, s);
        return !prog.cancelled();
      });
      const auto t0 = std::chrono::steady_clock::now();
      Adapter merged = merge(set, merges[k].recipe, mp);
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const fs::path mdir = out / "merged" / merges[k].label;
      fs::create_directories(mdir.parent_path());
      SaveOptions save;
      save.overwrite = true;
      save.metadata = merged.metadata;
      save_peft_adapter(merged, mdir, save);
      // Reload from disk: what is reported is what was written.
      AdapterSet with = set;
      auto reloaded = load_peft_adapter(mdir);
      std::const_pointer_cast<Adapter>(reloaded)->name = "merged:" + merges[k].label;
      with.add(reloaded);
      jobs::NullProgress quiet;
      const auto cos = cosine_similarity(with, quiet).overall();
      const auto [rmin, rmax] = reloaded->rank_range();
      double sq = 0;
      for (double n : reloaded->delta_norms())
        sq += n * n;
      std::vector<double> to_inputs;
      std::string cos_text;
      for (size_t i = 0; i < set.size(); ++i) {
        const double c =
            cos.values(static_cast<Eigen::Index>(set.size()), static_cast<Eigen::Index>(i));
        to_inputs.push_back(c);
        char buf[32];
        std::snprintf(buf, sizeof buf, "%s%.3f", i ? ", " : "", c);
        cos_text += buf;
      }
      char line[256];
      std::snprintf(line, sizeof line, "| %s | %lld..%lld | %.4g | %.2f | %s |\n",
                    merges[k].label.c_str(), static_cast<long long>(rmin),
                    static_cast<long long>(rmax), std::sqrt(sq), secs, cos_text.c_str());
      table += line;
      rows.push_back({{"method", merges[k].label},
                      {"recipe", merges[k].recipe.to_json()},
                      {"output", mdir.string()},
                      {"rank_min", rmin},
                      {"rank_max", rmax},
                      {"delta_norm", std::sqrt(sq)},
                      {"seconds", secs},
                      {"cosine_to_inputs", to_inputs}});
    }
    prog.report(1.0, "done");
    prog.finish();

    nlohmann::ordered_json summary;
    summary["basin_version"] = BASIN_VERSION;
    summary["adapters"] = nlohmann::ordered_json::array();
    for (size_t i = 0; i < set.size(); ++i)
      summary["adapters"].push_back({{"name", set[i].name},
                                     {"path", set[i].path.string()},
                                     {"rank", set[i].config.r},
                                     {"sha256", set[i].content_hash}});
    summary["similarity"] = sim.overall().to_json();
    summary["merges"] = rows;
    write_json_file(out / "summary.json", summary);

    std::string md = "# Basin default study (headless)\n\n";
    if (input_text.empty())
      input_text =
          std::to_string(set.size()) + " generated sample adapters at Qwen2-0.5B shapes (" +
          std::to_string(set.modules().size()) +
          " modules; random, structured factors — not trained adapters) in `" + adir.string() + "`";
    md += "Input: " + input_text + ".\n\n";
    md += "## Cosine similarity of ΔW (all modules)\n\n```\n" + sim.overall().to_csv() + "```\n\n";
    md += "## Merges\n\nEach merged adapter is saved as a PEFT folder under `merged/`.\n\n" + table;
    write_file_atomic(out / "summary.md", md);
    std::printf(
        "Basin default study written to %s (summary.md, summary.json, similarity.csv, merged/)\n",
        fs::absolute(out).lexically_normal().string().c_str());
    exit_code = kOk;
  });
}

}  // namespace basin::cli
