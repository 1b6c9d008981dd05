// basin-cli cka: linear CKA (Kornblith et al. 2019) between every pair of representations —
// feature matrices [N, d] from safetensors files computed elsewhere (--features), or the
// pooled final-layer token states of the base model and each adapter on N seeded inputs.
#include <cmath>
#include <filesystem>
#include <iostream>
#include <set>

#include <nlohmann/json.hpp>

#include "analysis/cka.h"
#include "analysis/cka_shares.h"
#include "data/task.h"
#include "distributed.h"
#include "io/safetensors.h"
#include "io/tensor_torch.h"
#include "landscape/features.h"
#include "landscape_common.h"
#include "model/causal_lm.h"
#include "plot.h"
#include "text/tokenizer.h"
#include "util/errors.h"
#include "util/runtime.h"
#include "util/strings.h"

namespace fs = std::filesystem;

namespace basin::cli {
namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::vector<std::string> parts;
  for (int64_t s : shape)
    parts.push_back(std::to_string(s));
  return "[" + join(parts, ", ") + "]";
}

// One [N, d] float matrix from a safetensors file, as float64; errors name the file.
Eigen::MatrixXd read_features(const std::string& file, const std::string& tensor) {
  if (!fs::is_regular_file(file)) throw InputError("feature file '" + file + "' does not exist");
  const SafetensorsReader reader(file);
  const TensorInfo* info = nullptr;
  if (!tensor.empty()) {
    info = reader.find(tensor);
    if (!info) throw InputError("feature file '" + file + "' has no tensor '" + tensor + "'");
  } else if (reader.tensors().size() == 1) {
    info = &reader.tensors()[0];
  } else {
    std::vector<std::string> names;
    for (const auto& t : reader.tensors())
      names.push_back(t.name);
    throw InputError("feature file '" + file + "' holds " + std::to_string(names.size()) +
                     " tensors (" + join(names, ", ") + "); choose one with --tensor NAME");
  }
  if (!is_floating(info->dtype))
    throw InputError("feature file '" + file + "': tensor '" + info->name + "' is " +
                     dtype_name(info->dtype) + "; features must be floating point");
  if (info->shape.size() != 2)
    throw InputError("feature file '" + file + "': tensor '" + info->name + "' has shape " +
                     shape_text(info->shape) + "; features must be [N, d]");
  const at::Tensor t = tensor_view(reader, *info).to(torch::kFloat64).contiguous();
  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::MatrixXd m =
      Eigen::Map<const RowMajor>(t.data_ptr<double>(), info->shape[0], info->shape[1]);
  if (!m.allFinite())
    throw InputError("feature file '" + file + "': tensor '" + info->name +
                     "' holds NaN or infinite values");
  return m;
}

// Labels unique by a " #k" suffix.
std::vector<std::string> unique_labels(const std::vector<std::string>& names) {
  std::set<std::string> seen;
  std::vector<std::string> out;
  for (const auto& n : names) {
    std::string l = n;
    for (int k = 2; seen.count(l); ++k)
      l = n + " #" + std::to_string(k);
    seen.insert(l);
    out.push_back(l);
  }
  return out;
}

struct CkaArgs {
  std::vector<std::string> features;
  std::string tensor;
  std::string model;
  std::vector<std::string> tasks;
  std::vector<std::string> adapters;
  size_t inputs = 512;
  uint64_t seed = 0;
  int layer = -1;
  std::string split = "test";
  bool debiased = false;
  bool no_base = false;
  std::string shard;
  OutputArgs out;
};

// This process's share of the matrix (cka_shares.h) and what the features are.
struct CkaRun {
  CkaPart part;
  nlohmann::ordered_json source;  // for --json
};

// Feature files: every share reads them all (cheap, and each checks them) and computes its
// block of the pairs.
CkaRun from_files(const CkaArgs& a, const jobs::Shard& share) {
  if (a.features.size() < 2)
    throw InputError("cka --features needs at least two files, got " +
                     std::to_string(a.features.size()));
  std::vector<Eigen::MatrixXd> features;
  std::vector<std::string> stems;
  for (size_t i = 0; i < a.features.size(); ++i) {
    progress().check_cancelled();
    progress().report(0.5 * double(i) / double(a.features.size()),
                      "reading " + fs::path(a.features[i]).filename().string());
    features.push_back(read_features(a.features[i], a.tensor));
    if (features.back().rows() != features[0].rows())
      throw InputError("feature file '" + a.features[i] + "' has " +
                       std::to_string(features.back().rows()) + " rows but '" + a.features[0] +
                       "' has " + std::to_string(features[0].rows()) +
                       "; every file needs the same N inputs");
    stems.push_back(fs::path(a.features[i]).stem().string());
  }
  CkaRun r;
  Phase score(0.5, 1.0);
  r.part = cka_pair_share(features, unique_labels(stems), a.debiased, share, score);
  r.source["features"] = a.features;
  r.source["inputs"] = features[0].rows();
  return r;
}

// A model: every share loads the model and the whole bank (so each point runs through the same
// weights as in one process) and computes the features of its block of the models.
CkaRun from_model(const CkaArgs& a, const jobs::Shard& share) {
  if (a.model.empty() || a.tasks.empty())
    throw InputError("cka needs --features FILE..., or --model DIR --tasks SPEC... ADAPTER...");
  const size_t models = a.adapters.size() + (a.no_base ? 0 : 1);
  if (a.adapters.empty() || models < 2)
    throw InputError("cka needs at least two models: name adapter folders" +
                     std::string(a.no_base ? " (two or more with --no-base)" : ""));
  if (a.inputs < 2)
    throw InputError("--inputs " + std::to_string(a.inputs) + " must be at least 2");
  if (a.layer < -1) throw InputError("--layer " + std::to_string(a.layer) + " must be -1 or more");
  EvalArgs e;
  e.model = a.model;
  e.tasks = a.tasks;
  check_eval_inputs(e);
  Phase load(0.0, 0.05), feats(0.1, 0.95);
  const auto adapters = load_adapters(a.adapters, load);
  progress().report(0.05, "loading the base model");
  CausalLM model = CausalLM::load(a.model, compute_device_name());
  if (a.layer > model.config().num_hidden_layers)
    throw InputError("--layer " + std::to_string(a.layer) + " is beyond the model's " +
                     std::to_string(model.config().num_hidden_layers) + " layers");
  const Tokenizer tok = Tokenizer::from_file(fs::path(a.model) / "tokenizer.json");
  std::vector<TaskSpec> tasks;
  for (const auto& t : a.tasks)
    tasks.push_back(TaskSpec::load(t));
  model.set_lora_bank(adapters);
  progress().check_cancelled();

  std::vector<std::string> names;
  std::vector<Point> points;
  const size_t K = adapters.size();
  if (!a.no_base) {
    names.push_back("base");
    points.emplace_back(K, 0.0);
  }
  for (size_t k = 0; k < K; ++k) {
    names.push_back(adapters[k]->name);
    Point p(K, 0.0);
    p[k] = 1.0;
    points.push_back(p);
  }
  const auto inputs = select_inputs(tasks, a.split, a.inputs, a.seed);
  const auto [first, last] = share.block(points.size());
  CkaRun r;
  r.part.labels = unique_labels(names);
  r.part.debiased = a.debiased;
  r.part.has_features = true;
  r.part.first = first;
  r.part.features = pooled_features(
      model, tok, inputs, a.layer,
      std::vector<Point>(points.begin() + long(first), points.begin() + long(last)), feats);
  r.source["model"] = a.model;
  r.source["tasks"] = a.tasks;
  r.source["split"] = a.split;
  r.source["inputs"] = inputs.size();
  r.source["seed"] = a.seed;
  r.source["layer"] = a.layer < 0 ? model.config().num_hidden_layers : a.layer;
  if (eval_precision() != EvalPrecision::kFp32) r.source["precision"] = eval_precision_name();
  return r;
}

// Writes the whole matrix as `o` asks: text, --csv or --json to o["output"], the heatmap to
// o["plot"].
void write_cka(const PairwiseMatrix& m, const nlohmann::json& o) {
  const bool debiased = o.at("debiased").get<bool>();
  std::string text;
  if (o.at("json").get<bool>()) {
    nlohmann::ordered_json j;
    for (const auto& [k, v] : o.at("source").items())
      j[k] = v;
    j["debiased"] = debiased;
    const nlohmann::json mj = m.to_json();
    for (const auto& [k, v] : mj.items())
      j[k] = v;
    text = j.dump(2) + "\n";
  } else if (o.at("csv").get<bool>()) {
    text = m.to_csv();
  } else {
    text = m.metric + " over " + std::to_string(o.at("inputs").get<size_t>()) + " inputs\n" +
           format_matrix(m, 3);
  }
  write_output(o.at("output").get<std::string>(), text);
  const std::string plot = o.at("plot").get<std::string>();
  if (!plot.empty()) {
    const double lo = std::min(0.0, finite_range(m).first);
    plot_heatmap(m, lo, 1.0, debiased ? "debiased CKA" : "linear CKA", plot);
  }
}

}  // namespace

void register_cka(CLI::App& app, Context& ctx, int& exit_code) {
  auto* sub = app.add_subcommand(
      "cka", "Linear CKA between the representations of models (or of feature files)");
  auto a = std::make_shared<CkaArgs>();
  sub->add_option("--features", a->features,
                  "safetensors files with one [N, d] feature matrix each (rows = the same inputs)")
      ->expected(1, -1);
  sub->add_option("--tensor", a->tensor, "tensor to read from each feature file");
  sub->add_option("--model", a->model, "Hugging Face base model folder (with tokenizer.json)");
  sub->add_option("--tasks", a->tasks, "task spec JSON files the inputs are drawn from")
      ->expected(1, -1);
  sub->add_option("ADAPTER", a->adapters, "PEFT adapter folders");
  sub->add_option("--inputs", a->inputs, "N: inputs drawn from the tasks (seeded)")
      ->capture_default_str();
  sub->add_option("--seed", a->seed, "seed of the input selection")->capture_default_str();
  sub->add_option("--layer", a->layer, "hidden state after this many layers (-1 = the last)")
      ->capture_default_str();
  sub->add_option("--split", a->split, "split the inputs come from")->capture_default_str();
  sub->add_flag("--debiased", a->debiased, "debiased CKA (unbiased HSIC estimator)");
  sub->add_flag("--no-base", a->no_base, "leave the base model out of the matrix");
  add_shard_option(sub, a->shard);
  add_output_options(sub, a->out, "draw the matrix as a heatmap");
  register_gatherer("cka",
                    [](const std::vector<nlohmann::json>& shares, const nlohmann::json& outputs) {
                      std::vector<CkaPart> parts;
                      for (const auto& s : shares)
                        parts.push_back(CkaPart::from_json(s));
                      Phase score(0.95, 1.0);
                      write_cka(gather_cka(parts, score), outputs);
                    });

  sub->callback([&ctx, &exit_code, a] {
    const jobs::Shard share = start_distributed(ctx, a->shard);
    take_models_from_tasks(a->tasks, a->adapters);
    if (!a->out.plot.empty()) check_plot_path(a->out.plot);
    const bool files = !a->features.empty();
    if (files && (!a->model.empty() || !a->tasks.empty() || !a->adapters.empty()))
      throw InputError(
          "cka --features reads feature files; leave out --model, --tasks and "
          "adapter folders");
    const CkaRun run = files ? from_files(*a, share) : from_model(*a, share);

    ShareSpec spec;
    spec.command = "cka";
    spec.fingerprint = {{"features", a->features}, {"tensor", a->tensor},     {"model", a->model},
                        {"tasks", a->tasks},       {"adapters", a->adapters}, {"inputs", a->inputs},
                        {"seed", a->seed},         {"layer", a->layer},       {"split", a->split},
                        {"debiased", a->debiased}, {"no_base", a->no_base}};
    spec.outputs = {{"json", a->out.json},
                    {"csv", a->out.csv},
                    {"output", a->out.output},
                    {"plot", a->out.plot},
                    {"source", run.source},
                    {"debiased", a->debiased},
                    {"inputs", run.source.at("inputs")}};
    deliver(spec, share, a->shard, run.part.to_json());
    progress().finish();
    exit_code = kOk;
  });
}

}  // namespace basin::cli
