// basin-cli gate train | inspect: learned and routed references over frozen LoRA experts —
// MoLE (a gate per projection or block), the Mixture-of-LoRAs router ("moa") and Arrow routing —
// saved as a gate folder that eval / generate / embed take with --gate.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "data/task.h"
#include "gate/gate_folder.h"
#include "landscape/gate_stats.h"
#include "landscape_common.h"
#include "model/causal_lm.h"
#include "plot.h"
#include "text/tokenizer.h"
#include "train/gate_training.h"
#include "train/task_examples.h"
#include "util/errors.h"
#include "util/runtime.h"
#include "util/strings.h"

namespace fs = std::filesystem;

namespace basin::cli {
namespace {

std::string usage_text(const GateStats& s, size_t label) {
  char buf[256];
  size_t w = 8;
  for (const auto& t : s.tasks)
    w = std::max(w, t.size());
  std::string out = s.usage_labels[label] + ": mean gate weight (rows: tasks, columns: experts)\n";
  std::snprintf(buf, sizeof buf, "%-*s", int(w), "");
  out += buf;
  for (const auto& e : s.experts) {
    std::snprintf(buf, sizeof buf, "  %10s", e.substr(0, 10).c_str());
    out += buf;
  }
  out += "\n";
  const auto& m = s.usage[label];
  for (size_t t = 0; t < s.tasks.size(); ++t) {
    std::snprintf(buf, sizeof buf, "%-*s", int(w), s.tasks[t].c_str());
    out += buf;
    for (size_t k = 0; k < s.experts.size(); ++k) {
      const double v = m(Eigen::Index(t), Eigen::Index(k));
      if (std::isfinite(v))
        std::snprintf(buf, sizeof buf, "  %10.4f", v);
      else
        std::snprintf(buf, sizeof buf, "  %12s", "—");
      out += buf;
    }
    out += "\n";
  }
  return out;
}

std::string stats_text(const GateStats& s) {
  char buf[256];
  std::string out = "gate: " + s.kind + " over " + std::to_string(s.experts.size()) + " experts (" +
                    join(s.experts, ", ") + ")\n";
  std::snprintf(buf, sizeof buf, "trainable parameters %lld, made in %.2f s\n",
                static_cast<long long>(s.trainable_parameters), s.train_seconds);
  out += buf;
  if (!s.losses.empty()) {
    std::snprintf(buf, sizeof buf, "training loss %.4f -> %.4f over %zu steps\n", s.losses.front(),
                  s.losses.back(), s.losses.size());
    out += buf;
  }
  out += usage_text(s, 0);
  bool any = false;
  for (size_t t = 0; t < s.routing_accuracy.size(); ++t)
    if (std::isfinite(s.routing_accuracy[t])) {
      if (!any) out += "routing accuracy\n";
      any = true;
      std::snprintf(buf, sizeof buf, "  %-16s %.4f\n", s.tasks[t].c_str(), s.routing_accuracy[t]);
      out += buf;
    }
  if (s.usage.size() > 1) out += "(per-layer matrices in --json / --csv)\n";
  return out;
}

void register_train(CLI::App& gate, Context& ctx, int& exit_code) {
  auto* sub = gate.add_subcommand(
      "train",
      "Train a gate (mole, moa) or build Arrow routing over adapters; saves a gate folder");
  struct Args {
    std::string kind = "mole", model, output, split = "train", granularity = "module";
    std::vector<std::string> tasks, adapters;
    MoleTrainOptions mole;
    MoaTrainOptions moa;
    ArrowOptions arrow;
    double temperature = 1.0;
    int64_t top_k = 0;
    size_t limit = 200;
    int64_t steps = 0;
    double lr = 0;
    uint64_t seed = 0;
    bool force = false, json = false;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("--kind", a->kind, "mole, moa (Mixture-of-LoRAs router) or arrow")
      ->capture_default_str();
  sub->add_option("--model", a->model, "Hugging Face base model folder (with tokenizer.json)")
      ->required();
  sub->add_option("--tasks", a->tasks,
                  "task spec JSON files: the training mix (mole), one per adapter in order (moa); "
                  "not needed for arrow")
      ->expected(0, -1);
  sub->add_option("ADAPTERS", a->adapters, "expert PEFT adapter folders, in order")
      ->expected(0, -1);
  sub->add_option("-o,--output", a->output, "gate folder to write")
      ->required()
      ->check(writable_output());
  sub->add_option("--granularity", a->granularity, "mole: a gate per module or per block")
      ->capture_default_str();
  sub->add_option("--temperature", a->temperature, "τ of the gate softmax")->capture_default_str();
  sub->add_option("--alpha", a->mole.balance_alpha, "mole: weight α of the gating-balance loss")
      ->capture_default_str();
  sub->add_option("--top-k", a->top_k,
                  "arrow: experts per token (default 2); moa: 1 = hard routing");
  sub->add_option("--layer", a->moa.router.layer,
                  "moa: hidden state after this many layers (−1 = last)")
      ->capture_default_str();
  sub->add_option("--steps", a->steps, "training steps (mole default 100, moa 300)");
  sub->add_option("--weight-decay", a->moa.weight_decay, "moa: L2 weight on the router's weights")
      ->capture_default_str();
  sub->add_option("--lr", a->lr, "learning rate (mole default 5e-3, moa 0.05)");
  sub->add_option("--batch", a->mole.train.batch_size, "mole: sequences per step")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--split", a->split, "split the gate trains on")->capture_default_str();
  sub->add_option("--limit", a->limit, "training examples per task (0 = all)")
      ->capture_default_str();
  sub->add_option("--seed", a->seed, "seed (initialisation, data order)");
  sub->add_flag("-f,--force", a->force, "replace an existing output folder");
  sub->add_flag("--json", a->json, "JSON summary on stdout");
  sub->callback([&ctx, &exit_code, a] {
    start(ctx);
    take_models_from_tasks(a->tasks, a->adapters);
    const GateKind kind = parse_gate_kind(a->kind);
    if (a->adapters.empty()) throw InputError("name the expert adapter folders");
    if (kind != GateKind::Arrow && a->tasks.empty())
      throw InputError("--tasks is required for --kind " + a->kind + " (its training data)");
    if (kind == GateKind::Moa && a->tasks.size() != a->adapters.size())
      throw InputError("--kind moa needs one adapter per task: " + std::to_string(a->tasks.size()) +
                       " tasks, " + std::to_string(a->adapters.size()) + " adapters");
    if (!(a->temperature > 0) || !std::isfinite(a->temperature))
      throw InputError("--temperature " + format_double(a->temperature) + " must be > 0");
    if (a->steps < 0) throw InputError("--steps must be positive");
    if (a->lr != 0 && (!(a->lr > 0) || !std::isfinite(a->lr)))
      throw InputError("--lr " + format_double(a->lr) + " must be > 0");
    const MoleGranularity granularity = parse_granularity(a->granularity);
    if (fs::exists(a->output) && !fs::is_empty(a->output) && !a->force)
      throw InputError("'" + a->output + "' exists and is not empty; use --force to replace it");
    EvalArgs e;
    e.model = a->model;
    e.tasks = a->tasks;
    if (e.tasks.empty()) e.tasks.push_back(a->model + "/config.json");  // Arrow reads no task
    check_eval_inputs(e);

    Phase load(0.0, 0.05), work(0.1, 1.0);
    const auto experts = load_adapters(a->adapters, load);
    progress().report(0.05, "loading the base model");
    CausalLM model = CausalLM::load(a->model, compute_device_name());
    const Tokenizer tok = Tokenizer::from_file(fs::path(a->model) / "tokenizer.json");
    model.set_lora_bank(experts);
    std::vector<TaskSpec> tasks;
    for (const auto& t : a->tasks)
      tasks.push_back(TaskSpec::load(t));
    const auto K = static_cast<int64_t>(experts.size());
    Gate g;
    switch (kind) {
      case GateKind::Mole: {
        MoleTrainOptions o = a->mole;
        o.granularity = granularity;
        o.temperature = a->temperature;
        if (a->steps > 0) o.train.steps = a->steps;
        if (a->lr > 0) o.train.lr = a->lr;
        o.train.seed = a->seed;
        std::vector<TrainExample> data;
        for (const auto& t : tasks) {
          auto rows = t.load_split(a->split);
          if (a->limit > 0 && rows.size() > a->limit) rows.resize(a->limit);
          for (auto& ex : task_examples(t, rows, tok, model.config().eos_token_id))
            data.push_back(std::move(ex));
        }
        g = train_mole_gate(model, experts, data, o, work);
        for (const auto& t : tasks)
          g.record.tasks.push_back(t.name);
        break;
      }
      case GateKind::Moa: {
        MoaTrainOptions o = a->moa;
        o.router.top_k = a->top_k > 0 ? a->top_k : 1;
        o.router.temperature = a->temperature;
        if (a->steps > 0) o.steps = a->steps;
        if (a->lr > 0) o.lr = a->lr;
        o.split = a->split;
        o.per_task = a->limit;
        o.seed = a->seed;
        g = train_moa_router(model, experts, tok, tasks, o, work);
        break;
      }
      case GateKind::Arrow: {
        ArrowOptions o;
        o.top_k = a->top_k > 0 ? a->top_k : std::min<int64_t>(2, K);
        o.temperature = a->temperature;
        g = build_arrow_gate(experts, o);
        break;
      }
    }
    g.check_model(model, "gate");
    progress().report(1.0, "saving the gate");
    save_gate(g, a->output, a->force);
    progress().finish();
    nlohmann::ordered_json out;
    out["gate"] = a->output;
    out["kind"] = gate_kind_name(g.kind);
    out["experts"] = g.expert_names();
    out["trainable_parameters"] = g.trainable_parameters();
    out["train_seconds"] = g.record.train_seconds;
    if (!g.record.losses.empty()) {
      out["first_loss"] = g.record.losses.front();
      out["final_loss"] = g.record.losses.back();
    }
    if (!g.record.routing_accuracy.empty()) {
      out["routing_accuracy"] = nlohmann::ordered_json::object();
      for (size_t t = 0; t < tasks.size() && t < g.record.routing_accuracy.size(); ++t)
        out["routing_accuracy"][tasks[t].name] = g.record.routing_accuracy[t];
    }
    if (a->json) {
      std::cout << out.dump(2) << "\n";
    } else {
      std::printf("%s gate over %lld experts: %lld trainable parameters, %.2f s", a->kind.c_str(),
                  static_cast<long long>(K), static_cast<long long>(g.trainable_parameters()),
                  g.record.train_seconds);
      if (!g.record.losses.empty())
        std::printf(", loss %.4f -> %.4f", g.record.losses.front(), g.record.losses.back());
      std::printf("\n");
      if (out.contains("routing_accuracy"))
        for (const auto& [task, acc] : out["routing_accuracy"].items())
          std::printf("  routing accuracy %-16s %.4f\n", task.c_str(), acc.get<double>());
      std::printf("saved to %s\n", a->output.c_str());
    }
    exit_code = kOk;
  });
}

void register_inspect_gate(CLI::App& gate, Context& ctx, int& exit_code) {
  auto* sub = gate.add_subcommand(
      "inspect", "Gate statistics: which expert each task uses (per layer), router accuracy");
  struct Args {
    std::string dir, model, split = "test";
    std::vector<std::string> tasks;
    size_t limit = 50;
    int layer = -1;
    OutputArgs out;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("GATE", a->dir, "gate folder")->required();
  sub->add_option("--model", a->model, "Hugging Face base model folder (with tokenizer.json)")
      ->required();
  sub->add_option("--tasks", a->tasks, "task spec JSON files whose inputs are routed")
      ->required()
      ->expected(1, -1);
  sub->add_option("--split", a->split, "split of the inputs")->capture_default_str();
  sub->add_option("--limit", a->limit, "inputs per task (0 = all)")->capture_default_str();
  sub->add_flag("--json", a->out.json, "JSON output");
  sub->add_flag("--csv", a->out.csv, "CSV output");
  sub->add_option("-o,--output", a->out.output, "write the output to this file")
      ->check(writable_output());
  sub->add_option("--plot", a->out.plot,
                  "draw the usage heatmap (tasks × experts; the router's confusion matrix)");
  sub->add_option("--layer", a->layer, "plot this layer's usage instead of all sites");
  sub->callback([&ctx, &exit_code, a] {
    start(ctx);
    if (!a->out.plot.empty()) check_plot_path(a->out.plot);
    EvalArgs e;
    e.model = a->model;
    e.tasks = a->tasks;
    check_eval_inputs(e);
    progress().report(0.0, "loading the gate");
    const Gate g = load_gate(a->dir);
    CausalLM model = CausalLM::load(a->model, compute_device_name());
    const Tokenizer tok = Tokenizer::from_file(fs::path(a->model) / "tokenizer.json");
    model.set_lora_bank(g.experts);
    g.check_model(model, "gate '" + a->dir + "' on model '" + a->model + "'");
    std::vector<TaskSpec> tasks;
    for (const auto& t : a->tasks)
      tasks.push_back(TaskSpec::load(t));
    Phase work(0.1, 1.0);
    const GateStats s = gate_statistics(model, tok, g, tasks, a->split, a->limit, work);
    progress().finish();
    std::string text;
    if (a->out.json)
      text = s.to_json().dump(2) + "\n";
    else if (a->out.csv)
      text = s.to_csv();
    else
      text = stats_text(s);
    write_output(a->out.output, text);
    if (!a->out.plot.empty()) {
      size_t index = 0;
      if (a->layer >= 0) {
        const std::string want = "layer " + std::to_string(a->layer);
        const auto it = std::find(s.usage_labels.begin(), s.usage_labels.end(), want);
        if (it == s.usage_labels.end())
          throw InputError("--layer " + std::to_string(a->layer) + ": the gate has no sites there");
        index = static_cast<size_t>(it - s.usage_labels.begin());
      }
      plot_gate_usage(s, index, a->out.plot);
    }
    exit_code = kOk;
  });
}

}  // namespace

void register_gate(CLI::App& app, Context& ctx, int& exit_code) {
  auto* gate = app.add_subcommand(
      "gate",
      "Learned and routed references over frozen LoRAs: MoLE, a Mixture-of-LoRAs router, "
      "Arrow routing");
  gate->require_subcommand(1);
  register_train(*gate, ctx, exit_code);
  register_inspect_gate(*gate, ctx, exit_code);
}

}  // namespace basin::cli
