#include "demo/demo_kit.h"

#include <chrono>
#include <fstream>

#include <nlohmann/json.hpp>

#include "data/task.h"
#include "demo/task_data.h"
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

constexpr int kKitVersion = 1;

struct SizeSpec {
  size_t vocab;
  ModelConfig model;
  int64_t context;  // pre-training sequence length
  int64_t pretrain_steps;
  int64_t lora_steps;
  size_t max_per_task;
  size_t max_pretrain_chars;
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
  } else if (size == "small") {
    s.vocab = 2048;
    s.model.hidden_size = 128;
    s.model.intermediate_size = 352;
    s.model.num_hidden_layers = 4;
    s.context = 96;
    s.pretrain_steps = 400;
    s.lora_steps = 120;
    s.max_per_task = 400;
    s.max_pretrain_chars = 2000000;
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

// General English text for pre-training: fortunes and the common licenses (DATA.md).
std::vector<std::string> pretraining_text(size_t max_chars) {
  std::vector<std::string> docs;
  size_t total = 0;
  for (const fs::path dir :
       {fs::path("/usr/share/games/fortunes"), fs::path("/usr/share/common-licenses")}) {
    if (!fs::is_directory(dir)) continue;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file() && e.path().extension() != ".dat" && e.path().extension() != ".u8")
        files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::string t = read_text(f);
      if (!is_valid_utf8(t)) continue;
      if (total + t.size() > max_chars) t.resize(max_chars > total ? max_chars - total : 0);
      if (t.empty()) break;
      total += t.size();
      docs.push_back(std::move(t));
    }
  }
  if (docs.empty())
    throw InputError(
        "no pre-training text found: install the Debian packages 'fortunes' and base-files "
        "(scripts/setup.sh)");
  return docs;
}

}  // namespace

DemoKitReport build_demo_kit(const DemoKitOptions& o, jobs::Progress& progress) {
  const auto t0 = std::chrono::steady_clock::now();
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

  // 2. Tokenizer, trained on general text plus the tasks' training prompts and answers.
  std::vector<std::string> corpus = pretraining_text(spec.max_pretrain_chars);
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
  const int64_t eos = *tok.token_to_id("<|endoftext|>");
  const int64_t pad = *tok.token_to_id("<|pad|>");

  // 3. Pre-train the base on fixed-length windows of the whole corpus (language modelling).
  std::vector<int64_t> stream;
  for (const auto& doc : corpus) {
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
  pre.lr = 3e-3;
  pre.weight_decay = 0.01;
  pre.seed = o.seed;
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
    to.lr = 2e-3;
    to.seed = job.seed;
    TrainReport rep;
    const double base = 0.5 + 0.5 * double(k) / double(jobs_list.size());
    jobs::CallbackProgress lp([&](double f, const std::string& s) {
      progress.report(base + 0.5 / double(jobs_list.size()) * f, s);
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
    adapters_json.push_back({{"name", job.name},
                             {"task", specs[job.task].name},
                             {"rank", job.rank},
                             {"seed", job.seed},
                             {"loss_first", rep.losses.front()},
                             {"loss_last", rep.losses.back()}});
  }
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
                      {"seconds", report.seconds}};
  write_json_file(manifest, m);
  progress.report(1.0, "demo kit ready");
  return report;
}

}  // namespace basin
