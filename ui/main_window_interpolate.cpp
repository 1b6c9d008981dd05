// MainWindow: the Interpolate view. The loss curve of a pair is one job (merges the endpoints
// need, the shared Workbench with those merges appended to the bank, core's sweep); a new pair
// replaces it on the job runner. The live answers run beside the job runner on the same loaded
// model, one request at a time: a slider move while one runs replaces the pending α, and an
// answer for an α the slider has left is dropped.
#include <qcustomplot.h>
#include <QComboBox>
#include <QFutureWatcher>
#include <QTabWidget>
#include <QThreadPool>
#include <QtConcurrent/QtConcurrentRun>

#include <chrono>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "adapter_panel.h"
#include "bench_cache.h"
#include "eval_setup_form.h"
#include "interpolate_answers.h"
#include "interpolate_view.h"
#include "job_runner.h"
#include "main_window.h"
#include "merge/merge.h"
#include "merge_view.h"
#include "util/errors.h"

namespace basin::ui {

namespace {

// What the live answers need once a curve is computed: the model with the pair's bank, both
// endpoints as bank coefficients, and the prompts.
struct InterpolateState {
  std::shared_ptr<Workbench> bench;
  Point a, b;
  std::vector<InterpolatePrompt> prompts;
};

struct AnswersOutcome {
  std::shared_ptr<const InterpolateState> state;
  double alpha = 0;
  std::vector<std::string> answers;
  std::string error;
  double seconds = 0;
  bool retry = false;  // a job held the model: ask again when it ends
};

struct CurveOutcome {
  Curve curve;
  std::shared_ptr<const InterpolateState> state;
  std::map<std::string, std::shared_ptr<const Adapter>> merges;  // computed in this job
};

// A merge endpoint the job needs: `have` is set when it was computed before.
struct MergeNeed {
  std::string endpoint;  // "merge:view" or "merge:<method>"
  std::string cache_key;
  MergeRecipe recipe;
  std::shared_ptr<const Adapter> have;
};

}  // namespace

struct InterpolateSession {
  std::shared_ptr<const InterpolateState> state;
  std::map<std::string, std::shared_ptr<const Adapter>> merges;  // by recipe and inputs
  QFutureWatcher<AnswersOutcome>* watcher = nullptr;
  // Not Qt's global pool, which Qt's raster engine waits on while it paints (job_runner.h).
  QThreadPool pool;
  double pending = 0;
  bool has_pending = false;
  bool running = false;
};

void MainWindow::build_interpolate_view() {
  interp_ = std::make_shared<InterpolateSession>();
  interp_->pool.setMaxThreadCount(1);
  interp_->watcher = new QFutureWatcher<AnswersOutcome>(this);
  interpolate_ = new InterpolateView(this);
  tabs_->addTab(interpolate_, tr("Interpolate"));
  connect(interpolate_->setup_form(), &EvalSetupForm::changed, this,
          [this] { set_landscape_setup(interpolate_->setup_form()->setup()); });
  connect(interpolate_, &InterpolateView::run_requested, this, &MainWindow::run_interpolate);
  connect(interpolate_, &InterpolateView::export_requested, this,
          [this](QCustomPlot* plot, bool data) { export_dialog(data, plot); });
  connect(interpolate_, &InterpolateView::alpha_changed, this, &MainWindow::request_answers);
  connect(interpolate_, &InterpolateView::pair_changed, this, [this] {
    interp_->state.reset();  // frees a model no other view holds
    interp_->has_pending = false;
    // A teacher switching B between two merges sees the new curve without another click: the
    // job replaces the old pair's (queued or running).
    if (tabs_->currentWidget() == interpolate_ && !setup_.model.empty() && !setup_.tasks.empty() &&
        interpolate_->endpoint_a() != interpolate_->endpoint_b())
      run_interpolate();
  });
  connect(jobs_, &JobRunner::busyChanged, this, [this](bool busy) {
    if (!busy && interp_->has_pending && !interp_->running) start_answers();
  });
  connect(this, &MainWindow::merge_finished, this, [this] { refresh_landscape_inputs(); });
  connect(interp_->watcher, &QFutureWatcher<AnswersOutcome>::finished, this, [this] {
    interp_->running = false;
    const AnswersOutcome o = interp_->watcher->result();
    if (o.state != interp_->state) return;  // the pair changed meanwhile
    if (o.retry) {
      if (!interp_->has_pending) {
        interp_->pending = o.alpha;
        interp_->has_pending = true;
      }
      if (!jobs_->busy()) start_answers();  // the job that held the model has just ended
      return;
    }
    if (interp_->has_pending) {  // the slider moved on: this answer is stale
      start_answers();
      return;
    }
    if (!o.error.empty()) {
      interpolate_->set_message(tr("No answers: %1").arg(QString::fromStdString(o.error)));
      return;
    }
    std::vector<InterpolateAnswer> rows;
    for (size_t i = 0; i < o.answers.size() && i < o.state->prompts.size(); ++i) {
      const auto& p = o.state->prompts[i];
      rows.push_back({p.task, p.prompt, p.reference, o.answers[i]});
    }
    interpolate_->set_answers(o.alpha, rows);
    interpolate_->set_message(tr("Answers at α = %1 (decoded in %2 ms)")
                                  .arg(o.alpha, 0, 'f', 2)
                                  .arg(std::lround(o.seconds * 1000)));
  });
}

void MainWindow::refresh_interpolate_choices(const QStringList& names) {
  interpolate_->set_choices(names, merge_->result() != nullptr);
}

void MainWindow::run_interpolate() {
  const QString what = tr("Cannot compute the interpolation curve");
  if (!landscape_ready(what, 1)) return;
  const std::string ka = interpolate_->endpoint_a().toStdString();
  const std::string kb = interpolate_->endpoint_b().toStdString();
  if (ka.empty() || kb.empty() || ka == kb) {
    show_error(what, tr("Pick two different endpoints A and B."));
    return;
  }
  const AdapterSet set = panel_->included_set();
  const AdapterList included = adapter_list(set);
  std::vector<MergeNeed> needs;
  std::vector<double> alphas;
  try {
    alphas = sweep_alphas(interpolate_->range());
    for (const std::string& key : {ka, kb}) {
      if (key.rfind("merge:", 0) != 0) continue;
      MergeNeed need;
      need.endpoint = key;
      if (key == "merge:view") {
        need.have = merge_->result();
        if (!need.have) throw InputError("run a merge in the Merge view first");
      } else {
        need.recipe = merge_->recipe();
        need.recipe.method = parse_method(key.substr(6));
        need.recipe.weights = panel_->included_weights();
        need.recipe.name = "merge-" + key.substr(6);
        need.recipe.validate(set.size());
        need.cache_key = need.recipe.to_json().dump();
        for (const auto& a : included)
          need.cache_key += "|" + std::to_string(reinterpret_cast<uintptr_t>(a.get()));
        auto it = interp_->merges.find(need.cache_key);
        if (it != interp_->merges.end()) need.have = it->second;
      }
      needs.push_back(need);
    }
  } catch (const Error& e) {
    show_error(what, QString::fromUtf8(e.what()));
    return;
  }
  const std::string label_a = interpolate_->endpoint_box(0)->currentText().toStdString();
  const std::string label_b = interpolate_->endpoint_box(1)->currentText().toStdString();
  JobRunner::Job job;
  job.kind = "interpolate";
  nlohmann::json key = {{"a", ka}, {"b", kb}, {"alphas", alphas}};
  for (const auto& need : needs)
    key["merges"].push_back(need.have ? adapters_key({need.have}) : need.cache_key);
  job.inputs = bench_key(setup_, included) + key.dump();
  job.title = tr("Interpolation curve");
  job.begin = [this] {
    interpolate_->set_curve(std::nullopt);
    interp_->state.reset();
  };
  job.work = [cache = bench_, setup = setup_, set, included, needs, alphas, ka, kb, label_a,
              label_b](jobs::Progress& p) {
    auto out = std::make_shared<CurveOutcome>();
    AdapterList bank = included;
    std::map<std::string, size_t> merge_index;
    for (const auto& need : needs) {
      std::shared_ptr<const Adapter> m = need.have;
      if (!m) {
        p.report(0.0, "merging (" + std::string(method_name(need.recipe.method)) + ")");
        m = std::make_shared<const Adapter>(merge(set, need.recipe, p));
        out->merges[need.cache_key] = m;
      }
      merge_index[need.endpoint] = bank.size();
      bank.push_back(m);
    }
    const auto bench = acquire_bench(*cache, setup, bank, p);
    auto point_of = [&](const std::string& key) {
      Point c(bank.size(), 0.0);  // "base": the zero point of the bank
      if (key.rfind("adapter:", 0) == 0) {
        const std::string name = key.substr(8);
        size_t i = 0;
        while (i < included.size() && included[i]->name != name)
          ++i;
        if (i == included.size())
          throw InputError("adapter '" + name + "' is not in the included set");
        c[i] = 1.0;
      } else if (key != "base") {
        c[merge_index.at(key)] = 1.0;
      }
      return c;
    };
    auto state = std::make_shared<InterpolateState>();
    state->bench = bench;
    state->a = point_of(ka);
    state->b = point_of(kb);
    // θ(α) = α θ_a + (1−α) θ_b: α = 1 is A (core/landscape/sweep.h).
    out->curve = sweep(bench->evaluator(), Endpoint{label_a, state->a}, Endpoint{label_b, state->b},
                       alphas, p);
    state->prompts = interpolation_prompts(*bench, setup.split, 2);
    out->state = state;
    return std::any(out);
  };
  job.done = [this, ka, kb](const std::any& r) {
    const auto out = std::any_cast<std::shared_ptr<CurveOutcome>>(r);
    for (const auto& [key, m] : out->merges)
      interp_->merges[key] = m;
    if (interpolate_->endpoint_a().toStdString() != ka ||
        interpolate_->endpoint_b().toStdString() != kb)
      return;  // the pair changed while it ran (on another tab): Run asks for the new one
    interp_->state = out->state;
    interpolate_->set_curve(out->curve);
    emit interpolate_finished();
    request_answers(interpolate_->alpha());
  };
  jobs_->enqueue(std::move(job));
}

void MainWindow::request_answers(double alpha) {
  if (!interp_->state) return;
  interp_->pending = alpha;
  interp_->has_pending = true;
  // One request at a time: a running one picks this up when it ends, and so does the end of a
  // job that holds the model.
  if (interp_->running || jobs_->busy()) return;
  start_answers();
}

void MainWindow::start_answers() {
  if (!interp_->state || !interp_->has_pending) return;
  interp_->has_pending = false;
  interp_->running = true;
  const double alpha = interp_->pending;
  auto state = interp_->state;
  interp_->watcher->setFuture(QtConcurrent::run(&interp_->pool, [state, alpha]() {
    AnswersOutcome o;
    o.state = state;
    o.alpha = alpha;
    run_in_background();
    std::unique_lock<std::mutex> lock(model_lock(), std::try_to_lock);
    if (!lock.owns_lock()) {
      o.retry = true;
      return o;
    }
    try {
      Point c(state->a.size());
      for (size_t k = 0; k < c.size(); ++k)
        c[k] = alpha * state->a[k] + (1 - alpha) * state->b[k];
      const auto t0 = std::chrono::steady_clock::now();
      o.answers = greedy_answers(*state->bench, state->prompts, c);
      o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    } catch (const std::exception& e) {
      o.error = e.what();
    }
    return o;
  }));
}

}  // namespace basin::ui
