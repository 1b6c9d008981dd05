#include "report_job.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include <nlohmann/json.hpp>

#include "analysis/cka.h"
#include "analysis/cosine_similarity.h"
#include "demo/kit_sizes.h"
#include "io/json_file.h"
#include "landscape/features.h"
#include "landscape/multitask.h"
#include "landscape/soup.h"
#include "landscape/surface.h"
#include "landscape/sweep.h"
#include "landscape_common.h"
#include "lora/adapter_set.h"
#include "lora/peft_io.h"
#include "plot.h"
#include "report/model_sizes.h"
#include "report/report.h"
#include "text/tokenizer.h"
#include "util/atomic_file.h"
#include "util/errors.h"
#include "util/runtime.h"
#include "util/strings.h"

namespace fs = std::filesystem;

namespace basin::cli {
namespace {

using AdapterPtr = std::shared_ptr<const Adapter>;

// Each adapter folder loaded once, whatever figures name it.
class AdapterCache {
 public:
  std::vector<AdapterPtr> get(const std::vector<std::string>& dirs, jobs::Progress& phase) {
    std::vector<AdapterPtr> out;
    for (size_t i = 0; i < dirs.size(); ++i) {
      progress().check_cancelled();
      auto it = loaded_.find(dirs[i]);
      if (it == loaded_.end()) it = loaded_.emplace(dirs[i], load_peft_adapter(dirs[i])).first;
      phase.report(double(i + 1) / double(dirs.size()), "loading adapters");
      out.push_back(it->second);
    }
    return out;
  }

 private:
  std::map<std::string, AdapterPtr> loaded_;
};

// Maps [0, 1] of one analysis onto its share of the report's slice of the progress bar.
struct Slices {
  double begin, end;
  Phase at(double from, double to) const {
    return Phase(begin + (end - begin) * from, begin + (end - begin) * to);
  }
};

std::string join_names(const std::vector<std::string>& dirs) {
  std::vector<std::string> names;
  for (const auto& d : dirs)
    names.push_back(fs::path(d).filename().string());
  return join(names, ", ");
}

// Both renderings of one figure under figures/, through the plot layer (GUI build only).
ReportImage render(const std::string& stem, const std::string& alt, const fs::path& dir,
                   const std::function<void(const std::string&)>& draw) {
  ReportImage im;
  im.alt = alt;
  if (!can_plot()) return im;
  fs::create_directories(dir / "figures");
  for (const char* ext : {".png", ".svg"}) {
    progress().check_cancelled();
    const fs::path rel = fs::path("figures") / (stem + ext);
    draw((dir / rel).string());
    (std::string(ext) == ".png" ? im.png : im.svg) = rel;
  }
  return im;
}

fs::path write_data(const fs::path& dir, const std::string& name, const std::string& text) {
  fs::create_directories(dir / "data");
  write_file_atomic(dir / "data" / name, text);
  return fs::path("data") / name;
}

std::vector<int> task_counts(const ReportLimits& l, size_t n) {
  std::vector<int> c = l.counts;
  if (c.empty()) c = {std::min(5, int(n)), int(n)};
  for (int x : c)
    if (x < 1 || size_t(x) > n)
      throw InputError("task count " + std::to_string(x) + " must be in 1 … " + std::to_string(n));
  std::sort(c.begin(), c.end());
  c.erase(std::unique(c.begin(), c.end()), c.end());
  return c;
}

// Position of each of `subset` in `all` (labels are folder names); throws when one is missing.
std::vector<size_t> positions(const std::vector<std::string>& subset,
                              const std::vector<std::string>& all, const std::string& what) {
  std::vector<size_t> out;
  for (const auto& s : subset) {
    const auto it = std::find(all.begin(), all.end(), s);
    if (it == all.end()) throw InputError(what + ": '" + s + "' is not among the family");
    out.push_back(size_t(it - all.begin()));
  }
  return out;
}

}  // namespace

void check_replaceable_output(const fs::path& dir) {
  check_output_location(dir);  // also for the default -o, which the option's check never sees
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  if (!fs::is_directory(dir)) throw InputError("output '" + dir.string() + "' is a file");
  if (fs::is_empty(dir) || fs::exists(dir / "report.html") || fs::exists(dir / "summary.json"))
    return;
  throw InputError("output folder '" + dir.string() +
                   "' holds other files (no report.html or summary.json); choose another -o");
}

void add_report_limit_options(CLI::App* sub, ReportLimits& l) {
  sub->add_option("--limit", l.examples, "report: test examples per task of the multitask study")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--loss-limit", l.loss_examples,
                  "report: validation examples for connectivity, soup and surface")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--points", l.points, "report: points per connectivity path (α = 0 … 1)")
      ->capture_default_str()
      ->check(CLI::Range(3, 101));
  sub->add_option("--grid", l.grid, "report: loss surface grid × grid points")
      ->capture_default_str()
      ->check(CLI::Range(3, 201));
  sub->add_option("--cka-inputs", l.cka_inputs, "report: prompts for CKA")
      ->capture_default_str()
      ->check(CLI::Range(4, 100000));
  sub->add_flag("--gates", l.gates,
                "report: also train a MoLE gate and the Mixture-of-LoRAs router for the "
                "multitask figure (Arrow, training-free, is always in)");
}

void write_study_report(const ReportPlan& plan, const fs::path& dir, double begin, double end) {
  const auto t0 = std::chrono::steady_clock::now();
  const ReportLimits& L = plan.limits;
  const Slices slice{begin, end};
  AdapterCache cache;
  Report report;
  report.title = plan.title;
  report.intro = plan.intro;
  if (!can_plot())
    report.figures_note =
        "This basin-cli was built without Qt (headless build), so the figures are not drawn: "
        "the captions and every figure's data files are here; the GUI build draws the figures.";
  const std::string device = compute_device_name();
  const std::string methods_text = std::string("linear, svd, ties, dare_ties, task_arithmetic") +
                                   (L.gates ? ", mole, moa, arrow" : ", arrow");

  // 1. Cosine similarity of ΔW (no model needed).
  ReportFigure cos_fig{"Cosine similarity of the task adapters' ΔW", {}, {}, {}, ""};
  {
    Phase load = slice.at(0.0, 0.01), run = slice.at(0.01, 0.03);
    AdapterSet set;
    for (const auto& a : cache.get(plan.cosine, load))
      set.add(a);
    const PairwiseMatrix m = cosine_similarity(set, run).overall();
    cos_fig.caption = cosine_caption(m);
    cos_fig.data = {write_data(dir, "cosine.json", m.to_json().dump(2) + "\n"),
                    write_data(dir, "cosine.csv", m.to_csv())};
    double lim = 0.05;
    for (Eigen::Index i = 0; i < m.values.rows(); ++i)
      for (Eigen::Index j = 0; j < m.values.cols(); ++j)
        if (i != j && std::isfinite(m.values(i, j))) lim = std::max(lim, std::abs(m.values(i, j)));
    cos_fig.images.push_back(render("cosine", "cosine similarity heatmap", dir, [&](auto& p) {
      plot_heatmap(m, -lim, lim, "Cosine similarity of ΔW (all modules)", p);
    }));
  }

  // 3, 5, 6. The family: one workbench (bank = the family) for connectivity, soup and surface.
  ReportFigure gap_fig{"Convexity gap over seeds and ranks of one task", {}, {}, {}, ""};
  ReportFigure soup_fig{"Greedy soup vs the best single adapter", {}, {}, {}, ""};
  ReportFigure surf_fig{"Loss surface through three models", {}, {}, {}, ""};
  if (plan.family.size() < 2) {
    gap_fig.skipped = soup_fig.skipped =
        "needs at least two adapters; " + std::to_string(plan.family.size()) + " given.";
  }
  if (plan.surface.size() != 3)
    surf_fig.skipped =
        "needs three adapters for the plane; " + std::to_string(plan.family.size()) + " given.";
  if (plan.family.size() >= 2) {
    Phase load = slice.at(0.03, 0.05), open = slice.at(0.05, 0.07);
    const auto bank = cache.get(plan.family, load);
    LandscapeSetup setup;
    setup.model = plan.model;
    setup.tasks = plan.family_tasks;
    setup.split = "validation";
    setup.limit = L.loss_examples;
    const auto wb = Workbench::open(setup, bank, open);
    const auto eval = wb->evaluator();
    const auto ends = bank_endpoints(wb->labels);
    SweepRange range;
    range.intervals = L.points - 1;
    {
      Phase run = slice.at(0.07, 0.33);
      const ConnectivityResult c = connectivity(eval, ends, sweep_alphas(range), run);
      gap_fig.caption = convexity_caption(c);
      const PairwiseMatrix m = c.matrix("convexity_gap");
      gap_fig.data = {write_data(dir, "connectivity.json", c.to_json().dump(2) + "\n"),
                      write_data(dir, "convexity_gap.csv", m.to_csv())};
      const double hi = finite_range(m).second;
      gap_fig.images.push_back(render("convexity_gap", "convexity gap heatmap", dir, [&](auto& p) {
        plot_heatmap(m, 0.0, std::max(hi, 1e-9), "convexity gap (loss above the chord)", p);
      }));
    }
    if (plan.soup.size() >= 2) {
      Phase run = slice.at(0.33, 0.4);
      const auto idx = positions(plan.soup, plan.family, "soup");
      std::vector<std::string> labels;
      for (size_t i : idx)
        labels.push_back(wb->labels[i]);
      // A soup point over the ingredients is a bank point with the others at 0.
      const PointLossFn loss = evaluator_loss(eval, progress(), idx);
      const SoupResult soup = greedy_soup(labels, loss, run);
      soup_fig.caption = soup_caption(soup);
      soup_fig.data = {write_data(dir, "soup.json", soup.to_json().dump(2) + "\n")};
      soup_fig.images.push_back(
          render("soup", "greedy soup", dir, [&](auto& p) { plot_soup(soup, p); }));
    } else if (soup_fig.skipped.empty()) {
      soup_fig.skipped = "needs at least two ingredients.";
    }
    if (plan.surface.size() == 3) {
      Phase gram = slice.at(0.4, 0.41), run = slice.at(0.41, 0.55);
      const auto idx = positions(plan.surface, plan.family, "surface");
      const Eigen::MatrixXd g = bank_gram(wb->adapters, gram);
      SurfaceOptions so;
      so.grid = L.grid;
      const SurfaceResult s =
          loss_surface(eval, {ends[idx[0]], ends[idx[1]], ends[idx[2]]}, g, so, run);
      surf_fig.caption = surface_caption(s);
      surf_fig.data = {write_data(dir, "surface.json", s.to_json().dump(2) + "\n"),
                       write_data(dir, "surface.csv", s.to_csv())};
      surf_fig.images.push_back(
          render("surface", "loss surface", dir, [&](auto& p) { plot_surface(s, p); }));
    }
  }

  // 4. CKA of pooled final-layer states: the base model and the adapters.
  std::string cka_limit;
  ReportFigure cka_fig{"CKA of final-layer representations", {}, {}, {}, ""};
  if (plan.cka.empty()) cka_fig.skipped = "needs at least one adapter.";
  std::vector<TaskSpec> specs;
  for (const auto& t : plan.tasks)
    specs.push_back(TaskSpec::load(t));
  const Tokenizer tok = Tokenizer::from_file(plan.model / "tokenizer.json");
  if (!plan.cka.empty()) {
    Phase load = slice.at(0.55, 0.56), feats = slice.at(0.56, 0.6), score = slice.at(0.6, 0.61);
    const auto adapters = cache.get(plan.cka, load);
    CausalLM model = CausalLM::load(plan.model, device);
    model.set_lora_bank(adapters);
    std::vector<Point> points{Point(adapters.size(), 0.0)};
    std::vector<std::string> labels{"base"};
    for (size_t k = 0; k < adapters.size(); ++k) {
      points.emplace_back(adapters.size(), 0.0);
      points.back()[k] = 1.0;
      labels.push_back(adapters[k]->name);
    }
    const auto inputs = select_inputs(specs, "test", L.cka_inputs, 0);
    const auto features = pooled_features(model, tok, inputs, -1, points, feats);
    const PairwiseMatrix m = cka_matrix(features, labels, false, score);
    cka_fig.caption = cka_caption(m);
    cka_fig.data = {write_data(dir, "cka.json", m.to_json().dump(2) + "\n"),
                    write_data(dir, "cka.csv", m.to_csv())};
    const double lo = std::min(0.0, finite_range(m).first);
    cka_fig.images.push_back(render("cka", "CKA heatmap", dir,
                                    [&](auto& p) { plot_heatmap(m, lo, 1.0, "linear CKA", p); }));
    cka_limit = std::to_string(inputs.size()) + " test prompts drawn from the tasks (seed 0)";
  }

  // 2 and 7. Multitask study (its oracle and base rows are figure 7 unless the kit has scores).
  ReportFigure mt_fig{"Multitask score per method", {}, {}, {}, ""};
  ReportFigure ts_fig{"Each task's own adapter vs the base model", {}, {}, {}, ""};
  ReportFigure size_fig{"Multitask score per method on two model sizes", {}, {}, {}, ""};
  std::optional<OracleVsBase> scores = plan.kit_scores;
  const double study_end = plan.larger ? 0.8 : 0.98;
  if (plan.task_adapters.empty()) {
    mt_fig.skipped = plan.no_task_adapters;
    size_fig.skipped =
        "compares two model sizes, which needs each task's own adapter, as figure 2 does.";
    if (!scores) ts_fig.skipped = plan.no_task_adapters;
  } else {
    Phase load = slice.at(0.61, 0.62), study = slice.at(0.62, study_end);
    const auto adapters = cache.get(plan.task_adapters, load);
    MultitaskOptions o;
    o.methods = {"linear", "svd", "ties", "dare_ties", "task_arithmetic", "arrow"};
    if (L.gates) o.methods.insert(o.methods.end() - 1, {"mole", "moa"});
    o.task_counts = task_counts(L, specs.size());
    o.limit = L.examples;
    CausalLM model = CausalLM::load(plan.model, device);
    const MultitaskResult r = multitask_study(model, tok, specs, adapters, o, study);
    mt_fig.title = "Multitask score per method at " + [&] {
      std::vector<std::string> c;
      for (int x : o.task_counts)
        c.push_back(std::to_string(x));
      return join(c, " and ");
    }() + " tasks";
    mt_fig.caption = multitask_caption(r);
    mt_fig.data = {write_data(dir, "multitask.json", r.to_json().dump(2) + "\n"),
                   write_data(dir, "multitask.csv", r.to_csv())};
    for (const auto& table : r.tables) {
      MultitaskResult one = r;
      one.tables = {table};
      const std::string n = std::to_string(table.task_count);
      mt_fig.images.push_back(render("multitask_" + n, "multitask bars at " + n + " tasks", dir,
                                     [&](auto& p) { plot_multitask_bars(one, p); }));
    }
    if (plan.larger) {
      // The same study on the larger model and its own adapters, at the largest task count.
      const ReportModel& big = *plan.larger;
      Phase big_load = slice.at(study_end, study_end + 0.01),
            big_study = slice.at(study_end + 0.01, 0.98);
      const auto big_adapters = cache.get(big.task_adapters, big_load);
      CausalLM big_model = CausalLM::load(big.model, device);
      const Tokenizer big_tok = Tokenizer::from_file(big.model / "tokenizer.json");
      MultitaskOptions bo = o;
      bo.task_counts = {o.task_counts.back()};
      const MultitaskResult br =
          multitask_study(big_model, big_tok, specs, big_adapters, bo, big_study);
      const std::string small_name =
          plan.model_name.empty() ? plan.model.filename().string() : plan.model_name;
      const ModelSizes sizes =
          ModelSizes::from_multitask({small_name, big.name},
                                     {parameter_count(ModelConfig::load(plan.model)),
                                      parameter_count(ModelConfig::load(big.model))},
                                     {&r, &br});
      size_fig.title = "Multitask score per method on two model sizes (" +
                       std::to_string(sizes.task_count) + " tasks)";
      size_fig.caption = model_sizes_caption(sizes);
      size_fig.data = {write_data(dir, "model_sizes.json", sizes.to_json().dump(2) + "\n"),
                       write_data(dir, "model_sizes.csv", sizes.to_csv())};
      size_fig.images.push_back(render("model_sizes", "multitask score per method, both sizes", dir,
                                       [&](auto& p) { plot_model_sizes(sizes, p); }));
    } else {
      size_fig.skipped = plan.no_larger.empty()
                             ? "needs a second base model with its own task adapters."
                             : plan.no_larger;
    }
    if (!scores) {
      std::vector<size_t> n;
      for (const auto& s : specs) {
        const size_t rows = s.load_split(o.split).size();
        n.push_back(o.limit ? std::min(rows, o.limit) : rows);
      }
      scores = OracleVsBase::from_multitask(r, o.split, n);
    }
  }
  if (scores) {
    ts_fig.caption = oracle_vs_base_caption(*scores);
    ts_fig.data = {write_data(dir, "oracle_vs_base.json", scores->to_json().dump(2) + "\n"),
                   write_data(dir, "oracle_vs_base.csv", scores->to_csv())};
    ts_fig.images.push_back(render("oracle_vs_base", "each task's own adapter vs the base model",
                                   dir, [&](auto& p) { plot_oracle_vs_base(*scores, p); }));
  }

  if (!plan.task_adapters.empty())
    report.limits.push_back({"Multitask study", methods_text + "; " + std::to_string(L.examples) +
                                                    " test examples per task (--limit)"});
  if (plan.family.size() >= 2) {
    std::vector<std::string> family_tasks;
    for (const auto& t : plan.family_tasks)
      family_tasks.push_back(t.stem().string());
    report.limits.push_back(
        {"Seeds and ranks", join_names(plan.family) + ", scored on " +
                                std::to_string(L.loss_examples) + " validation examples of " +
                                join(family_tasks, ", ") + " (answer loss; --loss-limit)"});
    report.limits.push_back(
        {"Connectivity", std::to_string(L.points) + " points per path, α = 0 … 1 (--points)"});
    if (!plan.soup.empty()) report.limits.push_back({"Greedy soup", join_names(plan.soup)});
    if (plan.surface.size() == 3)
      report.limits.push_back({"Loss surface", join_names(plan.surface) + " on a " +
                                                   std::to_string(L.grid) + " × " +
                                                   std::to_string(L.grid) + " grid (--grid)"});
  }
  if (!cka_limit.empty()) report.limits.push_back({"CKA", cka_limit + " (--cka-inputs)"});
  if (plan.larger && !plan.task_adapters.empty())
    report.limits.push_back(
        {"Model sizes",
         "the multitask study at " + std::to_string(task_counts(L, specs.size()).back()) +
             " tasks also on " + plan.larger->model.string() + " with its own adapters (" +
             join_names(plan.larger->task_adapters) + ")"});
  if (!plan.family_note.empty()) report.limits.push_back({"Note", plan.family_note});
  report.limits.push_back({"Device", device});
  if (scores && scores->source == "kit.json")
    report.limits.push_back({"Per-task scores", "from the kit's kit.json"});
  report.figures = {cos_fig, mt_fig, size_fig, gap_fig, cka_fig, soup_fig, surf_fig, ts_fig};
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  progress().check_cancelled();
  write_report(report, dir);
  progress().report(end, "report written");
}

}  // namespace basin::cli
