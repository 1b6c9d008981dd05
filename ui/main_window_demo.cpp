// MainWindow: the demo study. A lecture's first minute needs no clicks: opened on a demo kit,
// the window fills its views by itself as jobs stream — similarity at once, then connectivity
// over one task's seeds and ranks, CKA and the multitask study, one job after another on the
// job runner with small limits (shown in the status bar and in each view's own controls).
#include <QLabel>
#include <QStatusBar>

#include "adapter_panel.h"
#include "bench_cache.h"
#include "cka_view.h"
#include "demo_plan.h"
#include "job_queue.h"
#include "job_runner.h"
#include "landscape_view.h"
#include "main_window.h"
#include "multitask_view.h"
#include "util/errors.h"

namespace basin::ui {
namespace {

// The panel's adapters named in `names`, in that order.
AdapterList panel_adapters(const AdapterPanel& panel, const QStringList& names) {
  AdapterList out;
  for (const QString& name : names)
    for (int i = 0; i < panel.count(); ++i)
      if (QString::fromStdString(panel.adapter(i)->name) == name) {
        out.push_back(panel.adapter(i));
        break;
      }
  return out;
}

QStringList folder_names(const QStringList& dirs) {
  QStringList out;
  for (const QString& d : dirs)
    out << d.section('/', -1);
  return out;
}

}  // namespace

void MainWindow::open_demo_study(const QString& kit_dir) {
  DemoPlan plan;
  try {
    plan = demo_plan(kit_dir);
  } catch (const Error& e) {
    show_error(tr("Cannot open the demo kit"), QString::fromUtf8(e.what()));
    return;
  }
  if (jobs_->busy()) {
    show_error(tr("Busy"), busy_text());
    return;
  }
  queue_->clear();
  open_adapters(plan.open, [this, plan] {
    set_landscape_setup(plan.setup);
    const DemoLimits& l = plan.limits;
    landscape_->set_range(SweepRange{0.0, 1.0, l.points - 1});
    landscape_->set_metric("convexity_gap");
    CkaOptions cka = cka_->options();
    cka.inputs = l.cka_inputs;
    cka_->set_options(cka);
    multitask_->set_limit(static_cast<int>(l.multitask_examples));
    multitask_->set_methods(l.multitask_methods);
    multitask_->set_task_counts(false);

    // Connectivity over the family on its own task (how seeds and ranks of one task connect);
    // without a family, over the task adapters on every task.
    QStringList names = plan.family;
    LandscapeSetup conn_setup = plan.family_setup;
    if (names.size() < 2) {
      names = folder_names(plan.task_adapters);
      conn_setup = plan.setup;
    }
    const AdapterList conn = panel_adapters(*panel_, names);
    // The limits and what connectivity runs on, where the lecture can read them.
    const QString conn_text =
        plan.family.size() >= 2 ? tr("connectivity over the %1 family (%2), scored on the %1 task")
                                      .arg(plan.family_task, names.join(", "))
                                : tr("connectivity over the task adapters, on every task");
    queue_label_->setToolTip(l.text() + "\n" + conn_text + "\n" +
                             tr("Change a limit in its view and press the view's Run button."));
    const QString note =
        plan.family.size() >= 2 && conn_setup.tasks.size() == 1
            ? tr("Demo study: these sweeps score the %1 family on the %1 task only (%2 "
                 "examples); Run sweeps uses the setup above.")
                  .arg(plan.family_task)
                  .arg(conn_setup.limit)
            : QString();
    std::vector<JobQueue::Step> steps;
    steps.push_back(
        {tr("connectivity"), [this, conn, conn_setup, note] {
           if (conn.size() < 2) {
             show_error(tr("Cannot run the sweeps"),
                        tr("The demo kit has fewer than two adapters to connect."));
             return;
           }
           try {
             if (start_connectivity(conn, conn_setup, sweep_alphas(landscape_->range()), false))
               landscape_->set_note(note);
           } catch (const Error& e) {  // a range the user changed meanwhile
             show_error(tr("Cannot run the sweeps"), QString::fromUtf8(e.what()));
           }
         }});
    steps.push_back({tr("CKA"), [this] { run_cka(); }});
    steps.push_back({tr("multitask"), [this] { run_multitask(); }});
    queue_label_->setProperty("limits", l.text());
    queue_label_->setText(l.text());
    queue_label_->setVisible(true);
    // Similarity is scheduled by the set change itself and runs first.
    queue_->start(std::move(steps), [this] { return similarity_pending_; });
  });
}

void MainWindow::build_job_queue() {
  queue_ = new JobQueue(jobs_, this);
  queue_label_ = new QLabel(this);
  queue_label_->setObjectName("queue_status");
  queue_label_->setVisible(false);
  statusBar()->addPermanentWidget(queue_label_);
  // The label's "limits" property: the queued study's limits, kept beside its current step.
  auto show = [this](const QString& step) {
    const QString limits = queue_label_->property("limits").toString();
    queue_label_->setText(step.isEmpty() ? limits : step + " — " + limits);
  };
  connect(queue_, &JobQueue::step_started, this, [show](int i, int n, const QString& name) {
    show(tr("Study %1/%2: %3").arg(i).arg(n).arg(name));
  });
  connect(queue_, &JobQueue::finished, this, [show] { show(tr("Study done")); });
  connect(queue_, &JobQueue::stopped, this, [show] { show(tr("Study stopped")); });
}

}  // namespace basin::ui
