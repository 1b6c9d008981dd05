#include "landscape/gate_stats.h"

#include <cmath>
#include <limits>
#include <map>

#include "analysis/pairwise_matrix.h"
#include "io/json_numbers.h"
#include "model/generate.h"
#include "train/gate_training.h"
#include "train/task_examples.h"
#include "train/train_loop.h"
#include "util/errors.h"
#include "util/strings.h"

namespace basin {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

nlohmann::json matrix_json(const Eigen::MatrixXd& m) {
  nlohmann::json rows = nlohmann::json::array();
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    std::vector<double> r(static_cast<size_t>(m.cols()));
    for (Eigen::Index j = 0; j < m.cols(); ++j)
      r[size_t(j)] = m(i, j);
    rows.push_back(json_numbers(r));
  }
  return rows;
}

}  // namespace

nlohmann::json GateStats::to_json() const {
  nlohmann::json usage_j = nlohmann::json::array();
  for (size_t u = 0; u < usage.size(); ++u)
    usage_j.push_back({{"label", usage_labels[u]}, {"values", matrix_json(usage[u])}});
  return {{"kind", kind},
          {"experts", experts},
          {"tasks", tasks},
          {"usage", usage_j},
          {"routing_accuracy", json_numbers(routing_accuracy)},
          {"trainable_parameters", trainable_parameters},
          {"train_seconds", train_seconds},
          {"losses", json_numbers(losses)}};
}

GateStats GateStats::from_json(const nlohmann::json& j) {
  GateStats s;
  try {
    s.kind = j.at("kind").get<std::string>();
    s.experts = j.at("experts").get<std::vector<std::string>>();
    s.tasks = j.at("tasks").get<std::vector<std::string>>();
    for (const auto& u : j.at("usage")) {
      s.usage_labels.push_back(u.at("label").get<std::string>());
      const auto& rows = u.at("values");
      if (!rows.is_array() || rows.size() != s.tasks.size())
        throw InputError("gate statistics in JSON: a usage matrix has the wrong number of rows");
      Eigen::MatrixXd m(static_cast<Eigen::Index>(s.tasks.size()),
                        static_cast<Eigen::Index>(s.experts.size()));
      for (size_t i = 0; i < rows.size(); ++i) {
        const auto v = numbers_from_json(rows[i]);
        if (v.size() != s.experts.size())
          throw InputError("gate statistics in JSON: a usage row has the wrong number of values");
        for (size_t k = 0; k < v.size(); ++k)
          m(Eigen::Index(i), Eigen::Index(k)) = v[k];
      }
      s.usage.push_back(m);
    }
    s.routing_accuracy = numbers_from_json(j.at("routing_accuracy"));
    s.trainable_parameters =
        json_integer<int64_t>(j.at("trainable_parameters"), "gates trainable_parameters");
    s.train_seconds = j.at("train_seconds").get<double>();
    s.losses = numbers_from_json(j.at("losses"));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(std::string("bad gate statistics in JSON: ") + e.what());
  }
  if (s.usage.empty()) throw InputError("gate statistics in JSON have no usage matrix");
  return s;
}

std::string GateStats::to_csv() const {
  std::string out = "usage,task,expert,weight\n";
  for (size_t u = 0; u < usage.size(); ++u)
    for (size_t t = 0; t < tasks.size(); ++t)
      for (size_t k = 0; k < experts.size(); ++k)
        out += csv_field(usage_labels[u]) + "," + csv_field(tasks[t]) + "," +
               csv_field(experts[k]) + "," +
               format_double(usage[u](Eigen::Index(t), Eigen::Index(k))) + "\n";
  for (size_t t = 0; t < routing_accuracy.size() && t < tasks.size(); ++t)
    out += "routing_accuracy," + csv_field(tasks[t]) + ",," + format_double(routing_accuracy[t]) +
           "\n";
  return out;
}

GateStats gate_statistics(const CausalLM& model, const Tokenizer& tok, const Gate& gate,
                          const std::vector<TaskSpec>& tasks, const std::string& split,
                          size_t limit, jobs::Progress& progress) {
  if (tasks.empty()) throw InputError("gate statistics need at least one task");
  gate.check_model(model, "gate");
  GateStats s;
  s.kind = gate_kind_name(gate.kind);
  s.experts = gate.expert_names();
  s.trainable_parameters = gate.trainable_parameters();
  s.train_seconds = gate.record.train_seconds;
  s.losses = gate.record.losses;
  const auto T = static_cast<Eigen::Index>(tasks.size()),
             K = static_cast<Eigen::Index>(gate.size());
  for (const auto& t : tasks)
    s.tasks.push_back(t.name);
  if (gate.router) {
    const auto c = router_confusion(model, *gate.router, tok, tasks, split, limit, progress);
    Eigen::MatrixXd m(T, K);
    for (Eigen::Index t = 0; t < T; ++t)
      for (Eigen::Index k = 0; k < K; ++k)
        m(t, k) = c.share[size_t(t)][size_t(k)];
    s.usage_labels = {"all"};
    s.usage = {m};
    s.routing_accuracy = c.accuracy;
    return s;
  }
  LoraGate* g = gate.token_gate();
  const auto dev = model.parameters().at("model.embed_tokens.weight").device();
  torch::NoGradGuard no_grad;
  // Per task: mean gate per site key; then averaged per layer and over all sites.
  std::map<int, Eigen::MatrixXd> per_layer;
  Eigen::MatrixXd all = Eigen::MatrixXd::Zero(T, K);
  std::map<int, int> sites_in_layer;
  for (Eigen::Index t = 0; t < T; ++t) {
    const auto& spec = tasks[size_t(t)];
    auto rows = spec.load_split(split);
    if (limit > 0 && rows.size() > limit) rows.resize(limit);
    if (rows.empty())
      throw InputError("task '" + spec.name + "' has no examples in split '" + excerpt(split) +
                       "'");
    const auto seqs = task_examples(spec, rows, tok, model.config().eos_token_id);
    g->start_recording();
    for (size_t b0 = 0; b0 < seqs.size(); b0 += 16) {
      progress.check_cancelled();
      progress.report((double(t) + double(b0) / double(seqs.size())) / double(T),
                      "gate statistics: " + spec.name);
      std::vector<size_t> idx;
      for (size_t i = b0; i < std::min(seqs.size(), b0 + 16); ++i)
        idx.push_back(i);
      const auto b = make_train_batch(seqs, idx, dev);
      LmForwardOptions fo;
      fo.attention_mask = b.attn;
      fo.gate = g;
      (void)model.forward(b.ids, fo);
    }
    g->stop_recording();
    const double tokens = std::max(1.0, g->recorded_tokens());
    std::map<int, Eigen::VectorXd> layer_sum;
    std::map<int, int> layer_count;
    Eigen::VectorXd total = Eigen::VectorXd::Zero(K);
    for (const auto& [key, sum] : g->recorded_sums()) {
      Eigen::VectorXd v(K);
      for (Eigen::Index k = 0; k < K; ++k)
        v(k) = sum[k].item<double>() / tokens;
      const int layer = layer_index(key).value_or(-1);
      if (!layer_sum.count(layer)) layer_sum[layer] = Eigen::VectorXd::Zero(K);
      layer_sum[layer] += v;
      ++layer_count[layer];
      total += v;
    }
    const auto sites = static_cast<double>(g->recorded_sums().size());
    all.row(t) = (sites > 0 ? Eigen::VectorXd(total / sites) : Eigen::VectorXd::Constant(K, kNaN))
                     .transpose();
    for (const auto& [layer, v] : layer_sum) {
      if (!per_layer.count(layer)) per_layer[layer] = Eigen::MatrixXd::Constant(T, K, kNaN);
      per_layer[layer].row(t) = (v / double(layer_count[layer])).transpose();
    }
  }
  s.usage_labels.push_back("all");
  s.usage.push_back(all);
  for (const auto& [layer, m] : per_layer) {
    s.usage_labels.push_back("layer " + std::to_string(layer));
    s.usage.push_back(m);
  }
  s.routing_accuracy.assign(size_t(T), kNaN);
  progress.report(1.0, "gate statistics done");
  return s;
}

}  // namespace basin
