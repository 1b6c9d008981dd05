// MainWindow: the demo study. A lecture's first minute needs no clicks: opened on a demo kit,
// the window fills its views by itself as jobs stream — similarity at once, then connectivity
// over one task's seeds and ranks, CKA and the multitask study, queued on the job runner one
// after another with small limits (shown in the status bar and in each view's own controls).
// Esc stops the running job and drops the rest; a view's Run button replaces its queued job.
#include <QLabel>
#include <QStatusBar>

#include "adapter_panel.h"
#include "bench_cache.h"
#include "cka_view.h"
#include "demo_plan.h"
#include "job_runner.h"
#include "landscape_view.h"
#include "main_window.h"
#include "multitask_view.h"
#include "util/errors.h"
#include "util/runtime.h"
#include "view_support.h"

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
    conn_setup.precision = eval_precision_name();
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
    set_elided_text(queue_label_, l.text(), 340);  // all of it in the tooltip
    queue_label_->setVisible(true);
    // Similarity first: the set change scheduled it for the next turn of the event loop, after
    // the jobs queued here.
    compute_similarity();
    if (conn.size() < 2) {
      show_error(tr("Cannot run the sweeps"),
                 tr("The demo kit has fewer than two adapters to connect."));
      return;
    }
    try {
      start_connectivity(conn, conn_setup, sweep_alphas(landscape_->range()), false, note);
    } catch (const Error& e) {
      show_error(tr("Cannot run the sweeps"), QString::fromUtf8(e.what()));
      return;
    }
    run_cka();
    run_multitask();
  });
}

}  // namespace basin::ui
