#include "demo/demo_kit.h"

#include <chrono>
#include <fstream>

#include <nlohmann/json.hpp>

#include "data/task.h"
#include "demo/pretrain_corpus.h"
#include "demo/task_data.h"
#include "eval/oracle_scores.h"
#include "io/json_file.h"
#include "lora/peft_io.h"
#include "model/causal_lm.h"
#include "text/bpe_trainer.h"
#include "text/tokenizer.h"
#include "train/task_examples.h"
#include "train/trainer.h"
#include "util/errors.h"
#include "util/strings.h"

namespace fs = std::filesystem;

namespace basin {
namespace {

constexpr int kKitVersion = 2;

struct SizeSpec {
  size_t vocab;
  ModelConfig model;
  int64_t context;  // pre-training sequence length
  int64_t pretrain_steps;
  int64_t lora_steps;
  size_t max_per_task;
  size_t max_pretrain_chars;
  int fact_repeats;  // times each qa / antonym fact is stated in pre-training
};

SizeSpec size_spec(const std::string& size) {
  SizeSpec s{};
  s.model.model_type = "qwen2";
  s.model.num_attention_heads = 4;
  s.model.num_key_value_heads = 2;
  s.model.rope_theta = 10000.0;
  s.model.tie_word_embeddings = true;
  if (size == "tiny") {
    s.vocab = 512;
    s.model.hidden_size = 64;
    s.model.intermediate_size = 128;
    s.model.num_hidden_layers = 2;
    s.context = 48;
    s.pretrain_steps = 60;
    s.lora_steps = 25;
    s.max_per_task = 60;
    s.max_pretrain_chars = 200000;
    s.fact_repeats = 2;
  } else if (size == "small") {
    s.vocab = 2048;
    s.model.hidden_size = 128;
    s.model.intermediate_size = 352;
    s.model.num_hidden_layers = 4;
    s.context = 128;
    s.pretrain_steps = 1200;
    s.lora_steps = 300;
    s.max_per_task = 520;  // 104 test examples per task
    s.max_pretrain_chars = 1500000;
    s.fact_repeats = 40;
  } else {
    throw InputError("unknown demo kit size '" + size + "' (expected tiny or small)");
  }
  s.model.head_dim = s.model.hidden_size / s.model.num_attention_heads;
  return s;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

DemoKitReport build_demo_kit(const DemoKitOptions& o, jobs::Progress& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  nlohmann::json phase_seconds = nlohmann::json::object();  // where the build's time goes
  auto lap = [&, last = t0](const char* phase) mutable {
    const auto now = std::chrono::steady_clock::now();
    phase_seconds[phase] = std::chrono::duration<double>(now - last).count();
    last = now;
  };
  const SizeSpec spec = size_spec(o.size);
  DemoKitReport report;
  const fs::path manifest = o.out_dir / "kit.json";
  if (!o.force && fs::exists(manifest)) {
    const auto j = read_json_file(manifest);
    if (j.value("size", "") == o.size && j.value("seed", uint64_t{1} + o.seed) == o.seed &&
        j.value("version", 0) == kKitVersion) {
      report.reused = true;
      report.adapters = j.value("adapters", std::vector<std::string>{});
      return report;
    }
  }
  fs::create_directories(o.out_dir);
  fs::remove(manifest);  // an unfinished kit never looks finished

  // 1. Task data.
  TaskDataOptions td;
  td.out_dir = o.out_dir / "tasks";
  td.max_per_task = spec.max_per_task;
  td.seed = o.seed;
  jobs::SubProgress data_part(progress, 0.0, 0.05);
  jobs::CallbackProgress data_prog([&](double f, const std::string& s) {
    data_part.report(f, s);
    return !progress.cancelled();
  });
  const TaskDataReport tasks = build_task_data(td, data_prog);
  progress.check_cancelled();
  lap("task_data");

  // 2. Tokenizer, trained on the pre-training text plus the tasks' training prompts and answers.
  PretrainCorpusOptions pco;
  pco.task_dir = td.out_dir;
  pco.dpkg_status = td.dpkg_status;  // one status file for the headline task and its texts
  pco.max_general_chars = spec.max_pretrain_chars;
  pco.fact_repeats = spec.fact_repeats;
  pco.seed = o.seed;
  const PretrainCorpus pretrain = build_pretrain_corpus(pco);
  std::vector<std::string> corpus = pretrain.documents;
  std::vector<TaskSpec> specs;
  for (const auto& name : tasks.tasks) {
    specs.push_back(TaskSpec::load(td.out_dir / (name + ".json")));
    for (const auto& ex : specs.back().load_split("train"))
      corpus.push_back(specs.back().render_prompt(ex) + " " + specs.back().target_of(ex));
  }
  const fs::path model_dir = o.out_dir / "model";
  fs::create_directories(model_dir);
  BpeTrainOptions bo;
  bo.vocab_size = spec.vocab;
  jobs::CallbackProgress tok_prog([&](double f, const std::string& s) {
    progress.report(0.05 + 0.1 * f, "tokenizer: " + s);
    return !progress.cancelled();
  });
  train_bpe_tokenizer(corpus, bo, model_dir / "tokenizer.json", tok_prog);
  const Tokenizer tok = Tokenizer::from_file(model_dir / "tokenizer.json");
  lap("tokenizer");
  const int64_t eos = *tok.token_to_id("<|endoftext|>");
  const int64_t pad = *tok.token_to_id("<|pad|>");

  // 3. Pre-train the base on fixed-length windows of the whole corpus (language modelling).
  // The stream holds the pre-training text only: no task prompt, so that the base model has
  // seen facts but never a task's format, and the adapters are what teaches each task.
  std::vector<int64_t> stream;
  for (const auto& doc : pretrain.documents) {
    const auto ids = tok.encode(doc);
    stream.insert(stream.end(), ids.begin(), ids.end());
    stream.push_back(eos);
  }
  std::vector<TrainExample> windows;
  for (size_t s = 0; s + static_cast<size_t>(spec.context) < stream.size();
       s += static_cast<size_t>(spec.context)) {
    TrainExample w;
    w.ids.assign(stream.begin() + static_cast<long>(s),
                 stream.begin() + static_cast<long>(s) + spec.context);
    w.target.assign(w.ids.size(), 1);
    windows.push_back(std::move(w));
  }
  ModelConfig cfg = spec.model;
  cfg.vocab_size = static_cast<int64_t>(tok.vocab_size());
  cfg.eos_token_id = eos;
  cfg.bos_token_id = eos;
  cfg.pad_token_id = pad;
  cfg.max_position_embeddings = 1024;
  CausalLM model = CausalLM::random(cfg, o.seed + 1);
  TrainOptions pre;
  pre.steps = spec.pretrain_steps;
  pre.batch_size = 16;
  pre.lr = 4e-3;
  pre.weight_decay = 0.01;
  pre.seed = o.seed;
  pre.cosine_decay = true;
  TrainReport pre_rep;
  jobs::CallbackProgress pre_prog([&](double f, const std::string& s) {
    progress.report(0.15 + 0.35 * f, s);
    return !progress.cancelled();
  });
  train_full(model, windows, pre, pre_prog, &pre_rep);
  model.save(model_dir / "weights-tmp", true);
  // The model folder holds the tokenizer already: move the weights in beside it.
  for (const char* f : {"config.json", "model.safetensors"})
    fs::rename(model_dir / "weights-tmp" / f, model_dir / f);
  fs::remove_all(model_dir / "weights-tmp");
  lap("pretrain");
  report.pretrain_loss_first = pre_rep.losses.front();
  report.pretrain_loss_last = pre_rep.losses.back();

  // 4. One adapter per task, then seeds and ranks of one task.
  struct Job {
    std::string name;
    size_t task;
    int64_t rank;
    uint64_t seed;
  };
  std::vector<Job> jobs_list;
  for (size_t t = 0; t < specs.size(); ++t)
    jobs_list.push_back({specs[t].name, t, 8, o.seed});
  size_t uni = 0;
  for (size_t t = 0; t < specs.size(); ++t)
    if (specs[t].name == "sentiment") uni = t;
  for (uint64_t s : {1, 2, 3})
    jobs_list.push_back({specs[uni].name + "-seed" + std::to_string(s), uni, 8, o.seed + s});
  for (int64_t r : {2, 4, 16})
    jobs_list.push_back({specs[uni].name + "-r" + std::to_string(r), uni, r, o.seed});
  fs::create_directories(o.out_dir / "adapters");
  nlohmann::json adapters_json = nlohmann::json::array();
  std::vector<std::shared_ptr<const Adapter>> own;  // each task's adapter, in task order
  for (size_t k = 0; k < jobs_list.size(); ++k) {
    const Job& job = jobs_list[k];
    // A few long Reuters articles are skipped to keep batches small.
    const auto data =
        task_examples(specs[job.task], specs[job.task].load_split("train"), tok, eos, 256);
    LoraOptions lo;
    lo.name = job.name;
    lo.rank = job.rank;
    lo.alpha = 2.0 * static_cast<double>(job.rank);
    lo.target_modules = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                         "gate_proj", "up_proj", "down_proj"};
    TrainOptions to;
    to.steps = spec.lora_steps;
    to.batch_size = 8;
    to.lr = 3e-3;
    to.seed = job.seed;
    TrainReport rep;
    const double base = 0.5 + 0.4 * double(k) / double(jobs_list.size());
    jobs::CallbackProgress lp([&](double f, const std::string& s) {
      progress.report(base + 0.4 / double(jobs_list.size()) * f, s);
      return !progress.cancelled();
    });
    Adapter a = train_lora(model, data, lo, to, lp, &rep);
    a.config.base_model_name_or_path = "../model";
    SaveOptions so;
    so.overwrite = true;
    so.metadata = {{"basin.demo_kit.task", specs[job.task].name},
                   {"basin.train.first_loss", format_double(rep.losses.front())},
                   {"basin.train.final_loss", format_double(rep.losses.back())}};
    save_peft_adapter(a, o.out_dir / "adapters" / job.name, so);
    report.adapters.push_back(job.name);
    if (k < specs.size()) own.push_back(std::make_shared<const Adapter>(std::move(a)));
    adapters_json.push_back({{"name", job.name},
                             {"task", specs[job.task].name},
                             {"rank", job.rank},
                             {"seed", job.seed},
                             {"loss_first", rep.losses.front()},
                             {"loss_last", rep.losses.back()}});
  }
  lap("adapters");
  // 5. Evidence that every task is learned: its own adapter against the base on the test split.
  jobs::CallbackProgress score_prog([&](double f, const std::string& s) {
    progress.report(0.9 + 0.1 * f, s);
    return !progress.cancelled();
  });
  KitScoreOptions ko;
  ko.bootstrap.seed = o.seed;
  report.scores = score_tasks_against_base(model, tok, specs, own, ko, score_prog);
  lap("scores");
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json m = {{"version", kKitVersion},
                      {"size", o.size},
                      {"seed", o.seed},
                      {"basin_version", BASIN_VERSION},
                      {"tasks", tasks.tasks},
                      {"adapters", report.adapters},
                      {"adapter_details", adapters_json},
                      {"model", cfg.to_json()},
                      {"pretrain_loss_first", report.pretrain_loss_first},
                      {"pretrain_loss_last", report.pretrain_loss_last},
                      {"pretrain",
                       {{"general_chars", pretrain.general_chars},
                        {"fact_chars", pretrain.fact_chars},
                        {"facts", pretrain.facts},
                        {"fact_repeats", spec.fact_repeats},
                        {"tokens", stream.size()},
                        {"steps", spec.pretrain_steps},
                        {"context", spec.context}}},
                      {"scores", task_scores_json(report.scores)},
                      {"seconds", report.seconds},
                      {"phase_seconds", phase_seconds}};
  write_json_file(manifest, m);
  progress.report(1.0, "demo kit ready");
  return report;
}

}  // namespace basin
