// basin-cli demo --out DIR: the built-in default study, run headless: cosine similarity of the
// set, every merge method, each merge's agreement with its inputs. With --kit (the demo kit's
// trained adapters) it also writes the study report (report_job.h) and the whole folder appears
// at once (write_folder_atomic); without, it uses the generated sample set at Qwen2-0.5B shapes.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "analysis/cosine_similarity.h"
#include "cli_common.h"
#include "demo/kit_manifest.h"
#include "demo/kit_sizes.h"
#include "io/json_file.h"
#include "lora/adapter_set.h"
#include "lora/peft_io.h"
#include "merge/merge.h"
#include "report_job.h"
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

// Writes similarity.{csv,json}, merged/ and summary.{md,json} into `root`; `shown` is the folder
// the user will see them in (paths recorded in the summary). Progress runs from p0 to p1.
void write_summary(const AdapterSet& set, const std::string& input_text, const fs::path& root,
                   const fs::path& shown, bool with_report, double p0, double p1) {
  auto& prog = progress();
  const auto at = [&](double f) { return p0 + (p1 - p0) * f; };
  // 1. Cosine similarity of the inputs.
  jobs::CallbackProgress sim_prog([&](double f, const std::string& s) {
    prog.report(at(0.1 * f), s);
    return !prog.cancelled();
  });
  const auto sim = cosine_similarity(set, sim_prog);
  write_file_atomic(root / "similarity.csv", sim.overall().to_csv());
  nlohmann::ordered_json sim_json;
  sim_json["overall"] = sim.overall().to_json();
  sim_json["layers"] = nlohmann::ordered_json::object();
  for (int l : sim.layers())
    sim_json["layers"][std::to_string(l)] = sim.layer(l).to_json()["values"];
  write_json_file(root / "similarity.json", sim_json);

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
    const double base = 0.1 + 0.9 * double(k) / merges.size();
    jobs::CallbackProgress mp([&](double f, const std::string& s) {
      prog.report(at(base + 0.9 / merges.size() * f), s);
      return !prog.cancelled();
    });
    const auto t0 = std::chrono::steady_clock::now();
    Adapter merged = merge(set, merges[k].recipe, mp);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const fs::path mdir = root / "merged" / merges[k].label;
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
                    {"output", (shown / "merged" / merges[k].label).string()},
                    {"rank_min", rmin},
                    {"rank_max", rmax},
                    {"delta_norm", std::sqrt(sq)},
                    {"seconds", secs},
                    {"cosine_to_inputs", to_inputs}});
  }

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
  if (with_report) summary["report"] = (shown / "report.html").string();
  write_json_file(root / "summary.json", summary);

  std::string md = "# Basin default study (headless)\n\n";
  md += "Input: " + input_text + ".\n\n";
  if (with_report)
    md += "The study report with its figures is [report.md](report.md) (and report.html).\n\n";
  md += "## Cosine similarity of ΔW (all modules)\n\n```\n" + sim.overall().to_csv() + "```\n\n";
  md += "## Merges\n\nEach merged adapter is saved as a PEFT folder under `merged/`.\n\n" + table;
  write_file_atomic(root / "summary.md", md);
}

// The report of a demo kit: the seven task adapters, and the task with seeds and ranks
// ("<task>-seedN", "<task>-rN") as the family of the uniformity figures.
// `name` is `stem` followed by one or more digits ("sentiment-seed2" for "sentiment-seed"); a
// plain comparison, since task names may hold regex metacharacters.
bool numbered(const std::string& name, const std::string& stem) {
  return name.size() > stem.size() && name.compare(0, stem.size(), stem) == 0 &&
         name.find_first_not_of("0123456789", stem.size()) == std::string::npos;
}

ReportPlan kit_plan(const fs::path& kit, const KitManifest& manifest, const ReportLimits& l) {
  ReportPlan p;
  p.title = "Basin study report: the demo kit";
  p.model = kit / "model";
  p.limits = l;
  const std::vector<std::string>& names = manifest.tasks;
  for (const auto& name : names) {
    p.tasks.push_back(kit / "tasks" / (name + ".json"));
    p.task_adapters.push_back((kit / "adapters" / name).string());
  }
  p.cosine = p.cka = p.task_adapters;
  const std::vector<std::string>& all = manifest.adapters;
  size_t best = 0;
  for (const auto& task : names) {
    std::vector<std::string> seeds, ranks;
    for (const auto& a : all) {
      if (numbered(a, task + "-seed")) seeds.push_back((kit / "adapters" / a).string());
      if (numbered(a, task + "-r")) ranks.push_back((kit / "adapters" / a).string());
    }
    if (seeds.size() + ranks.size() <= best) continue;
    best = seeds.size() + ranks.size();
    const std::string own = (kit / "adapters" / task).string();
    p.family_tasks = {kit / "tasks" / (task + ".json")};
    p.family = {own};
    p.family.insert(p.family.end(), seeds.begin(), seeds.end());
    p.family.insert(p.family.end(), ranks.begin(), ranks.end());
    p.soup = {own};
    p.soup.insert(p.soup.end(), seeds.begin(), seeds.end());
    p.surface.clear();
    if (p.soup.size() >= 3) p.surface = {p.soup[0], p.soup[1], p.soup[2]};
  }
  p.kit_scores = OracleVsBase::from_kit(manifest.json, kit / "kit.json");
  // The larger model beside the kit (demo-kit --size medium), for the model-size figure.
  const std::string& size = manifest.size;
  p.model_name = size;
  std::string larger_size;
  for (const auto& s : kit_sizes())
    if (kit_size_spec(s).parent == size) larger_size = s;
  const fs::path big = kit / kLargerKitDir;
  if (fs::exists(big / "kit.json")) {
    const KitManifest m = KitManifest::read(big);
    if (m.tasks != names)
      throw InputError("'" + (big / "kit.json").string() + "' has tasks " + join(m.tasks, ", ") +
                       ", the kit has " + join(names, ", ") + "; rebuild it with basin-cli " +
                       "demo-kit --force --size " + m.size);
    ReportModel r;
    r.name = m.size;
    r.model = big / "model";
    for (const auto& n : names)
      r.task_adapters.push_back((big / "adapters" / n).string());
    p.larger = r;
  } else if (!larger_size.empty()) {
    const auto spec = kit_size_spec(larger_size);
    p.no_larger =
        "needs the kit's larger model. Build it with: basin-cli demo-kit --size " + larger_size +
        " -o " + kit.string() + " (a " + std::to_string(spec.model.num_hidden_layers) +
        "-layer model with d = " + std::to_string(spec.model.hidden_size) + " and its own " +
        std::to_string(names.size()) + " task adapters, in " + (big).string() +
        (larger_size == "medium" ? "; 41 minutes on 2 busy cores" : "") + "), then run this again.";
  } else {
    p.no_larger = "needs a larger model beside the kit; none is defined for a " + size + " kit.";
  }
  p.intro.push_back("The default study on the demo kit in " + kit.string() + ": " +
                    std::to_string(names.size()) + " task adapters (" + join(names, ", ") +
                    ") on its " + manifest.size +
                    " Qwen2-architecture model, trained on this machine from real text.");
  p.intro.push_back(
      "Each figure is drawn from this run's results; its caption states what it shows on "
      "these numbers, and its data files (written by the analysis's own result type) sit "
      "beside it under data/.");
  return p;
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
    ReportLimits limits;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("-o,--out", a->out, "output folder (default: basin-out)")
      ->check(writable_output());
  sub->add_option("--adapters", a->adapters,
                  "sample adapter folder (default: OUT/sample-adapters)");
  sub->add_option("--layers", a->layers, "layers of the sample set (0 = all 24)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--kit", a->kit,
                  "use the seven task adapters of a demo kit (basin-cli demo-kit) instead of "
                  "the generated sample set");
  add_report_limit_options(sub, a->limits);
  sub->callback([&ctx, &exit_code, a] {
    start(ctx);
    const fs::path out = a->out;
    auto& prog = progress();
    if (!a->kit.empty()) {
      const fs::path kit = a->kit;
      if (!fs::exists(kit / "kit.json"))
        throw InputError("'" + kit.string() +
                         "' is not a finished demo kit (no kit.json); run basin-cli demo-kit");
      const KitManifest manifest = KitManifest::read(kit);
      const ReportPlan plan = kit_plan(kit, manifest, a->limits);
      check_replaceable_output(out);
      AdapterSet set;
      for (const auto& d : plan.task_adapters)
        set.add(load_peft_adapter(d));
      const std::string input_text =
          std::to_string(set.size()) +
          " LoRA adapters (one per task) that the demo kit trained on real text, on its " +
          manifest.size + " Qwen2-architecture model, in `" + (kit / "adapters").string() + "`";
      // Everything appears at once: a cancel or a failure leaves no output folder behind.
      write_folder_atomic(out, /*overwrite=*/true, [&](const fs::path& tmp) {
        write_summary(set, input_text, tmp, out, /*with_report=*/true, 0.0, 0.08);
        write_study_report(plan, tmp, 0.08, 1.0);
      });
      prog.report(1.0, "done");
      prog.finish();
      const std::string where = fs::absolute(out).lexically_normal().string();
      std::printf(
          "Basin default study written to %s (summary.md, summary.json, similarity.csv, "
          "merged/, data/, figures/)\nReport: %s\n",
          where.c_str(), (fs::absolute(out) / "report.html").lexically_normal().c_str());
      exit_code = kOk;
      return;
    }

    check_output_location(out);  // the default -o too
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
    const std::string input_text =
        std::to_string(set.size()) + " generated sample adapters at Qwen2-0.5B shapes (" +
        std::to_string(set.modules().size()) +
        " modules; random, structured factors — not trained adapters) in `" + adir.string() + "`";
    write_summary(set, input_text, out, out, /*with_report=*/false, 0.2, 1.0);
    prog.report(1.0, "done");
    prog.finish();
    std::printf(
        "Basin default study written to %s (summary.md, summary.json, similarity.csv, merged/)\n",
        fs::absolute(out).lexically_normal().string().c_str());
    exit_code = kOk;
  });
  register_report(app, ctx, exit_code);
}

}  // namespace basin::cli
