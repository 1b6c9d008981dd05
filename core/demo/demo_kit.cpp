#include "demo/demo_kit.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "data/task.h"
#include "demo/kit_manifest.h"
#include "demo/kit_sizes.h"
#include "demo/pretrain_corpus.h"
#include "demo/task_data.h"
#include "eval/oracle_scores.h"
#include "io/json_file.h"
#include "jobs/parallel.h"
#include "lora/peft_io.h"
#include "model/causal_lm.h"
#include "text/bpe_trainer.h"
#include "text/tokenizer.h"
#include "train/task_examples.h"
#include "train/trainer.h"
#include "util/atomic_file.h"
#include "util/errors.h"
#include "util/runtime.h"
#include "util/strings.h"

namespace fs = std::filesystem;

namespace basin {
namespace {

// 3: the antonym prompt puts a space before the word ("antonym of {word} =").
// 4: package text comes from a fixed closure of packages (debian_packages.h), not from every
//    installed one, so kits of two set-up machines are the same.
constexpr int kKitVersion = 4;

// Seconds since the last lap, by phase: where the build's time goes (kit.json).
class Laps {
 public:
  void lap(const char* phase) {
    const auto now = std::chrono::steady_clock::now();
    json_[phase] = std::chrono::duration<double>(now - last_).count();
    last_ = now;
  }
  double total() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  }
  const nlohmann::json& json() const { return json_; }

 private:
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now(), last_ = t0_;
  nlohmann::json json_ = nlohmann::json::object();
};

// A finished kit of this size and seed (and design version) at `dir`.
bool finished(const fs::path& dir, const std::string& size, uint64_t seed) {
  if (!fs::exists(dir / "kit.json")) return false;
  try {
    const auto m = KitManifest::read(dir);
    return m.size == size && m.seed == seed && m.version == kKitVersion;
  } catch (const InputError&) {
    return false;  // a damaged manifest: the kit is built again
  }
}

// A kit folder is replaced only when it is missing, empty or holds a kit's own entries: never a
// folder with the user's files in it.
void check_replaceable(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  if (!fs::is_directory(dir))
    throw InputError("'" + dir.string() + "' exists and is not a folder; choose a kit folder");
  static const std::set<std::string> kKitEntries = {"kit.json", "tasks", "model", "adapters",
                                                    kLargerKitDir};
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    // A temporary medium/ left by a killed build (write_folder_atomic's ".medium.tmp-…").
    const bool leftover = name.rfind(std::string(".") + kLargerKitDir + ".", 0) == 0;
    if (!kKitEntries.count(name) && !leftover)
      throw InputError("'" + dir.string() + "' holds '" + excerpt(name, 60) +
                       "', which is not part of a demo kit; the kit would replace the folder, "
                       "so move it or choose another folder");
  }
}

// Worker threads for the adapters: DemoKitOptions::threads, 0 = every hardware core.
int kit_workers(const DemoKitOptions& o) {
  return o.threads > 0 ? o.threads
                       : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// One intra-op thread for the whole build, restored afterwards: the kit's models are too small
// to gain from intra-op threads (pre-training the small kit on an idle 2-core machine took
// 11.5 min on 2 threads against 5.6 min on 1), so cores go to adapters trained side by side.
class OneIntraOpThread {
 public:
  OneIntraOpThread() : before_(compute_threads()) { set_compute_threads(1); }
  ~OneIntraOpThread() { set_compute_threads(before_); }
  OneIntraOpThread(const OneIntraOpThread&) = delete;
  OneIntraOpThread& operator=(const OneIntraOpThread&) = delete;

 private:
  int before_;
};

// Progress of one phase mapped onto [from, to] of the whole build.
jobs::CallbackProgress phase(jobs::Progress& p, double from, double to,
                             const std::string& prefix = "") {
  return jobs::CallbackProgress([&p, from, to, prefix](double f, const std::string& s) {
    p.report(from + (to - from) * f, prefix + s);
    return !p.cancelled();
  });
}

PretrainCorpus pretrain_corpus(const KitSizeSpec& spec, const fs::path& task_dir, uint64_t seed) {
  PretrainCorpusOptions pco;
  pco.task_dir = task_dir;
  pco.dpkg_status = TaskDataOptions{}.dpkg_status;  // one file for the headline task and texts
  pco.max_general_chars = spec.max_pretrain_chars;
  pco.fact_repeats = spec.fact_repeats;
  pco.seed = seed;
  return build_pretrain_corpus(pco);
}

std::vector<TaskSpec> load_specs(const fs::path& task_dir, const std::vector<std::string>& names) {
  std::vector<TaskSpec> specs;
  for (const auto& name : names)
    specs.push_back(TaskSpec::load(task_dir / (name + ".json")));
  return specs;
}

struct Pretrained {
  CausalLM model;
  ModelConfig config;
  TrainReport report;
  size_t tokens = 0;
};

// Pre-trains the base on fixed-length windows of the whole corpus (language modelling) and
// writes config.json and model.safetensors beside model_dir/tokenizer.json. The stream holds
// the pre-training text only: no task prompt, so that the base model has seen facts but never
// a task's format, and the adapters are what teaches each task.
Pretrained pretrain(const KitSizeSpec& spec, const PretrainCorpus& corpus, const Tokenizer& tok,
                    const fs::path& model_dir, uint64_t seed, jobs::Progress& progress) {
  const int64_t eos = *tok.token_to_id("<|endoftext|>");
  std::vector<int64_t> stream;
  for (const auto& doc : corpus.documents) {
    const auto ids = tok.encode(doc);
    stream.insert(stream.end(), ids.begin(), ids.end());
    stream.push_back(eos);
  }
  std::vector<TrainExample> windows;
  const auto ctx = static_cast<size_t>(spec.context);
  for (size_t s = 0; s + ctx < stream.size(); s += ctx) {
    TrainExample w;
    w.ids.assign(stream.begin() + static_cast<long>(s),
                 stream.begin() + static_cast<long>(s + ctx));
    w.target.assign(w.ids.size(), 1);
    windows.push_back(std::move(w));
  }
  ModelConfig cfg = spec.model;
  cfg.vocab_size = static_cast<int64_t>(tok.vocab_size());
  cfg.eos_token_id = eos;
  cfg.bos_token_id = eos;
  cfg.pad_token_id = *tok.token_to_id("<|pad|>");
  cfg.max_position_embeddings = 1024;
  Pretrained out{CausalLM::random(cfg, seed + 1), cfg, {}, stream.size()};
  TrainOptions pre;
  pre.steps = spec.pretrain_steps;
  pre.batch_size = 16;
  pre.lr = spec.pretrain_lr;
  pre.weight_decay = 0.01;
  pre.seed = seed;
  pre.cosine_decay = true;
  train_full(out.model, windows, pre, progress, &out.report);
  out.model.save(model_dir / "weights-tmp", true);
  // The model folder holds the tokenizer already: move the weights in beside it.
  for (const char* f : {"config.json", "model.safetensors"})
    fs::rename(model_dir / "weights-tmp" / f, model_dir / f);
  fs::remove_all(model_dir / "weights-tmp");
  return out;
}

struct Adapters {
  std::vector<std::string> names;
  nlohmann::json details = nlohmann::json::array();
  std::vector<std::shared_ptr<const Adapter>> own;  // each task's adapter, in task order
};

// One adapter per task, then (spec.family) seeds and ranks of the sentiment task.
Adapters train_adapters(const KitSizeSpec& spec, const CausalLM& model, const Tokenizer& tok,
                        const std::vector<TaskSpec>& specs, const fs::path& out_dir, uint64_t seed,
                        int threads, jobs::Progress& progress) {
  const int64_t eos = *tok.token_to_id("<|endoftext|>");
  struct Job {
    std::string name;
    size_t task;
    int64_t rank;
    uint64_t seed;
  };
  std::vector<Job> jobs_list;
  for (size_t t = 0; t < specs.size(); ++t)
    jobs_list.push_back({specs[t].name, t, 8, seed});
  size_t uni = 0;
  for (size_t t = 0; t < specs.size(); ++t)
    if (specs[t].name == "sentiment") uni = t;
  if (spec.family) {
    for (uint64_t s : {1, 2, 3})
      jobs_list.push_back({specs[uni].name + "-seed" + std::to_string(s), uni, 8, seed + s});
    for (int64_t r : {2, 4, 16})
      jobs_list.push_back({specs[uni].name + "-r" + std::to_string(r), uni, r, seed});
  }
  fs::create_directories(out_dir / "adapters");
  const size_t n = jobs_list.size();
  std::vector<std::optional<Adapter>> trained(n);
  std::vector<nlohmann::json> details(n);
  // Adapters train side by side, one per worker thread (each on one intra-op thread; see
  // DemoKitOptions::threads). Progress is the mean over the jobs; the first failure or cancel
  // stops the other workers at their next step and is rethrown (jobs::parallel_tasks).
  std::mutex mu;
  std::vector<double> done(n, 0.0);
  auto train_one = [&](size_t k, const std::atomic<bool>& failed) {
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
    jobs::CallbackProgress lp([&, k](double f, const std::string& stage) {
      std::lock_guard<std::mutex> lock(mu);
      done[k] = f;
      double sum = 0;
      for (double d : done)
        sum += d;
      progress.report(sum / double(n), stage);
      return !progress.cancelled() && !failed.load();
    });
    Adapter a = train_lora(model, data, lo, to, lp, &rep);
    a.config.base_model_name_or_path = "../model";
    SaveOptions so;
    so.overwrite = true;
    so.metadata = {{"basin.demo_kit.task", specs[job.task].name},
                   {"basin.train.first_loss", format_double(rep.losses.front())},
                   {"basin.train.final_loss", format_double(rep.losses.back())}};
    save_peft_adapter(a, out_dir / "adapters" / job.name, so);
    details[k] = {
        {"name", job.name}, {"task", specs[job.task].name},     {"rank", job.rank},
        {"seed", job.seed}, {"loss_first", rep.losses.front()}, {"loss_last", rep.losses.back()}};
    trained[k] = std::move(a);
  };
  jobs::parallel_tasks(n, threads, train_one);
  progress.check_cancelled();
  Adapters out;
  for (size_t k = 0; k < n; ++k) {
    out.names.push_back(jobs_list[k].name);
    out.details.push_back(details[k]);
    if (k < specs.size())
      out.own.push_back(std::make_shared<const Adapter>(std::move(*trained[k])));
  }
  return out;
}

// Pre-training, adapters, scores and kit.json of a kit whose tasks (and tokenizer) exist.
DemoKitReport train_and_score(const KitSizeSpec& spec, const DemoKitOptions& o, const fs::path& dir,
                              const fs::path& task_dir, const std::vector<std::string>& task_names,
                              Laps& laps, double from, jobs::Progress& progress,
                              nlohmann::json manifest) {
  DemoKitReport report;
  const PretrainCorpus corpus = pretrain_corpus(spec, task_dir, o.seed);
  const std::vector<TaskSpec> specs = load_specs(task_dir, task_names);
  const Tokenizer tok = Tokenizer::from_file(dir / "model" / "tokenizer.json");
  const double span = 1.0 - from;
  // Time splits about evenly between pre-training and adapters (kit.json "phase_seconds").
  auto pre_prog = phase(progress, from, from + 0.45 * span);
  Pretrained base = pretrain(spec, corpus, tok, dir / "model", o.seed, pre_prog);
  laps.lap("pretrain");
  report.pretrain_loss_first = base.report.losses.front();
  report.pretrain_loss_last = base.report.losses.back();
  auto ad_prog = phase(progress, from + 0.45 * span, from + 0.9 * span);
  const Adapters adapters =
      train_adapters(spec, base.model, tok, specs, dir, o.seed, kit_workers(o), ad_prog);
  report.adapters = adapters.names;
  laps.lap("adapters");
  // Evidence that every task is learned: its own adapter against the base on the test split.
  auto score_prog = phase(progress, from + 0.9 * span, 1.0);
  KitScoreOptions ko;
  ko.bootstrap.seed = o.seed;
  report.scores = score_tasks_against_base(base.model, tok, specs, adapters.own, ko, score_prog);
  laps.lap("scores");
  report.seconds = laps.total();
  manifest.update({{"version", kKitVersion},
                   {"size", spec.name},
                   {"seed", o.seed},
                   {"basin_version", BASIN_VERSION},
                   {"tasks", task_names},
                   {"adapters", report.adapters},
                   {"adapter_details", adapters.details},
                   {"model", base.config.to_json()},
                   {"parameters", parameter_count(base.config)},
                   {"pretrain_loss_first", report.pretrain_loss_first},
                   {"pretrain_loss_last", report.pretrain_loss_last},
                   {"pretrain",
                    {{"general_chars", corpus.general_chars},
                     {"fact_chars", corpus.fact_chars},
                     {"facts", corpus.facts},
                     {"fact_repeats", spec.fact_repeats},
                     {"tokens", base.tokens},
                     {"steps", spec.pretrain_steps},
                     {"context", spec.context}}},
                   {"scores", task_scores_json(report.scores)},
                   {"seconds", report.seconds},
                   {"phase_seconds", laps.json()}});
  write_json_file(dir / "kit.json", manifest);
  progress.report(1.0, "demo kit ready");
  return report;
}

// The larger model of a finished kit at o.out_dir (built first when missing): same task files,
// same tokenizer, its own pre-training and task adapters, in o.out_dir/medium.
DemoKitReport build_larger(const KitSizeSpec& spec, const DemoKitOptions& o,
                           jobs::Progress& progress) {
  const fs::path dir = o.out_dir / kLargerKitDir;
  if (!o.force && finished(dir, spec.name, o.seed)) {
    DemoKitReport report;
    report.reused = true;
    report.adapters = KitManifest::read(dir).adapters;
    return report;
  }
  Laps laps;
  double from = 0.0;
  if (fs::exists(o.out_dir / "kit.json")) {
    const std::string size = KitManifest::read(o.out_dir).size;
    if (size != spec.parent)
      throw InputError("'" + o.out_dir.string() + "' holds a " + size + " demo kit; --size " +
                       spec.name + " adds a larger model to a " + spec.parent + " kit");
  }
  if (!finished(o.out_dir, spec.parent, o.seed)) {  // the kit whose tasks the larger model uses
    DemoKitOptions po = o;
    po.size = spec.parent;
    po.force = false;
    auto pp = phase(progress, 0.0, 0.4, spec.parent + " kit: ");
    build_demo_kit(po, pp);
    from = 0.4;
    laps.lap("parent_kit");
  }
  const KitManifest parent = KitManifest::read(o.out_dir);
  check_replaceable(dir);
  DemoKitReport report;
  // Built in a temporary folder beside it and renamed into place when finished: a cancel or
  // failure leaves the previous medium/ (or none), never a part of one.
  write_folder_atomic(dir, /*overwrite=*/true, [&](const fs::path& tmp) {
    fs::create_directories(tmp / "model");
    write_file_atomic(tmp / "model" / "tokenizer.json", [&] {
      std::ifstream in(o.out_dir / "model" / "tokenizer.json", std::ios::binary);
      return std::string(std::istreambuf_iterator<char>(in), {});
    }());
    const nlohmann::json manifest = {{"parent_size", spec.parent}, {"tasks_dir", "../tasks"}};
    report = train_and_score(spec, o, tmp, o.out_dir / "tasks", parent.tasks, laps, from, progress,
                             manifest);
  });
  return report;
}

}  // namespace

DemoKitReport build_demo_kit(const DemoKitOptions& o, jobs::Progress& progress) {
  const KitSizeSpec spec = kit_size_spec(o.size);
  const OneIntraOpThread one_thread;
  if (!spec.parent.empty()) return build_larger(spec, o, progress);
  if (!o.force && finished(o.out_dir, o.size, o.seed)) {
    DemoKitReport report;
    report.reused = true;
    report.adapters = KitManifest::read(o.out_dir).adapters;
    return report;
  }
  Laps laps;
  check_replaceable(o.out_dir);
  if (o.out_dir.has_parent_path()) fs::create_directories(o.out_dir.parent_path());
  DemoKitReport report;
  // Built in a temporary folder beside the kit's and renamed into place when finished: a
  // cancel or failure leaves the previous kit (or none), never a part of one.
  write_folder_atomic(o.out_dir, /*overwrite=*/true, [&](const fs::path& dir) {
    // 1. Task data.
    TaskDataOptions td;
    td.out_dir = dir / "tasks";
    td.max_per_task = spec.max_per_task;
    td.seed = o.seed;
    auto data_prog = phase(progress, 0.0, 0.05);
    const TaskDataReport tasks = build_task_data(td, data_prog);
    progress.check_cancelled();
    laps.lap("task_data");

    // 2. Tokenizer, trained on the pre-training text plus the tasks' training prompts and answers.
    const PretrainCorpus pretrain = pretrain_corpus(spec, td.out_dir, o.seed);
    std::vector<std::string> corpus = pretrain.documents;
    for (const auto& s : load_specs(td.out_dir, tasks.tasks))
      for (const auto& ex : s.load_split("train"))
        corpus.push_back(s.render_prompt(ex) + " " + s.target_of(ex));
    fs::create_directories(dir / "model");
    BpeTrainOptions bo;
    bo.vocab_size = spec.vocab;
    auto tok_prog = phase(progress, 0.05, 0.15, "tokenizer: ");
    train_bpe_tokenizer(corpus, bo, dir / "model" / "tokenizer.json", tok_prog);
    laps.lap("tokenizer");

    // 3–5. Pre-training, adapters, scores, kit.json.
    report = train_and_score(spec, o, dir, td.out_dir, tasks.tasks, laps, 0.15, progress,
                             nlohmann::json::object());
  });
  return report;
}

}  // namespace basin
