// basin-cli commands over the model engine: tokenize, generate, embed, train-lora.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "data/task.h"
#include "demo/demo_kit.h"
#include "demo/kit_sizes.h"
#include "eval/metrics.h"
#include "eval/task_eval.h"
#include "gate/gate_folder.h"
#include "io/json_file.h"
#include "io/safetensors.h"
#include "io/tensor_torch.h"
#include "lora/peft_io.h"
#include "model/causal_lm.h"
#include "model/generate.h"
#include "text/tokenizer.h"
#include "train/task_examples.h"
#include "train/trainer.h"
#include "util/atomic_file.h"
#include "util/errors.h"
#include "util/runtime.h"
#include "util/strings.h"

namespace fs = std::filesystem;

namespace basin::cli {
namespace {

std::vector<int64_t> to_i64(const std::vector<int32_t>& ids) {
  return {ids.begin(), ids.end()};
}

// Loads model + tokenizer (tokenizer.json in the model folder) + an adapter merged into the
// weights, or a gate whose experts become the LoRA bank.
struct Loaded {
  CausalLM model;
  Tokenizer tokenizer;
  std::unique_ptr<Gate> gate;

  // Coefficients for prompts [B, T] that are all prompt (generation, embedding).
  Routing route(const at::Tensor& ids) const {
    return gate ? gate->route(model, ids, torch::ones_like(ids)) : Routing{};
  }
};

// --gate DIR and --experts NAMES (a MoLE gate's inference-time expert mask).
struct GateArgs {
  std::string dir;
  std::string experts;
};

Loaded load_model(const std::string& dir, const std::string& adapter, const GateArgs& gate = {}) {
  if (!adapter.empty() && !gate.dir.empty())
    throw InputError("give --adapter or --gate, not both (a gate brings its own adapters)");
  if (gate.dir.empty() && !gate.experts.empty())
    throw InputError("--experts masks the experts of a --gate");
  Loaded l{CausalLM::load(dir, compute_device_name()), Tokenizer::from_file(dir), nullptr};
  if (!adapter.empty()) l.model.merge_adapter(*load_peft_adapter(adapter));
  if (!gate.dir.empty()) {
    l.gate = std::make_unique<Gate>(load_gate(gate.dir));
    l.model.set_lora_bank(l.gate->experts);
    l.gate->check_model(l.model, "gate '" + gate.dir + "' on model '" + dir + "'");
    if (!gate.experts.empty()) {
      if (!l.gate->mole)
        throw InputError("--experts masks the experts of a MoLE gate; '" + gate.dir +
                         "' is a gate of kind " + gate_kind_name(l.gate->kind));
      const auto names = l.gate->expert_names();
      std::vector<bool> active(names.size(), false);
      for (const auto& e : split(gate.experts, ',')) {
        const auto it = std::find(names.begin(), names.end(), e);
        if (it == names.end())
          throw InputError("--experts: '" + excerpt(e) + "' is not an expert of the gate (" +
                           join(names, ", ") + ")");
        active[static_cast<size_t>(it - names.begin())] = true;
      }
      l.gate->mole->set_active(active);  // MoLE: the others get 0, the rest renormalise
    }
  }
  return l;
}

void add_gate_option(CLI::App* sub, GateArgs& gate) {
  sub->add_option("--gate", gate.dir,
                  "gate folder (basin-cli gate train): route over its expert adapters");
  sub->add_option("--experts", gate.experts,
                  "MoLE gate: comma-separated experts to keep; the others are masked and the "
                  "remaining gates renormalised");
}

}  // namespace

// Scores `spec` on `rows` (eval/task_eval.h): greedy answers against the target with the task's
// metric, or the mean answer NLL for metric "loss".
double score_task(const CausalLM& model, const Tokenizer& tok, const TaskSpec& spec,
                  const std::vector<Example>& rows, jobs::Progress& prog, double base,
                  double span) {
  jobs::CallbackProgress sub([&](double f, const std::string& stage) {
    prog.report(base + span * f, stage);
    return !prog.cancelled();
  });
  const double s = score_task_points(model, tok, spec, rows, {}, sub).at(0);
  prog.check_cancelled();
  return s;
}

void register_model_commands(CLI::App& app, Context& ctx, int& exit_code) {
  // eval
  {
    auto* sub = app.add_subcommand(
        "eval", "Per-task metrics of a model (with an adapter) and the multitask score");
    struct Args {
      std::string model, adapter, split = "test", oracle;
      GateArgs gate;
      std::vector<std::string> tasks;
      size_t limit = 0;
      bool json = false;
    };
    auto a = std::make_shared<Args>();
    sub->add_option("--model", a->model, "Hugging Face model folder (with tokenizer.json)")
        ->required();
    sub->add_option("--adapter", a->adapter, "PEFT adapter folder to apply");
    add_gate_option(sub, a->gate);
    sub->add_option("--tasks", a->tasks, "task spec JSON files")->required();
    sub->add_option("--split", a->split, "split to score (default: test)");
    sub->add_option("--limit", a->limit, "score at most this many examples per task (0 = all)");
    sub->add_option("--oracle", a->oracle,
                    "JSON {task: score} of each task's own adapter; adds the multitask score (mean "
                    "of score / oracle)");
    sub->add_flag("--json", a->json, "JSON output");
    sub->callback([&ctx, &exit_code, a] {
      start(ctx);
      const auto l = load_model(a->model, a->adapter, a->gate);
      nlohmann::ordered_json out;
      out["model"] = a->model;
      out["adapter"] = a->adapter;
      if (l.gate) {
        out["gate"] = a->gate.dir;
        if (!a->gate.experts.empty()) out["experts"] = a->gate.experts;
        out["gate_kind"] = gate_kind_name(l.gate->kind);
      }
      out["split"] = a->split;
      if (eval_precision() != EvalPrecision::kFp32) out["precision"] = eval_precision_name();
      out["tasks"] = nlohmann::ordered_json::object();
      std::vector<double> scores, oracle;
      nlohmann::json oracle_json;
      if (!a->oracle.empty()) oracle_json = read_json_file(a->oracle);
      torch::NoGradGuard no_grad;
      for (size_t t = 0; t < a->tasks.size(); ++t) {
        const auto spec = TaskSpec::load(a->tasks[t]);
        auto rows = spec.load_split(a->split);
        if (a->limit > 0 && rows.size() > a->limit) rows.resize(a->limit);
        if (rows.empty())
          throw InputError("task '" + spec.name + "' has no examples in split '" + a->split + "'");
        jobs::CallbackProgress task_progress([&](double f, const std::string& stage) {
          progress().report((double(t) + f) / double(a->tasks.size()), stage);
          return !progress().cancelled();
        });
        const double s =
            l.gate ? score_task_gate(l.model, l.tokenizer, spec, rows, *l.gate, task_progress)
                   : score_task(l.model, l.tokenizer, spec, rows, progress(),
                                double(t) / a->tasks.size(), 1.0 / a->tasks.size());
        progress().check_cancelled();
        out["tasks"][spec.name] = {
            {"metric", metric_name(spec.metric)}, {"score", s}, {"examples", rows.size()}};
        if (!a->oracle.empty()) {
          if (!oracle_json.contains(spec.name) || !oracle_json[spec.name].is_number())
            throw InputError("'" + a->oracle + "' has no score for task '" + spec.name + "'");
          scores.push_back(s);
          oracle.push_back(oracle_json[spec.name].get<double>());
        }
      }
      progress().finish();
      if (!a->oracle.empty()) out["multitask_score"] = multitask_score(scores, oracle);
      if (a->json) {
        std::cout << out.dump(2) << "\n";
      } else {
        for (const auto& [name, r] : out["tasks"].items())
          std::printf("%-14s %-12s %8.4f  (%d examples)\n", name.c_str(),
                      r["metric"].get<std::string>().c_str(), r["score"].get<double>(),
                      r["examples"].get<int>());
        if (out.contains("multitask_score"))
          std::printf("multitask score %.4f\n", out["multitask_score"].get<double>());
      }
      exit_code = kOk;
    });
  }
  // demo-kit
  {
    auto* sub = app.add_subcommand("demo-kit",
                                   "Build the demo kit: task data, a tokenizer and a tiny Qwen2 "
                                   "model trained here, and LoRA adapters (--threads N: "
                                   "adapters train N at a time, each on one thread)");
    auto o = std::make_shared<DemoKitOptions>();
    auto out = std::make_shared<std::string>("basin-kit");
    sub->add_option("-o,--out", *out, "kit folder (default: basin-kit)")->check(writable_output());
    sub->add_option("--size", o->size,
                    "tiny (about a minute), small (the demo), or medium: a larger model with its "
                    "own task adapters in OUT/medium beside the small kit (built first if "
                    "missing), for the model-size comparison; tiny-medium does the same for a "
                    "tiny kit (tests)")
        ->check(CLI::IsMember(kit_sizes()));
    sub->add_option("--seed", o->seed, "seed for every random choice");
    sub->add_flag("-f,--force", o->force, "rebuild even if a finished kit is there");
    sub->callback([&ctx, &exit_code, o, out] {
      start(ctx);
      check_output_location(*out);  // the default -o too
      o->out_dir = *out;
      o->threads = ctx.threads;  // cores: adapters train this many at a time
      const auto r = build_demo_kit(*o, progress());
      progress().finish();
      const std::string kit_dir =
          kit_size_spec(o->size).parent.empty() ? *out : (fs::path(*out) / kLargerKitDir).string();
      if (r.reused)
        std::printf("demo kit in %s is already built (%zu adapters); use --force to rebuild\n",
                    kit_dir.c_str(), r.adapters.size());
      else
        std::printf(
            "demo kit built in %s in %.0f s: model (pre-training loss %.3f -> %.3f), %zu "
            "adapters\n",
            kit_dir.c_str(), r.seconds, r.pretrain_loss_first, r.pretrain_loss_last,
            r.adapters.size());
      if (!r.scores.empty()) {
        std::printf("%-11s %-12s %6s %6s  %s\n", "task", "metric", "base", "own",
                    "own - base, 95% CI");
        for (const auto& s : r.scores)
          std::printf("%-11s %-12s %6.3f %6.3f  %+.3f [%+.3f, %+.3f]  (n=%zu)\n", s.task.c_str(),
                      s.metric.c_str(), s.base, s.oracle, s.diff.diff, s.diff.low, s.diff.high,
                      s.n);
      }
      exit_code = kOk;
    });
  }
  // tokenize
  {
    auto* sub = app.add_subcommand(
        "tokenize", "Token ids and tokens of text (reads stdin when no text is given)");
    struct Args {
      std::string tokenizer;
      std::vector<std::string> texts;
      bool json = false;
    };
    auto a = std::make_shared<Args>();
    sub->add_option("--tokenizer", a->tokenizer, "tokenizer.json or a model folder holding one")
        ->required();
    sub->add_option("TEXT", a->texts, "text(s) to encode");
    sub->add_flag("--json", a->json, "JSON output");
    sub->callback([&ctx, &exit_code, a] {
      start(ctx);
      const auto tok = Tokenizer::from_file(a->tokenizer);
      auto texts = a->texts;
      if (texts.empty())
        texts.emplace_back(std::istreambuf_iterator<char>(std::cin),
                           std::istreambuf_iterator<char>());
      nlohmann::json out = nlohmann::json::array();
      for (const auto& t : texts) {
        const auto ids = tok.encode(t);
        std::vector<std::string> tokens;
        for (auto id : ids)
          tokens.push_back(tok.id_to_token(id));
        if (a->json) {
          out.push_back({{"text", t}, {"ids", ids}, {"tokens", tokens}});
        } else {
          std::string line;
          for (size_t i = 0; i < ids.size(); ++i)
            line += (i ? " " : "") + std::to_string(ids[i]);
          std::printf("%s\n%s\n", line.c_str(), nlohmann::json(tokens).dump().c_str());
        }
      }
      if (a->json) std::cout << out.dump(2) << "\n";
      exit_code = kOk;
    });
  }
  // generate
  {
    auto* sub = app.add_subcommand("generate", "Greedy generation from a prompt");
    struct Args {
      std::string model, adapter, prompt;
      GateArgs gate;
      int64_t max_new_tokens = 32;
    };
    auto a = std::make_shared<Args>();
    sub->add_option("--model", a->model,
                    "Hugging Face model folder (config.json, weights, tokenizer.json)")
        ->required();
    sub->add_option("--adapter", a->adapter, "PEFT adapter folder to apply");
    add_gate_option(sub, a->gate);
    sub->add_option("--max-new-tokens", a->max_new_tokens, "generation budget")
        ->check(CLI::PositiveNumber);
    sub->add_option("PROMPT", a->prompt, "prompt text")->required();
    sub->callback([&ctx, &exit_code, a] {
      start(ctx);
      const auto l = load_model(a->model, a->adapter, a->gate);
      const auto ids = to_i64(l.tokenizer.encode(a->prompt));
      if (ids.empty()) throw InputError("the prompt encodes to no tokens");
      const auto prompt = torch::tensor(ids).view({1, -1});
      const auto routing = l.route(prompt);
      GenerateOptions o;
      o.max_new_tokens = a->max_new_tokens;
      o.eos_token_id = l.model.config().eos_token_id;
      o.lora_coeffs = routing.coeffs;
      o.gate = routing.gate;
      const auto out = greedy_generate(l.model, prompt, o)[0];
      std::printf("%s\n", l.tokenizer.decode({out.begin(), out.end()}).c_str());
      exit_code = kOk;
    });
  }
  // embed
  {
    auto* sub = app.add_subcommand(
        "embed", "Mean-pooled token states (for CKA), one row per input, to safetensors");
    struct Args {
      std::string model, adapter, data, field = "text", output;
      GateArgs gate;
      int layer = -1;
      int64_t batch = 16;
    };
    auto a = std::make_shared<Args>();
    sub->add_option("--model", a->model, "Hugging Face model folder")->required();
    sub->add_option("--adapter", a->adapter, "PEFT adapter folder to apply");
    add_gate_option(sub, a->gate);
    sub->add_option("--data", a->data, "JSONL inputs")->required();
    sub->add_option("--field", a->field, "field of each JSONL object to embed (default: text)");
    sub->add_option("--layer", a->layer,
                    "layer whose output is pooled (default: the last, after the final norm)");
    sub->add_option("-o,--output", a->output, "features file [N, d] (safetensors)")
        ->required()
        ->check(writable_output());
    sub->callback([&ctx, &exit_code, a] {
      start(ctx);
      const auto l = load_model(a->model, a->adapter, a->gate);
      const auto examples = read_jsonl(a->data);
      if (examples.empty()) throw InputError("'" + a->data + "' holds no examples");
      const int layer =
          a->layer < 0 ? static_cast<int>(l.model.config().num_hidden_layers) : a->layer;
      if (layer > l.model.config().num_hidden_layers)
        throw InputError("--layer " + std::to_string(layer) + " is beyond the model's " +
                         std::to_string(l.model.config().num_hidden_layers) + " layers");
      torch::NoGradGuard no_grad;
      std::vector<at::Tensor> rows;
      for (size_t i = 0; i < examples.size(); ++i) {
        progress().check_cancelled();
        progress().report(double(i) / examples.size(), "embedding");
        const auto it = examples[i].find(a->field);
        if (it == examples[i].end())
          throw InputError(a->data + ":" + std::to_string(i + 1) + ": no field '" + a->field + "'");
        std::vector<int64_t> ids;
        for (auto id : l.tokenizer.encode(it->second))
          if (!l.tokenizer.is_special(id)) ids.push_back(id);
        if (ids.empty())
          throw InputError(a->data + ":" + std::to_string(i + 1) +
                           ": text has no non-special tokens");
        const auto x = torch::tensor(ids).view({1, -1});
        const auto routing = l.route(x);
        LmForwardOptions fo;
        fo.output_layer = layer;
        fo.lora_coeffs = routing.coeffs;
        fo.gate = routing.gate;
        const auto h = l.model.forward(x, fo).hidden[0];  // [T, d]
        rows.push_back(h.mean(0).to(torch::kCPU, torch::kFloat32));
      }
      progress().finish();
      const auto features = torch::stack(rows).contiguous();
      write_safetensors(a->output, {tensor_bytes("features", features)},
                        {{"basin.embed.model", a->model},
                         {"basin.embed.layer", std::to_string(layer)},
                         {"basin.embed.adapter", a->adapter},
                         {"basin.embed.gate", a->gate.dir}});
      std::printf("wrote %lld × %lld features to %s\n", static_cast<long long>(features.size(0)),
                  static_cast<long long>(features.size(1)), a->output.c_str());
      exit_code = kOk;
    });
  }
  // train-lora
  {
    auto* sub = app.add_subcommand("train-lora", "Train a LoRA adapter on a task's train split");
    struct Args {
      std::string model, task, output, targets = "q_proj,v_proj";
      LoraOptions lora;
      TrainOptions train;
      bool force = false;
    };
    auto a = std::make_shared<Args>();
    sub->add_option("--model", a->model, "Hugging Face model folder (with tokenizer.json)")
        ->required();
    sub->add_option("--task", a->task, "task spec JSON (train split)")->required();
    sub->add_option("-o,--output", a->output, "adapter folder to write")
        ->required()
        ->check(writable_output());
    sub->add_option("--targets", a->targets,
                    "comma-separated target modules (default q_proj,v_proj)");
    sub->add_option("--rank", a->lora.rank, "LoRA rank")->check(CLI::PositiveNumber);
    sub->add_option("--alpha", a->lora.alpha, "lora_alpha");
    sub->add_flag("--rslora", a->lora.use_rslora, "scale alpha / sqrt(r)");
    sub->add_option("--lr", a->train.lr, "AdamW learning rate");
    sub->add_option("--steps", a->train.steps, "optimizer steps")->check(CLI::PositiveNumber);
    sub->add_option("--batch", a->train.batch_size, "sequences per step")
        ->check(CLI::PositiveNumber);
    sub->add_option("--seed", a->train.seed, "seed (data order, initialisation)");
    sub->add_flag("-f,--force", a->force, "replace an existing output folder");
    sub->callback([&ctx, &exit_code, a] {
      start(ctx);
      const auto l = load_model(a->model, "");
      const auto spec = TaskSpec::load(a->task);
      const auto data =
          task_examples(spec, spec.load_split("train"), l.tokenizer, l.model.config().eos_token_id);
      a->lora.target_modules = split(a->targets, ',');
      a->lora.name = fs::path(a->output).filename().string();
      TrainReport rep;
      Adapter adapter = train_lora(l.model, data, a->lora, a->train, progress(), &rep);
      adapter.config.base_model_name_or_path = a->model;
      SaveOptions so;
      so.overwrite = a->force;
      so.metadata["basin.train.task"] = spec.name;
      so.metadata["basin.train.final_loss"] = format_double(rep.losses.back());
      save_peft_adapter(adapter, a->output, so);
      progress().finish();
      std::printf("trained %s on %zu examples: loss %.4f -> %.4f, saved to %s\n", spec.name.c_str(),
                  data.size(), rep.losses.front(), rep.losses.back(), a->output.c_str());
      exit_code = kOk;
    });
  }
}

}  // namespace basin::cli
