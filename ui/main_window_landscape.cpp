// MainWindow: the landscape views (Connectivity, CKA, Multitask, Soup & surface) and their jobs.
// Every job opens (or reuses) one Workbench — the base model with the included adapters as its
// LoRA bank, the tokenizer and the evaluation set — on the worker thread, then asks core for
// the analysis; results go to the views on the GUI thread and into the study. Each view's job
// is its own kind on the job runner, keyed by the setup, the bank and the view's options.
#include <qcustomplot.h>
#include <QFileDialog>
#include <QFileInfo>
#include <QMetaObject>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>

#include "adapter_panel.h"
#include "analysis/cka.h"
#include "bench_cache.h"
#include "cka_view.h"
#include "eval_setup_form.h"
#include "gates_view.h"
#include "interpolate_view.h"
#include "job_runner.h"
#include "landscape/features.h"
#include "landscape_view.h"
#include "lora/peft_io.h"
#include "main_window.h"
#include "merge/merge.h"
#include "multitask_view.h"
#include "soup_view.h"
#include "util/errors.h"
#include "util/runtime.h"

namespace basin::ui {

namespace fs = std::filesystem;
namespace {

// Task spec files of a demo-kit-like layout: <model>/../tasks/*.json, sorted.
std::vector<fs::path> default_tasks(const fs::path& model) {
  std::vector<fs::path> out;
  std::error_code ec;
  const fs::path dir = model.parent_path() / "tasks";
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".json") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// resolve_base_model, and failing that the name taken relative to the folder that holds the
// adapter folder (how the demo kit writes "../model" from <kit>/adapters/<name>).
fs::path base_model_of(const Adapter& a) {
  fs::path p = resolve_base_model(a);
  if (!p.empty() || a.path.empty() || a.config.base_model_name_or_path.empty()) return p;
  const fs::path alt = a.path.parent_path() / a.config.base_model_name_or_path;
  std::error_code ec;
  if (!fs::is_regular_file(alt / "config.json", ec)) return {};
  const fs::path canon = fs::weakly_canonical(alt, ec);
  return ec ? alt : canon;
}

}  // namespace

std::string adapters_key(const AdapterList& adapters) {
  std::string key;
  for (const auto& a : adapters)
    key += "|" + std::to_string(reinterpret_cast<uintptr_t>(a.get()));
  return key;
}

// The cache holds the adapters too, so an address cannot be reused while it is cached.
std::string bench_key(const LandscapeSetup& setup, const AdapterList& adapters) {
  return setup.to_json().dump() + adapters_key(adapters);
}

std::shared_ptr<Workbench> acquire_bench(BenchCache& cache, const LandscapeSetup& setup,
                                         const AdapterList& adapters, jobs::Progress& p) {
  std::lock_guard<std::mutex> lock(cache.mutex);
  const std::string key = bench_key(setup, adapters);
  if (cache.bench && cache.key == key) return cache.bench;
  cache.bench.reset();  // free the old model before loading the next
  cache.key.clear();
  cache.bench = std::shared_ptr<Workbench>(Workbench::open(setup, adapters, p));
  cache.key = key;
  return cache.bench;
}

AdapterList adapter_list(const AdapterSet& set) {
  AdapterList out;
  for (size_t i = 0; i < set.size(); ++i)
    out.push_back(set.ptr(i));
  return out;
}

void MainWindow::build_landscape_views() {
  bench_ = std::make_shared<BenchCache>();
  landscape_ = new LandscapeView(this);
  cka_ = new CkaView(this);
  multitask_ = new MultitaskView(this);
  soup_ = new SoupView(this);
  tabs_->addTab(landscape_, tr("Connectivity"));
  tabs_->addTab(cka_, tr("CKA"));
  tabs_->addTab(multitask_, tr("Multitask"));
  tabs_->addTab(soup_, tr("Soup && surface"));
  build_gates_view();
  build_interpolate_view();
  for (EvalSetupForm* form : {landscape_->setup_form(), cka_->setup_form(),
                              multitask_->setup_form(), soup_->setup_form(), gates_->setup_form()})
    connect(form, &EvalSetupForm::changed, this,
            [this, form] { set_landscape_setup(form->setup()); });
  auto on_export = [this](QCustomPlot* plot, bool data) { export_dialog(data, plot); };
  connect(landscape_, &LandscapeView::export_requested, this, on_export);
  connect(cka_, &CkaView::export_requested, this, on_export);
  connect(multitask_, &MultitaskView::export_requested, this, on_export);
  connect(soup_, &SoupView::export_requested, this, on_export);
  connect(landscape_, &LandscapeView::run_requested, this, &MainWindow::run_connectivity);
  connect(cka_, &CkaView::run_requested, this, &MainWindow::run_cka);
  connect(multitask_, &MultitaskView::run_requested, this, &MainWindow::run_multitask);
  connect(soup_, &SoupView::soup_requested, this, &MainWindow::run_soup);
  connect(soup_, &SoupView::surface_requested, this, &MainWindow::run_surface);
  connect(soup_, &SoupView::save_requested, this, [this] {
    QSettings s;
    const QString dir = QFileDialog::getSaveFileName(this, tr("Save soup as a PEFT folder"),
                                                     s.value("last_folder").toString() + "/soup");
    if (!dir.isEmpty()) save_soup(dir);
  });
}

void MainWindow::set_landscape_setup(const LandscapeSetup& s) {
  setup_ = s;
  setup_.precision = eval_precision_name();  // what the jobs started from it will compute in
  for (EvalSetupForm* form :
       {landscape_->setup_form(), cka_->setup_form(), multitask_->setup_form(), soup_->setup_form(),
        gates_->setup_form(), interpolate_->setup_form()})
    form->set_setup(s);
  refresh_landscape_inputs();
}

void MainWindow::refresh_landscape_inputs() {
  QStringList names;
  AdapterList included;
  try {
    included = adapter_list(panel_->included_set());
  } catch (const Error&) {
    // An incompatible selection: the jobs report it when run.
  }
  for (const auto& a : included)
    names << QString::fromStdString(a->name);
  // Default setup: the base model the first adapter names, and the demo kit's tasks beside it.
  if (setup_.model.empty() && panel_->count() > 0) {
    const fs::path model = base_model_of(*panel_->adapter(0));
    if (!model.empty()) {
      LandscapeSetup s = setup_;
      s.model = model;
      if (s.tasks.empty()) s.tasks = default_tasks(model);
      set_landscape_setup(s);  // calls back here once, with the model set
      return;
    }
  }
  QStringList tasks;
  for (const auto& f : setup_.tasks) {
    try {
      tasks << QString::fromStdString(TaskSpec::load(f).name);
    } catch (const Error&) {
      tasks << QFileInfo(QString::fromStdString(f.string())).completeBaseName();
    }
  }
  multitask_->set_candidates(names, tasks);
  soup_->set_candidates(QStringList{tr("base")} + names);
  refresh_interpolate_choices(names);
}

bool MainWindow::landscape_ready(const QString& what, size_t min_models) {
  size_t n = 0;
  try {
    n = panel_->included_set().size();
  } catch (const Error& e) {
    show_error(what, QString::fromUtf8(e.what()));
    return false;
  }
  if (n < min_models) {
    show_error(what, tr("Include at least %n adapter(s) in the set.", nullptr,
                        static_cast<int>(min_models)));
    return false;
  }
  if (setup_.model.empty() || setup_.tasks.empty()) {
    show_error(what, tr("Choose the base model folder and the evaluation task files first."));
    return false;
  }
  return true;
}

void MainWindow::run_connectivity() {
  const size_t min_models = landscape_->include_base() ? 1 : 2;
  if (!landscape_ready(tr("Cannot run the sweeps"), min_models)) return;
  std::vector<double> alphas;
  try {
    alphas = sweep_alphas(landscape_->range());
  } catch (const Error& e) {
    show_error(tr("Cannot run the sweeps"), QString::fromUtf8(e.what()));
    return;
  }
  // No note: this run follows the setup shown.
  start_connectivity(adapter_list(panel_->included_set()), setup_, alphas,
                     landscape_->include_base(), QString());
}

void MainWindow::start_connectivity(const AdapterList& adapters, const LandscapeSetup& setup,
                                    const std::vector<double>& alphas, bool base,
                                    const QString& note) {
  JobRunner::Job job;
  job.kind = "connectivity";
  job.inputs =
      bench_key(setup, adapters) + nlohmann::json{{"alphas", alphas}, {"base", base}}.dump();
  job.title = tr("Connectivity sweeps");
  job.begin = [this, note] {
    landscape_->set_result(std::nullopt);
    landscape_->set_note(note);
  };
  job.work = [this, cache = bench_, setup, adapters, alphas, base](jobs::Progress& p) {
    const auto bench = acquire_bench(*cache, setup, adapters, p);
    auto models = bank_endpoints(bench->labels);
    if (base) models.insert(models.begin(), Endpoint{"base", Point(adapters.size(), 0.0)});
    const PointEvaluator eval = bench->evaluator();
    // Streams each finished pair to the heatmap: a copy, queued to the GUI thread and dropped
    // there if a newer request replaced this job (the window outlives the job: its destructor
    // cancels and waits).
    auto on_pair = [this, &p](const ConnectivityResult& partial) {
      auto copy = std::make_shared<const ConnectivityResult>(partial);
      JobRunner::post(p, [this, copy] { landscape_->show_partial(*copy); });
    };
    return std::any(
        std::make_shared<ConnectivityResult>(connectivity(eval, models, alphas, p, on_pair)));
  };
  job.done = [this](const std::any& r) {
    landscape_->set_result(*std::any_cast<std::shared_ptr<ConnectivityResult>>(r));
    emit connectivity_finished();
  };
  jobs_->enqueue(std::move(job));
}

void MainWindow::run_cka() {
  if (!landscape_ready(tr("Cannot compute CKA"), 1)) return;
  const AdapterList adapters = adapter_list(panel_->included_set());
  const CkaOptions o = cka_->options();
  JobRunner::Job job;
  job.kind = "cka";
  job.inputs = bench_key(setup_, adapters) + nlohmann::json{{"inputs", o.inputs},
                                                            {"seed", o.seed},
                                                            {"layer", o.layer},
                                                            {"debiased", o.debiased}}
                                                 .dump();
  job.title = tr("CKA");
  job.work = [cache = bench_, setup = setup_, adapters, o](jobs::Progress& p) {
    const auto bench = acquire_bench(*cache, setup, adapters, p);
    const auto inputs = select_inputs(bench->tasks, setup.split, o.inputs, o.seed);
    // The base model is the zero point of the bank; each adapter its one-hot point.
    std::vector<Point> points{Point(adapters.size(), 0.0)};
    std::vector<std::string> labels{"base"};
    for (const auto& e : bank_endpoints(bench->labels)) {
      points.push_back(e.coeffs);
      labels.push_back(e.label);
    }
    const auto features =
        pooled_features(bench->model, bench->tokenizer, inputs, o.layer, points, p);
    return std::any(std::make_shared<PairwiseMatrix>(cka_matrix(features, labels, o.debiased, p)));
  };
  job.done = [this](const std::any& r) {
    cka_->set_result(*std::any_cast<std::shared_ptr<PairwiseMatrix>>(r));
    emit cka_finished();
  };
  jobs_->enqueue(std::move(job));
}

void MainWindow::run_multitask() {
  if (!landscape_ready(tr("Cannot run the multitask study"), 2)) return;
  const AdapterSet set = panel_->included_set();
  const QStringList mapping = multitask_->mapping();
  AdapterList adapters;
  std::vector<std::string> task_names;
  for (size_t i = 0; i < set.size() && i < static_cast<size_t>(mapping.size()); ++i) {
    const QString task = mapping[static_cast<int>(i)];
    if (task.isEmpty()) continue;
    if (std::find(task_names.begin(), task_names.end(), task.toStdString()) != task_names.end()) {
      show_error(tr("Cannot run the multitask study"),
                 tr("Task '%1' is mapped to two adapters; each task needs exactly one.").arg(task));
      return;
    }
    adapters.push_back(set.ptr(i));
    task_names.push_back(task.toStdString());
  }
  if (adapters.size() < 2) {
    show_error(tr("Cannot run the multitask study"),
               tr("Map at least two adapters to their tasks (an adapter named like a task is "
                  "mapped to it by default)."));
    return;
  }
  const MultitaskOptions o = multitask_->options(static_cast<int>(adapters.size()));
  const AdapterList bank = adapter_list(set);
  JobRunner::Job job;
  job.kind = "multitask";
  // The view sets these fields of the options; the rest keep their defaults.
  job.inputs = bench_key(setup_, bank) + adapters_key(adapters) +
               nlohmann::json{{"tasks", task_names},
                              {"methods", o.methods},
                              {"task_counts", o.task_counts},
                              {"split", o.split},
                              {"limit", o.limit}}
                   .dump();
  job.title = tr("Multitask study");
  job.work = [cache = bench_, setup = setup_, bank, adapters, task_names, o](jobs::Progress& p) {
    const auto bench = acquire_bench(*cache, setup, bank, p);
    std::vector<TaskSpec> tasks;
    for (const auto& name : task_names) {
      auto it = std::find_if(bench->tasks.begin(), bench->tasks.end(),
                             [&](const TaskSpec& t) { return t.name == name; });
      if (it == bench->tasks.end())
        throw InputError("task '" + name + "' is not among the setup's task files");
      tasks.push_back(*it);
    }
    // multitask_study replaces the model's bank; put the shared one back whatever happens.
    auto restore = [&] {
      try {
        bench->model.set_lora_bank(bench->adapters);
      } catch (...) {
        std::lock_guard<std::mutex> lock(cache->mutex);
        cache->bench.reset();
      }
    };
    std::shared_ptr<MultitaskResult> out;
    try {
      out = std::make_shared<MultitaskResult>(
          multitask_study(bench->model, bench->tokenizer, tasks, adapters, o, p));
    } catch (...) {
      restore();
      throw;
    }
    restore();
    return std::any(out);
  };
  job.done = [this](const std::any& r) {
    multitask_->set_result(*std::any_cast<std::shared_ptr<MultitaskResult>>(r));
    emit multitask_finished();
  };
  jobs_->enqueue(std::move(job));
}

void MainWindow::run_soup() {
  if (!landscape_ready(tr("Cannot make a soup"), 2)) return;
  const AdapterList adapters = adapter_list(panel_->included_set());
  JobRunner::Job job;
  job.kind = "soup";
  job.inputs = bench_key(setup_, adapters);
  job.title = tr("Greedy soup");
  job.work = [cache = bench_, setup = setup_, adapters](jobs::Progress& p) {
    const auto bench = acquire_bench(*cache, setup, adapters, p);
    const PointEvaluator eval = bench->evaluator();
    // Loss of a batch of soups; each batch only relays a cancel of the job.
    const PointLossFn loss = evaluator_loss(eval, p);
    return std::any(std::make_shared<SoupResult>(greedy_soup(bench->labels, loss, p)));
  };
  job.done = [this](const std::any& r) {
    soup_->set_soup(*std::any_cast<std::shared_ptr<SoupResult>>(r));
    emit soup_finished();
  };
  jobs_->enqueue(std::move(job));
}

void MainWindow::run_surface() {
  if (!landscape_ready(tr("Cannot compute the loss surface"), 2)) return;
  const AdapterList adapters = adapter_list(panel_->included_set());
  const auto idx = soup_->anchors();
  if (idx[0] < 0 || idx[1] < 0 || idx[2] < 0 || idx[0] == idx[1] || idx[0] == idx[2] ||
      idx[1] == idx[2]) {
    show_error(tr("Cannot compute the loss surface"), tr("Choose three different models."));
    return;
  }
  const SurfaceOptions o = soup_->surface_options();
  JobRunner::Job job;
  job.kind = "surface";
  job.inputs = bench_key(setup_, adapters) +
               nlohmann::json{{"anchors", idx}, {"grid", o.grid}, {"margin", o.margin}}.dump();
  job.title = tr("Loss surface");
  job.work = [cache = bench_, setup = setup_, adapters, idx, o](jobs::Progress& p) {
    const auto bench = acquire_bench(*cache, setup, adapters, p);
    const auto ends = bank_endpoints(bench->labels);
    std::array<Endpoint, 3> points;
    for (size_t k = 0; k < 3; ++k)
      points[k] = idx[k] == 0 ? Endpoint{"base", Point(adapters.size(), 0.0)}
                              : ends.at(static_cast<size_t>(idx[k] - 1));
    const Eigen::MatrixXd gram = bank_gram(bench->adapters, p);
    const PointEvaluator eval = bench->evaluator();
    return std::any(std::make_shared<SurfaceResult>(loss_surface(eval, points, gram, o, p)));
  };
  job.done = [this](const std::any& r) {
    soup_->set_surface(*std::any_cast<std::shared_ptr<SurfaceResult>>(r));
    emit surface_finished();
  };
  jobs_->enqueue(std::move(job));
}

void MainWindow::save_soup(const QString& dir) {
  const auto& soup = soup_->soup();
  if (!soup) return;
  AdapterSet set;
  MergeRecipe recipe;
  try {
    set = panel_->included_set();
    if (set.names() != soup->labels)
      throw InputError("the soup was made from " + std::to_string(soup->labels.size()) +
                       " other adapters than the included set; run it again");
    // θ_soup = Σ c_k s_k B_k A_k is exactly a `cat` merge with weights c (DESIGN.md).
    recipe.method = parse_method("cat");
    recipe.weights = soup->coeffs;
    recipe.name = "greedy-soup";
    recipe.validate(set.size());
  } catch (const Error& e) {
    show_error(tr("Cannot save the soup"), QString::fromUtf8(e.what()));
    return;
  }
  const std::string out_dir = dir.toStdString();
  const double loss = soup->loss;
  JobRunner::Job job;
  job.kind = "save-soup:" + dir;  // saves to two folders both happen
  job.inputs = adapters_key(adapter_list(set)) + recipe.to_json().dump();
  job.title = tr("Saving soup");
  job.work = [set, recipe, out_dir, loss](jobs::Progress& p) {
    Adapter merged = merge(set, recipe, p);
    p.check_cancelled();
    p.report(1.0, "saving " + out_dir);
    SaveOptions so;
    so.overwrite = true;
    so.metadata = merged.metadata;
    so.metadata["basin.soup.loss"] = std::to_string(loss);
    save_peft_adapter(merged, out_dir, so);
    return std::any(out_dir);
  };
  job.done = [this](const std::any& r) {
    const QString path = QString::fromStdString(std::any_cast<std::string>(r));
    statusBar()->showMessage(tr("Soup saved to %1").arg(path), 8000);
    emit soup_saved(path);
  };
  jobs_->enqueue(std::move(job));
}

void MainWindow::store_landscape(Study& st) const {
  if (!setup_.model.empty()) st.landscape = setup_;
  if (landscape_->result() && !landscape_->result()->curves.empty())
    st.connectivity = landscape_->result();
  st.sweeps = sweeps_;
  st.cka = cka_->result();
  st.multitask = multitask_->result();
  st.soup = soup_->soup();
  st.surface = soup_->surface();
  st.gates = gates_->result();
}

void MainWindow::restore_landscape(const Study& st) {
  setup_ = st.landscape.value_or(LandscapeSetup{});
  set_landscape_setup(setup_);
  landscape_->set_result(st.connectivity);
  landscape_->set_note(QString());
  sweeps_ = st.sweeps;
  cka_->set_result(st.cka);
  multitask_->set_result(st.multitask);
  soup_->set_soup(st.soup);
  soup_->set_surface(st.surface);
  gate_.reset();
  gates_->set_gate_ready(false);
  gates_->set_result(st.gates);
}

bool MainWindow::landscape_export_bytes(QCustomPlot* plot, bool json, QByteArray* out,
                                        QString* stem) const {
  return landscape_->export_bytes(plot, json, out, stem) ||
         cka_->export_bytes(plot, json, out, stem) ||
         multitask_->export_bytes(plot, json, out, stem) ||
         soup_->export_bytes(plot, json, out, stem) ||
         gates_->export_bytes(plot, json, out, stem) ||
         interpolate_->export_bytes(plot, json, out, stem);
}

}  // namespace basin::ui
