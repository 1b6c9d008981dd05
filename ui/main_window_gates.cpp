// MainWindow: the Gates view and its jobs — train MoLE or the Mixture-of-LoRAs router, or build
// Arrow routing, over the included adapters on the shared evaluation setup; stream the training
// loss to the view; inspect the gate on the setup's tasks; save it as a gate folder.
#include <qcustomplot.h>
#include <QFileDialog>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "adapter_panel.h"
#include "bench_cache.h"
#include "gate/gate_folder.h"
#include "gates_view.h"
#include "job_runner.h"
#include "main_window.h"
#include "train/gate_training.h"
#include "train/task_examples.h"
#include "util/errors.h"

namespace basin::ui {

namespace {

struct GateJobResult {
  std::shared_ptr<const Gate> gate;
  GateStats stats;
};

}  // namespace

void MainWindow::build_gates_view() {
  gates_ = new GatesView(this);
  tabs_->addTab(gates_, tr("Gates"));
  connect(gates_, &GatesView::export_requested, this,
          [this](QCustomPlot* plot, bool data) { export_dialog(data, plot); });
  connect(gates_, &GatesView::run_requested, this, &MainWindow::run_gate);
  connect(gates_, &GatesView::save_requested, this, [this] {
    QSettings s;
    const QString dir = QFileDialog::getSaveFileName(this, tr("Save the gate as a folder"),
                                                     s.value("last_folder").toString() + "/gate");
    if (!dir.isEmpty()) save_gate(dir);
  });
}

void MainWindow::run_gate() {
  if (!landscape_ready(tr("Cannot train the gate"), 1)) return;
  const AdapterList adapters = adapter_list(panel_->included_set());
  const GateViewOptions o = gates_->options();
  const QString kind = QString::fromStdString(o.kind);
  JobRunner::Job job;
  job.kind = "gate";
  job.inputs = bench_key(setup_, adapters) + nlohmann::json{{"kind", o.kind},
                                                            {"granularity", o.granularity},
                                                            {"temperature", o.temperature},
                                                            {"balance_alpha", o.balance_alpha},
                                                            {"steps", o.steps},
                                                            {"top_k", o.top_k},
                                                            {"train_limit", o.train_limit}}
                                                 .dump();
  job.title = tr("Gate (%1)").arg(kind);
  job.begin = [this, kind] { gates_->begin_training(kind); };
  job.work = [this, cache = bench_, setup = setup_, adapters, o](jobs::Progress& p) {
    // Streams each step's loss to the curve (queued to the GUI thread, dropped there if a
    // newer request replaced this job; the window outlives the job).
    auto on_step = [this, &p](int64_t step, double loss) {
      JobRunner::post(p, [this, step, loss] { gates_->add_loss(static_cast<int>(step), loss); });
    };
    jobs::CallbackProgress load([&p](double f, const std::string& stage) {
      p.report(0.1 * f, stage);
      return !p.cancelled();
    });
    const auto bench = acquire_bench(*cache, setup, adapters, load);
    const auto& model = bench->model;
    const auto K = static_cast<int64_t>(adapters.size());
    jobs::CallbackProgress train([&p](double f, const std::string& stage) {
      p.report(0.1 + 0.7 * f, stage);
      return !p.cancelled();
    });
    auto gate = std::make_shared<Gate>();
    const size_t limit = static_cast<size_t>(std::max(0, o.train_limit));
    if (o.kind == "mole") {
      MoleTrainOptions mo;
      mo.granularity = parse_granularity(o.granularity);
      mo.temperature = o.temperature;
      mo.balance_alpha = o.balance_alpha;
      mo.train.steps = o.steps;
      mo.on_step = on_step;
      std::vector<TrainExample> data;
      for (const auto& t : bench->tasks) {
        // The train split when the task has one, else the setup's evaluation split.
        auto rows = t.load_split(t.splits.count("train") ? "train" : setup.split);
        if (limit > 0 && rows.size() > limit) rows.resize(limit);
        for (auto& ex : task_examples(t, rows, bench->tokenizer, model.config().eos_token_id))
          data.push_back(std::move(ex));
      }
      *gate = train_mole_gate(model, adapters, data, mo, train);
      for (const auto& t : bench->tasks)
        gate->record.tasks.push_back(t.name);
    } else if (o.kind == "moa") {
      // The router learns task labels: task t's adapter is the one named like the task.
      std::vector<TaskSpec> tasks;
      for (const auto& a : adapters) {
        const auto it = std::find_if(bench->tasks.begin(), bench->tasks.end(),
                                     [&](const TaskSpec& t) { return t.name == a->name; });
        if (it == bench->tasks.end())
          throw InputError("the router learns which task a prompt is from: adapter '" + a->name +
                           "' needs a task of the same name among the setup's tasks");
        tasks.push_back(*it);
      }
      MoaTrainOptions mo;
      mo.router.top_k = std::min<int64_t>(o.top_k, K);
      mo.router.temperature = o.temperature;
      mo.steps = o.steps;
      mo.per_task = limit;
      mo.on_step = on_step;
      const bool all_train = std::all_of(tasks.begin(), tasks.end(), [](const TaskSpec& t) {
        return t.splits.count("train") > 0;
      });
      if (!all_train) mo.split = setup.split;
      if (!std::all_of(tasks.begin(), tasks.end(),
                       [](const TaskSpec& t) { return t.splits.count("test") > 0; }))
        mo.eval_split = setup.split;
      *gate = train_moa_router(model, adapters, bench->tokenizer, tasks, mo, train);
    } else {
      *gate =
          build_arrow_gate(adapters, ArrowOptions{std::min<int64_t>(o.top_k, K), o.temperature});
    }
    jobs::CallbackProgress inspect([&p](double f, const std::string& stage) {
      p.report(0.8 + 0.2 * f, stage);
      return !p.cancelled();
    });
    auto out = std::make_shared<GateJobResult>();
    const bool all_test = std::all_of(bench->tasks.begin(), bench->tasks.end(),
                                      [](const TaskSpec& t) { return t.splits.count("test") > 0; });
    out->stats = gate_statistics(model, bench->tokenizer, *gate, bench->tasks,
                                 all_test ? "test" : setup.split, setup.limit, inspect);
    out->gate = gate;
    return std::any(out);
  };
  job.done = [this](const std::any& r) {
    const auto res = std::any_cast<std::shared_ptr<GateJobResult>>(r);
    gate_ = res->gate;
    gates_->set_result(res->stats);
    gates_->set_gate_ready(true);
    emit gate_finished();
  };
  jobs_->enqueue(std::move(job));
}

void MainWindow::save_gate(const QString& dir) {
  if (!gate_) return;
  const std::string out_dir = dir.toStdString();
  JobRunner::Job job;
  job.kind = "save-gate:" + dir;  // saves to two folders both happen
  job.inputs = std::to_string(reinterpret_cast<uintptr_t>(gate_.get()));  // held by the job
  job.title = tr("Saving gate");
  job.work = [gate = gate_, out_dir](jobs::Progress& p) {
    p.report(0.5, "saving " + out_dir);
    basin::save_gate(*gate, out_dir, /*overwrite=*/true);
    return std::any(out_dir);
  };
  job.done = [this](const std::any& r) {
    const QString path = QString::fromStdString(std::any_cast<std::string>(r));
    statusBar()->showMessage(tr("Gate saved to %1").arg(path), 8000);
    emit gate_saved(path);
  };
  jobs_->enqueue(std::move(job));
}

}  // namespace basin::ui
