// basin-cli sweep | connectivity | surface: loss along straight paths between adapters (and
// the base model), the pairwise connectivity matrices of a set, and the loss over the plane
// through three models. Points are scored in batches through the model's LoRA bank.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "data/task.h"
#include "distributed.h"
#include "eval/task_eval.h"
#include "landscape/surface.h"
#include "landscape/sweep.h"
#include "landscape_common.h"
#include "plot.h"
#include "util/atomic_file.h"
#include "util/errors.h"
#include "util/strings.h"

namespace fs = std::filesystem;

namespace basin::cli {
namespace {

void add_range_options(CLI::App* sub, SweepRange& r) {
  sub->add_option("--alpha-min", r.alpha_min, "smallest α (−0.5 … 1.5; below 0 extrapolates)")
      ->capture_default_str();
  sub->add_option("--alpha-max", r.alpha_max, "largest α (−0.5 … 1.5; above 1 extrapolates)")
      ->capture_default_str();
  sub->add_option("--intervals", r.intervals, "N: the path gets N+1 evenly spaced points")
      ->capture_default_str();
}

// The α grid, validated before any model is loaded; warns when the barriers cannot be read.
std::vector<double> checked_alphas(const SweepRange& r) {
  const auto alphas = sweep_alphas(r);
  bool has0 = false, has1 = false;
  for (double a : alphas) {
    has0 = has0 || std::abs(a) < 1e-12;
    has1 = has1 || std::abs(a - 1.0) < 1e-12;
  }
  if (!has0 || !has1)
    std::cerr << "basin-cli: warning: the α grid misses 0 or 1, so the barriers are undefined "
                 "(choose --alpha-min/--alpha-max/--intervals so that 0 and 1 are grid points)\n";
  return alphas;
}

std::string number(double v, int digits = 6) {
  if (!std::isfinite(v)) return "—";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string curve_text(const Curve& c, size_t examples, int64_t target_tokens) {
  std::string out = "path " + c.a + " (α = 1) → " + c.b + " (α = 0): " + std::to_string(examples) +
                    " examples, " + std::to_string(target_tokens) + " target tokens\n";
  char buf[256];
  std::snprintf(buf, sizeof buf, "%8s  %12s  %11s", "alpha", "loss", "token_error");
  out += buf;
  if (!c.metric.empty()) {
    std::snprintf(buf, sizeof buf, "  %12s", c.metric.c_str());
    out += buf;
  }
  out += "\n";
  for (size_t i = 0; i < c.alpha.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%8.4f  %12.6f  %11.4f", c.alpha[i], c.loss[i],
                  c.token_error[i]);
    out += buf;
    if (!c.metric.empty()) {
      std::snprintf(buf, sizeof buf, "  %12.4f", c.metric_value[i]);
      out += buf;
    }
    out += "\n";
  }
  out += "convexity gap " + number(c.convexity_gap()) + ", barrier " + number(c.barrier()) +
         ", error barrier " + number(c.error_barrier()) + "\n";
  return out;
}

// A file name for a pair's curve: the labels with anything but [A-Za-z0-9._-] replaced.
std::string safe_name(const std::string& s) {
  std::string out;
  for (unsigned char ch : s)
    out += (std::isalnum(ch) || ch == '.' || ch == '_' || ch == '-') ? char(ch) : '_';
  return out;
}

// Writes a whole sweep as `o` asks: text, --csv or --json to o["output"], the curve to
// o["plot"].
void write_sweep(const Curve& curve, const nlohmann::json& o) {
  std::string text;
  if (o.at("json").get<bool>()) {
    nlohmann::ordered_json j;
    j["setup"] = o.at("setup");
    j["examples"] = o.at("examples");
    j["target_tokens"] = o.at("target_tokens");
    j["curve"] = curve.to_json();
    text = j.dump(2) + "\n";
  } else if (o.at("csv").get<bool>()) {
    text = curve.to_csv();
  } else {
    text = curve_text(curve, o.at("examples").get<size_t>(), o.at("target_tokens").get<int64_t>());
  }
  write_output(o.at("output").get<std::string>(), text);
  const std::string plot = o.at("plot").get<std::string>();
  if (!plot.empty()) plot_curve(curve, plot);
}

void register_sweep(CLI::App& app, Context& ctx, int& exit_code) {
  auto* sub = app.add_subcommand(
      "sweep", "Loss along the straight path θ(α) = α θ_a + (1−α) θ_b between two models");
  struct Args {
    EvalArgs eval;
    std::string a, b;
    SweepRange range;
    bool metric = false;
    std::string shard;
    OutputArgs out;
  };
  auto a = std::make_shared<Args>();
  add_eval_options(sub, a->eval, "split to evaluate", /*models_follow=*/false);
  sub->add_option("--a", a->a, "model at α = 1: a PEFT adapter folder, or \"base\"")->required();
  sub->add_option("--b", a->b, "model at α = 0: a PEFT adapter folder, or \"base\"")->required();
  add_range_options(sub, a->range);
  sub->add_flag("--metric", a->metric,
                "also score the task's metric at every α (greedy answers; one task only)");
  add_shard_option(sub, a->shard);
  add_output_options(sub, a->out, "draw the loss curve with chord and convex hull");
  register_gatherer("sweep",
                    [](const std::vector<nlohmann::json>& shares, const nlohmann::json& outputs) {
                      std::vector<Curve> blocks;
                      for (const auto& s : shares)
                        blocks.push_back(Curve::from_json(s));
                      write_sweep(Curve::concatenate(blocks), outputs);
                    });

  sub->callback([&ctx, &exit_code, a] {
    const jobs::Shard share = start_distributed(ctx, a->shard);
    const auto all_alphas = checked_alphas(a->range);
    if (a->metric && a->eval.tasks.size() != 1)
      throw InputError("--metric scores one task; got " + std::to_string(a->eval.tasks.size()) +
                       " --tasks");
    if (!a->out.plot.empty()) check_plot_path(a->out.plot);
    check_eval_inputs(a->eval);
    // A share scores its block of the α grid.
    const auto [first, last] = share.block(all_alphas.size());
    const std::vector<double> alphas(all_alphas.begin() + long(first),
                                     all_alphas.begin() + long(last));
    const double metric_share = a->metric ? 0.4 : 0.0;
    Phase load(0.0, 0.05), open(0.05, 0.15), run(0.15, 1.0 - metric_share),
        score(1.0 - metric_share, 1.0);
    const auto models = resolve_models({a->a, a->b}, load);
    const auto wb = Workbench::open(to_setup(a->eval), models.bank, open);
    const auto ends = endpoints_for(models, wb->labels);
    const auto eval = wb->evaluator();
    Curve curve = sweep(eval, ends[0], ends[1], alphas, run);
    progress().check_cancelled();
    if (a->metric) {
      const TaskSpec& spec = wb->tasks[0];
      auto rows = spec.load_split(a->eval.split);
      if (a->eval.limit > 0 && rows.size() > a->eval.limit) rows.resize(a->eval.limit);
      std::vector<Point> points;
      for (double al : alphas) {
        Point p(ends[0].coeffs.size());
        for (size_t k = 0; k < p.size(); ++k)
          p[k] = al * ends[0].coeffs[k] + (1.0 - al) * ends[1].coeffs[k];
        points.push_back(p);
      }
      curve.metric = metric_name(spec.metric);
      if (!points.empty())
        curve.metric_value = score_task_points(wb->model, wb->tokenizer, spec, rows, points, score);
      progress().check_cancelled();
    }
    progress().finish();

    ShareSpec spec;
    spec.command = "sweep";
    spec.fingerprint = {{"setup", to_setup(a->eval).to_json()},
                        {"a", a->a},
                        {"b", a->b},
                        {"alphas", all_alphas},
                        {"metric", a->metric}};
    spec.outputs = {{"json", a->out.json},
                    {"csv", a->out.csv},
                    {"output", a->out.output},
                    {"plot", a->out.plot},
                    {"setup", to_setup(a->eval).to_json()},
                    {"examples", wb->data.examples.size()},
                    {"target_tokens", wb->data.target_tokens()}};
    deliver(spec, share, a->shard, curve.to_json());
    exit_code = kOk;
  });
}

// Model i's own loss, read from any curve it ends (α = 1 at the lower index of the pair).
double loss_alone(const ConnectivityResult& r, size_t i) {
  const size_t other = i == 0 ? 1 : 0;
  const Curve* c = r.curve(i, other);
  const double at = i < other ? 1.0 : 0.0;
  for (size_t t = 0; c && t < c->alpha.size(); ++t)
    if (std::abs(c->alpha[t] - at) < 1e-12) return c->loss[t];
  return std::nan("");
}

// Writes a whole connectivity result as `o` asks: the matrix (text, --csv) or everything
// (--json) to o["output"], each pair's curve to o["curves_dir"], the heatmap to o["plot"].
void write_connectivity(const ConnectivityResult& result, const nlohmann::json& o) {
  const PairwiseMatrix m = result.matrix(o.at("matrix").get<std::string>());
  const size_t examples = o.at("examples").get<size_t>();
  std::string text;
  if (o.at("json").get<bool>()) {
    nlohmann::ordered_json j;
    j["setup"] = o.at("setup");
    j["examples"] = examples;
    const nlohmann::json rj = result.to_json();
    for (const auto& [k, v] : rj.items())
      j[k] = v;
    text = j.dump(2) + "\n";
  } else if (o.at("csv").get<bool>()) {
    text = m.to_csv();
  } else {
    text = m.metric + " over " + std::to_string(result.alphas.size()) + " points per path, " +
           std::to_string(examples) + " examples\n" + format_matrix(m) + "loss alone:";
    for (size_t i = 0; i < result.labels.size(); ++i)
      text += (i ? ", " : " ") + result.labels[i] + " " + number(loss_alone(result, i), 4);
    text += "\n";
  }
  write_output(o.at("output").get<std::string>(), text);
  const std::string curves_dir = o.at("curves_dir").get<std::string>();
  if (!curves_dir.empty()) {
    fs::create_directories(curves_dir);
    for (size_t i = 0; i < result.labels.size(); ++i)
      for (size_t j = i + 1; j < result.labels.size(); ++j)
        write_file_atomic(fs::path(curves_dir) / (safe_name(result.labels[i]) + "__" +
                                                  safe_name(result.labels[j]) + ".csv"),
                          result.curve(i, j)->to_csv());
  }
  const std::string plot = o.at("plot").get<std::string>();
  if (!plot.empty()) {
    auto [lo, hi] = finite_range(m);
    if (m.metric == "convexity_gap") lo = 0.0;
    plot_heatmap(m, lo, std::max(hi, lo + 1e-9), m.metric, plot);
  }
}

void register_connectivity(CLI::App& app, Context& ctx, int& exit_code) {
  auto* sub = app.add_subcommand(
      "connectivity",
      "Convexity gap, loss barrier and error barrier of the straight path between every pair");
  struct Args {
    EvalArgs eval;
    std::vector<std::string> models;
    SweepRange range;
    std::string matrix = "convexity_gap";
    std::string curves_dir;
    std::string shard;
    OutputArgs out;
  };
  auto a = std::make_shared<Args>();
  add_eval_options(sub, a->eval, "split to evaluate");
  sub->add_option("MODEL", a->models, "PEFT adapter folders, and \"base\" for the base model");
  add_range_options(sub, a->range);
  sub->add_option("--matrix", a->matrix, "matrix for the table, --csv and --plot")
      ->check(CLI::IsMember({"convexity_gap", "barrier", "error_barrier"}))
      ->capture_default_str();
  sub->add_option("--curves-dir", a->curves_dir, "also write each pair's curve as CSV here");
  add_shard_option(sub, a->shard);
  add_output_options(sub, a->out, "draw the matrix as a heatmap");
  register_gatherer("connectivity",
                    [](const std::vector<nlohmann::json>& shares, const nlohmann::json& outputs) {
                      std::vector<ConnectivityResult> parts;
                      for (const auto& s : shares)
                        parts.push_back(ConnectivityResult::from_json(s));
                      write_connectivity(ConnectivityResult::gather(parts), outputs);
                    });

  sub->callback([&ctx, &exit_code, a] {
    const jobs::Shard share = start_distributed(ctx, a->shard);
    take_models_from_tasks(a->eval.tasks, a->models);
    if (a->models.size() < 2)
      throw InputError("connectivity needs at least two models, got " +
                       std::to_string(a->models.size()));
    const auto alphas = checked_alphas(a->range);
    if (!a->out.plot.empty()) check_plot_path(a->out.plot);
    if (!a->curves_dir.empty() && fs::exists(a->curves_dir) && !fs::is_directory(a->curves_dir))
      throw InputError("--curves-dir '" + a->curves_dir + "' is a file, not a folder");
    check_eval_inputs(a->eval);
    Phase load(0.0, 0.05), open(0.05, 0.15), run(0.15, 1.0);
    const auto models = resolve_models(a->models, load);
    const auto wb = Workbench::open(to_setup(a->eval), models.bank, open);
    const auto ends = endpoints_for(models, wb->labels);
    const auto eval = wb->evaluator();
    const ConnectivityResult result = connectivity(eval, ends, alphas, run, {}, share);
    progress().finish();

    ShareSpec spec;
    spec.command = "connectivity";
    spec.fingerprint = {
        {"setup", to_setup(a->eval).to_json()}, {"models", a->models}, {"alphas", alphas}};
    spec.outputs = {{"json", a->out.json},
                    {"csv", a->out.csv},
                    {"output", a->out.output},
                    {"plot", a->out.plot},
                    {"matrix", a->matrix},
                    {"curves_dir", a->curves_dir},
                    {"setup", to_setup(a->eval).to_json()},
                    {"examples", wb->data.examples.size()}};
    deliver(spec, share, a->shard, result.to_json());
    exit_code = kOk;
  });
}

// Writes a whole surface as `o` asks: the grid (text, --csv) or everything (--json) to
// o["output"], the contour plot to o["plot"].
void write_surface(const SurfaceResult& s, const nlohmann::json& o) {
  std::string text;
  if (o.at("json").get<bool>()) {
    nlohmann::ordered_json j;
    j["setup"] = o.at("setup");
    j["examples"] = o.at("examples");
    j["surface"] = s.to_json();
    text = j.dump(2) + "\n";
  } else if (o.at("csv").get<bool>()) {
    text = s.to_csv();
  } else {
    char buf[256];
    text = "plane through";
    for (int k = 0; k < 3; ++k) {
      std::snprintf(buf, sizeof buf, " %s (%.4g, %.4g)%s", s.labels[k].c_str(), s.anchor_x[k],
                    s.anchor_y[k], k < 2 ? "," : "");
      text += buf;
    }
    Eigen::Index iy = 0, ix = 0;
    const double best = s.loss.minCoeff(&iy, &ix);
    std::snprintf(buf, sizeof buf, "\nlowest loss %.6f at (%.4g, %.4g); highest %.6f\n", best,
                  s.x[size_t(ix)], s.y[size_t(iy)], s.loss.maxCoeff());
    text += buf;
    text += "loss (rows: y from top to bottom; columns: x from left to right)\n";
    for (Eigen::Index r = s.loss.rows() - 1; r >= 0; --r) {
      std::snprintf(buf, sizeof buf, "%9.3g |", s.y[size_t(r)]);
      text += buf;
      for (Eigen::Index c = 0; c < s.loss.cols(); ++c) {
        std::snprintf(buf, sizeof buf, " %7.4f", s.loss(r, c));
        text += buf;
      }
      text += "\n";
    }
  }
  write_output(o.at("output").get<std::string>(), text);
  const std::string plot = o.at("plot").get<std::string>();
  if (!plot.empty()) plot_surface(s, plot);
}

void register_surface(CLI::App& app, Context& ctx, int& exit_code) {
  auto* sub = app.add_subcommand("surface", "Loss over the plane through three models");
  struct Args {
    EvalArgs eval;
    std::vector<std::string> models;
    SurfaceOptions options;
    std::string shard;
    OutputArgs out;
  };
  auto a = std::make_shared<Args>();
  add_eval_options(sub, a->eval, "split to evaluate");
  sub->add_option("MODEL", a->models, "three models: PEFT adapter folders or \"base\"");
  sub->add_option("--grid", a->options.grid, "grid × grid points (3 … 201)")->capture_default_str();
  sub->add_option("--margin", a->options.margin, "room around the three points (share of span)")
      ->capture_default_str();
  add_shard_option(sub, a->shard);
  add_output_options(sub, a->out, "draw the contour plot with the three points marked");
  register_gatherer("surface",
                    [](const std::vector<nlohmann::json>& shares, const nlohmann::json& outputs) {
                      std::vector<SurfaceResult> parts;
                      for (const auto& s : shares)
                        parts.push_back(SurfaceResult::from_json(s));
                      write_surface(SurfaceResult::gather(parts), outputs);
                    });

  sub->callback([&ctx, &exit_code, a] {
    const jobs::Shard share = start_distributed(ctx, a->shard);
    take_models_from_tasks(a->eval.tasks, a->models);
    if (a->models.size() != 3)
      throw InputError("surface needs exactly three models, got " +
                       std::to_string(a->models.size()));
    if (a->options.grid < 3 || a->options.grid > 201)
      throw InputError("--grid " + std::to_string(a->options.grid) + " must be in 3 … 201");
    if (!std::isfinite(a->options.margin) || a->options.margin < 0 || a->options.margin > 2)
      throw InputError("--margin " + format_double(a->options.margin) + " must be in 0 … 2");
    if (!a->out.plot.empty()) check_plot_path(a->out.plot);
    check_eval_inputs(a->eval);
    Phase load(0.0, 0.05), open(0.05, 0.12), gram(0.12, 0.15), run(0.15, 1.0);
    const auto models = resolve_models(a->models, load);
    const auto wb = Workbench::open(to_setup(a->eval), models.bank, open);
    const auto ends = endpoints_for(models, wb->labels);
    const Eigen::MatrixXd g = bank_gram(wb->adapters, gram);
    const auto eval = wb->evaluator();
    const SurfaceResult s =
        loss_surface(eval, {ends[0], ends[1], ends[2]}, g, a->options, run, share);
    progress().finish();

    ShareSpec spec;
    spec.command = "surface";
    spec.fingerprint = {{"setup", to_setup(a->eval).to_json()},
                        {"models", a->models},
                        {"grid", a->options.grid},
                        {"margin", a->options.margin}};
    spec.outputs = {{"json", a->out.json},
                    {"csv", a->out.csv},
                    {"output", a->out.output},
                    {"plot", a->out.plot},
                    {"setup", to_setup(a->eval).to_json()},
                    {"examples", wb->data.examples.size()}};
    deliver(spec, share, a->shard, s.to_json());
    exit_code = kOk;
  });
}

}  // namespace

void register_landscape(CLI::App& app, Context& ctx, int& exit_code) {
  register_sweep(app, ctx, exit_code);
  register_connectivity(app, ctx, exit_code);
  register_surface(app, ctx, exit_code);
}

}  // namespace basin::cli
