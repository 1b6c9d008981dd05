// basin-cli multitask | soup: the router-free merging study (every merge method and the
// baselines on every task, the multitask score, and how it falls as tasks are added) and the
// greedy soup with interpolation (uniformity study, Algorithm 1), saved as a PEFT adapter.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "data/task.h"
#include "distributed.h"
#include "io/json_numbers.h"
#include "landscape/multitask.h"
#include "landscape/soup.h"
#include "landscape_common.h"
#include "lora/adapter_set.h"
#include "lora/peft_io.h"
#include "merge/merge.h"
#include "model/causal_lm.h"
#include "mpi_world.h"
#include "plot.h"
#include "text/tokenizer.h"
#include "util/errors.h"
#include "util/runtime.h"
#include "util/strings.h"

namespace fs = std::filesystem;

namespace basin::cli {
namespace {

std::vector<std::string> parse_methods(const std::string& text) {
  const auto known = method_names();
  std::vector<std::string> out;
  for (const auto& part : split(text, ',')) {
    const std::string m = part;
    if (m != "soup" && !is_gate_method(m) &&
        std::find(known.begin(), known.end(), m) == known.end())
      throw InputError("--methods: unknown method '" + excerpt(m) +
                       "' (known: " + join(known, ", ") + ", soup, mole, moa, arrow)");
    if (std::find(out.begin(), out.end(), m) != out.end())
      throw InputError("--methods: '" + m + "' is listed twice");
    out.push_back(m);
  }
  if (out.empty()) throw InputError("--methods is empty");
  return out;
}

// "2-7", "2,3,5" or "2-4,7" → sorted task counts, each in 1 … n.
std::vector<int> parse_counts(const std::string& text, size_t n) {
  std::vector<int> out;
  const auto number = [&](const std::string& s) {
    char* end = nullptr;
    const long v = std::strtol(s.c_str(), &end, 10);
    if (s.empty() || end != s.c_str() + s.size())
      throw InputError("--counts: '" + s + "' is not a whole number (in '" + text + "')");
    if (v < 1 || size_t(v) > n)
      throw InputError("--counts: " + s + " must be in 1 … " + std::to_string(n) +
                       " (the number of --tasks)");
    return static_cast<int>(v);
  };
  for (const auto& part : split(text, ',')) {
    const std::string p = part;
    const auto dash = p.find('-', 1);
    if (dash == std::string::npos) {
      out.push_back(number(p));
      continue;
    }
    const int lo = number(p.substr(0, dash)), hi = number(p.substr(dash + 1));
    if (lo > hi) throw InputError("--counts: range '" + p + "' runs backwards");
    for (int c = lo; c <= hi; ++c)
      out.push_back(c);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string multitask_text(const MultitaskResult& r, const MultitaskOptions& o) {
  const auto& full = r.full();
  size_t w = 16;
  for (const auto& row : full.rows)
    w = std::max(w, row.method.size());
  std::vector<std::string> heads;
  for (size_t t = 0; t < r.tasks.size(); ++t)
    heads.push_back(r.tasks[t] + " (" + r.metrics[t] + ")");
  heads.push_back("multitask score");
  char buf[512];
  std::string out = "multitask study: " + std::to_string(r.tasks.size()) + " tasks, split " +
                    o.split +
                    (o.limit ? ", " + std::to_string(o.limit) + " examples per task" : "") + "\n";
  std::snprintf(buf, sizeof buf, "%-*s", int(w), "method");
  out += buf;
  for (const auto& h : heads) {
    std::snprintf(buf, sizeof buf, "  %*s", int(std::max<size_t>(8, h.size())), h.c_str());
    out += buf;
  }
  out += "\n";
  for (const auto& row : full.rows) {
    std::snprintf(buf, sizeof buf, "%-*s", int(w), row.method.c_str());
    out += buf;
    for (size_t t = 0; t <= row.scores.size(); ++t) {
      const double v = t < row.scores.size() ? row.scores[t] : row.multitask_score;
      const int cw = int(std::max<size_t>(8, heads[t].size()));
      if (std::isfinite(v))
        std::snprintf(buf, sizeof buf, "  %*.4f", cw, v);
      else
        std::snprintf(buf, sizeof buf, "  %*s", cw + 2, "—");
      out += buf;
    }
    out += "\n";
  }
  for (const auto& row : full.rows) {
    const double share = r.share_of_moa(row.method, full.task_count);
    if (row.method == "moa" || !std::isfinite(share)) continue;
    std::snprintf(buf, sizeof buf, "%s reaches %.2f of MoA's multitask score\n", row.method.c_str(),
                  share);
    out += buf;
  }
  if (r.tables.size() > 1) {
    out += "\nmultitask score by number of tasks\n";
    std::snprintf(buf, sizeof buf, "%-*s", int(w), "method");
    out += buf;
    for (const auto& t : r.tables) {
      std::snprintf(buf, sizeof buf, "  %8d", t.task_count);
      out += buf;
    }
    out += "\n";
    for (const auto& m : r.methods()) {
      std::snprintf(buf, sizeof buf, "%-*s", int(w), m.c_str());
      out += buf;
      for (double v : r.score_by_count(m)) {
        if (std::isfinite(v))
          std::snprintf(buf, sizeof buf, "  %8.4f", v);
        else
          std::snprintf(buf, sizeof buf, "  %10s", "—");
        out += buf;
      }
      out += "\n";
    }
  }
  return out;
}

// Writes the whole study as `o` asks: the table (text), --csv or --json to o["output"], the bars
// to o["plot"], the score by task count to o["plot_counts"].
void write_multitask(const MultitaskResult& r, const nlohmann::json& o) {
  std::string text;
  if (o.at("json").get<bool>()) {
    text = r.to_json().dump(2) + "\n";
  } else if (o.at("csv").get<bool>()) {
    text = r.to_csv();
  } else {
    MultitaskOptions mo;
    mo.split = o.at("split").get<std::string>();
    mo.limit = o.at("limit").get<size_t>();
    text = multitask_text(r, mo);
  }
  write_output(o.at("output").get<std::string>(), text);
  const std::string plot = o.at("plot").get<std::string>(),
                    plot_counts = o.at("plot_counts").get<std::string>();
  if (!plot.empty()) plot_multitask_bars(r, plot);
  if (!plot_counts.empty()) plot_score_by_count(r, plot_counts);
}

void register_multitask(CLI::App& app, Context& ctx, int& exit_code) {
  auto* sub = app.add_subcommand(
      "multitask", "Every merge method and the baselines on every task, with the multitask score");
  struct Args {
    std::string model;
    std::vector<std::string> tasks, adapters;
    std::string methods, counts;
    MultitaskOptions options;
    std::string shard;
    OutputArgs out;
    std::string plot_counts;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("--model", a->model, "Hugging Face base model folder (with tokenizer.json)")
      ->required();
  sub->add_option("--tasks", a->tasks, "task spec JSON files, in order")
      ->required()
      ->expected(1, -1);
  sub->add_option("--adapters", a->adapters, "each task's own adapter, in the order of --tasks")
      ->required()
      ->expected(1, -1);
  sub->add_option(
      "--methods", a->methods,
      "comma-separated merge methods, plus soup (default: " + join(a->options.methods, ",") + ")");
  sub->add_option("--counts", a->counts,
                  "also run on the first n tasks for these n, e.g. 2-7 or 2,3,5");
  sub->add_option("--split", a->options.split, "split the tasks are scored on")
      ->capture_default_str();
  sub->add_option("--soup-split", a->options.soup_split, "split the greedy soup is chosen on")
      ->capture_default_str();
  sub->add_option("--limit", a->options.limit, "examples per task (0 = all)")
      ->capture_default_str();
  sub->add_option("--density", a->options.density, "density of ties / dare, in (0, 1]")
      ->capture_default_str();
  sub->add_option("--rank", a->options.rank, "target rank of svd / ties / dare / task_arithmetic");
  sub->add_option("--seed", a->options.seed, "seed of the DARE masks and of the gates");
  sub->add_option("--gate-split", a->options.gate_split, "split the gates (mole, moa) train on")
      ->capture_default_str();
  sub->add_option("--gate-limit", a->options.gate_limit,
                  "training examples per task for the gates (0 = all)")
      ->capture_default_str();
  sub->add_option("--mole-steps", a->options.mole.train.steps, "MoLE gate training steps")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--moa-steps", a->options.moa.steps, "router training steps")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  add_shard_option(sub, a->shard);
  add_output_options(sub, a->out, "draw the grouped bars (methods × tasks, and the score)");
  sub->add_option("--plot-counts", a->plot_counts,
                  "draw the multitask score against the number of tasks");
  register_gatherer("multitask",
                    [](const std::vector<nlohmann::json>& shares, const nlohmann::json& outputs) {
                      std::vector<MultitaskPart> parts;
                      for (const auto& s : shares)
                        parts.push_back(MultitaskPart::from_json(s));
                      write_multitask(gather_multitask(parts), outputs);
                    });

  sub->callback([&ctx, &exit_code, a] {
    const jobs::Shard share = start_distributed(ctx, a->shard);
    MultitaskOptions o = a->options;
    if (a->tasks.size() != a->adapters.size())
      throw InputError("--adapters needs one adapter per task: " + std::to_string(a->tasks.size()) +
                       " tasks, " + std::to_string(a->adapters.size()) + " adapters");
    if (!a->methods.empty()) o.methods = parse_methods(a->methods);
    o.mole.train.seed = o.seed;
    o.moa.seed = o.seed;
    if (!a->counts.empty()) o.task_counts = parse_counts(a->counts, a->tasks.size());
    if (!(o.density > 0.0 && o.density <= 1.0))
      throw InputError("--density " + format_double(o.density) + " must be in (0, 1]");
    if (o.rank < 0) throw InputError("--rank " + std::to_string(o.rank) + " must be positive");
    if (!a->out.plot.empty()) check_plot_path(a->out.plot);
    if (!a->plot_counts.empty()) check_plot_path(a->plot_counts);
    EvalArgs e;
    e.model = a->model;
    e.tasks = a->tasks;
    check_eval_inputs(e);

    Phase load(0.0, 0.05), study(0.1, 1.0);
    const auto adapters = load_adapters(a->adapters, load);
    progress().report(0.05, "loading the base model");
    CausalLM model = CausalLM::load(a->model, compute_device_name());
    const Tokenizer tok = Tokenizer::from_file(fs::path(a->model) / "tokenizer.json");
    std::vector<TaskSpec> tasks;
    for (const auto& t : a->tasks)
      tasks.push_back(TaskSpec::load(t));
    const MultitaskPart part = multitask_share(model, tok, tasks, adapters, o, study, share);

    ShareSpec spec;
    spec.command = "multitask";
    spec.fingerprint = {{"model", a->model},
                        {"tasks", a->tasks},
                        {"adapters", a->adapters},
                        {"methods", o.methods},
                        {"counts", o.task_counts},
                        {"split", o.split},
                        {"soup_split", o.soup_split},
                        {"limit", o.limit},
                        {"density", o.density},
                        {"rank", o.rank},
                        {"seed", o.seed},
                        {"gate_split", o.gate_split},
                        {"gate_limit", o.gate_limit},
                        {"mole_steps", o.mole.train.steps},
                        {"moa_steps", o.moa.steps}};
    spec.outputs = {{"json", a->out.json},
                    {"csv", a->out.csv},
                    {"output", a->out.output},
                    {"plot", a->out.plot},
                    {"plot_counts", a->plot_counts},
                    {"split", o.split},
                    {"limit", o.limit}};
    deliver(spec, share, a->shard, part.to_json());
    progress().finish();
    exit_code = kOk;
  });
}

std::string soup_text(const SoupResult& s, size_t examples) {
  char buf[512];
  std::string out = "greedy soup over " + std::to_string(s.labels.size()) + " ingredients, " +
                    std::to_string(examples) + " examples\ningredients by loss alone:\n";
  for (int i : s.order) {
    std::snprintf(buf, sizeof buf, "  %-24s %.6f\n", s.labels[size_t(i)].c_str(),
                  s.single_loss[size_t(i)]);
    out += buf;
  }
  out += "path:\n";
  std::snprintf(buf, sizeof buf, "  start with %-18s loss %.6f\n",
                s.labels[size_t(s.best_single())].c_str(), s.single_loss[size_t(s.best_single())]);
  out += buf;
  for (const auto& st : s.steps) {
    std::snprintf(buf, sizeof buf, "  try %-24s k=1..4:", st.candidate.c_str());
    out += buf;
    for (double l : st.tried) {
      std::snprintf(buf, sizeof buf, " %.6f", l);
      out += buf;
    }
    if (st.accepted_k > 0)
      std::snprintf(buf, sizeof buf, "  → keep k=%d, loss %.6f\n", st.accepted_k, st.loss);
    else
      std::snprintf(buf, sizeof buf, "  → rejected\n");
    out += buf;
  }
  out += "greedy soup:";
  for (size_t i = 0; i < s.labels.size(); ++i)
    if (s.coeffs[i] != 0.0) {
      std::snprintf(buf, sizeof buf, " %s %.4g", s.labels[i].c_str(), s.coeffs[i]);
      out += buf;
    }
  std::snprintf(buf, sizeof buf,
                "\n  greedy soup   %.6f\n  uniform soup  %.6f\n  best single   %.6f (%s)\n", s.loss,
                s.uniform_loss, s.single_loss[size_t(s.best_single())],
                s.labels[size_t(s.best_single())].c_str());
  out += buf;
  return out;
}

// Under mpirun: each greedy step's points (the ingredients alone and the uniform soup, then the
// four interpolations of a step) are shared over the ranks in blocks, and every rank gets all
// the losses (mpi::allgather), so every rank takes the same greedy decisions. A point's loss is
// that of one process within float32 rounding (its batch holds other points beside it).
PointLossFn shared_over_ranks(PointLossFn local) {
  return [local = std::move(local)](const std::vector<Point>& points) {
    const jobs::Shard mine{mpi::rank(), mpi::size()};
    const auto [begin, end] = mine.block(points.size());
    std::vector<double> losses;
    if (end > begin)
      losses = local(std::vector<Point>(points.begin() + long(begin), points.begin() + long(end)));
    std::vector<double> all;
    for (const auto& piece : mpi::allgather(json_numbers(losses).dump()))
      for (double l : numbers_from_json(nlohmann::json::parse(piece)))
        all.push_back(l);
    if (all.size() != points.size())
      throw Error("the ranks returned " + std::to_string(all.size()) + " losses for " +
                  std::to_string(points.size()) + " points");
    return all;
  };
}

// What rank 0 (or the single process) needs to write the soup: the ingredients, for --save.
struct SoupState {
  std::vector<std::shared_ptr<const Adapter>> ingredients;
};

// Writes the soup as `o` asks: the --save adapter (o["save"]), then text or --json to
// o["output"] and the plot to o["plot"].
void write_soup(const SoupResult& soup, const std::vector<std::shared_ptr<const Adapter>>& bank,
                const nlohmann::json& o) {
  const std::string save_to = o.at("save").get<std::string>();
  if (!save_to.empty()) {
    Phase save(0.95, 1.0);
    // A soup is Σ c_i s_i B_i A_i: a `cat` merge with weights c (ingredients with c = 0 left
    // out), exact at rank Σ r_i.
    AdapterSet set;
    MergeRecipe recipe;
    recipe.method = MergeMethod::Cat;
    for (size_t i = 0; i < bank.size() && i < soup.coeffs.size(); ++i)
      if (soup.coeffs[i] != 0.0) {
        for (const auto& w : set.add(bank[i]))
          std::cerr << "basin-cli: warning: " << w << "\n";
        recipe.weights.push_back(soup.coeffs[i]);
      }
    recipe.name = fs::path(save_to).filename().string();
    recipe.validate(set.size());
    Adapter merged = merge(set, recipe, save);
    if (merged.name.empty()) merged.name = recipe.name;
    SaveOptions so;
    so.overwrite = o.at("force").get<bool>();
    so.metadata = merged.metadata;
    so.metadata["basin.soup"] = soup.to_json().dump();
    progress().check_cancelled();
    save_peft_adapter(merged, save_to, so);
  }
  const size_t examples = o.at("examples").get<size_t>();
  std::string text;
  if (o.at("json").get<bool>()) {
    nlohmann::ordered_json j;
    j["setup"] = o.at("setup");
    j["examples"] = examples;
    j["soup"] = soup.to_json();
    if (!save_to.empty()) j["saved"] = save_to;
    text = j.dump(2) + "\n";
  } else {
    text = soup_text(soup, examples);
    if (!save_to.empty()) text += "saved the greedy soup to " + save_to + "\n";
  }
  write_output(o.at("output").get<std::string>(), text);
  const std::string plot = o.at("plot").get<std::string>();
  if (!plot.empty()) plot_soup(soup, plot);
}

void register_soup(CLI::App& app, Context& ctx, int& exit_code) {
  auto* sub = app.add_subcommand(
      "soup", "Greedy soup with interpolation (and the uniform soup); saves it as an adapter");
  struct Args {
    EvalArgs eval;
    std::vector<std::string> adapters;
    std::string save;
    bool force = false;
    std::string shard;
    OutputArgs out;
  };
  auto a = std::make_shared<Args>();
  add_eval_options(sub, a->eval, "split the soup is chosen on");
  sub->add_option("ADAPTER", a->adapters, "the ingredients: PEFT adapter folders");
  sub->add_option("--save", a->save, "write the greedy soup as a PEFT adapter folder here");
  sub->add_flag("-f,--force", a->force, "replace an existing --save folder");
  sub->add_option("--shard", a->shard,
                  "refused: each greedy step starts from the soup the one before chose, so "
                  "the soup has no independent shares; run it under mpirun instead");
  add_output_options(sub, a->out, "draw each ingredient, the soup's path and the uniform soup");
  auto state = std::make_shared<SoupState>();
  // Every rank computes the whole soup (the same one); rank 0 writes it with the ingredients it
  // loaded itself, so this gatherer runs only in the process that ran the command.
  register_gatherer(
      "soup",
      [state](const std::vector<nlohmann::json>& shares, const nlohmann::json& outputs) {
        for (size_t r = 1; r < shares.size(); ++r)
          if (shares[r] != shares[0])
            throw Error("rank " + std::to_string(r) + " chose another soup than rank 0");
        write_soup(SoupResult::from_json(shares.at(0)), state->ingredients, outputs);
      },
      /*mpi_only=*/true);

  sub->callback([&ctx, &exit_code, a, state] {
    if (!a->shard.empty())
      throw InputError("soup --shard " + excerpt(a->shard, 20) +
                       ": the greedy soup cannot be split into independent shares (each step "
                       "starts from the soup the step before chose); run it under mpirun -n K, "
                       "where the ranks share each step's candidates");
    const jobs::Shard share = start_distributed(ctx, "");
    take_models_from_tasks(a->eval.tasks, a->adapters);
    if (a->adapters.size() < 2)
      throw InputError("soup needs at least two adapters, got " +
                       std::to_string(a->adapters.size()));
    if (a->out.csv) throw InputError("soup has no CSV form; use --json");
    if (!a->out.plot.empty()) check_plot_path(a->out.plot);
    if (!a->save.empty() && !a->force && fs::exists(a->save) &&
        !(fs::is_directory(a->save) && fs::is_empty(a->save)))
      throw InputError("--save '" + a->save + "' exists (use --force to replace it)");
    check_eval_inputs(a->eval);
    Phase load(0.0, 0.05), open(0.05, 0.15), run(0.15, 0.95);
    const auto models = resolve_models(a->adapters, load);
    const auto wb = Workbench::open(to_setup(a->eval), models.bank, open);
    const auto eval = wb->evaluator();
    // The soup reports its own steps; each batch only carries the cancel flag.
    PointLossFn loss = evaluator_loss(eval, progress());
    if (mpi::active()) loss = shared_over_ranks(std::move(loss));
    const SoupResult soup = greedy_soup(wb->labels, loss, run);
    state->ingredients = wb->adapters;

    ShareSpec spec;
    spec.command = "soup";
    spec.fingerprint = {{"setup", to_setup(a->eval).to_json()}, {"adapters", a->adapters}};
    spec.outputs = {{"json", a->out.json},
                    {"output", a->out.output},
                    {"plot", a->out.plot},
                    {"save", a->save},
                    {"force", a->force},
                    {"setup", to_setup(a->eval).to_json()},
                    {"examples", wb->data.examples.size()}};
    deliver(spec, share, "", soup.to_json());
    progress().finish();
    exit_code = kOk;
  });
}

}  // namespace

void register_studies(CLI::App& app, Context& ctx, int& exit_code) {
  register_multitask(app, ctx, exit_code);
  register_soup(app, ctx, exit_code);
}

}  // namespace basin::cli
