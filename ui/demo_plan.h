// What the window opens and runs for a demo kit (basin --demo KIT, the start page's "Open the
// demo kit"): the task adapters plus the family of one task's seeds and ranks, the evaluation
// setup filled from the kit (model/, tasks/*.json) and the small limits that make the first
// figures arrive in seconds.
#pragma once

#include <QString>
#include <QStringList>

#include "landscape/workbench.h"

namespace basin::ui {

struct DemoLimits {
  size_t examples = 16;           // examples per task for connectivity and the shared setup
  int points = 7;                 // points per connectivity path, α = 0 … 1
  size_t cka_inputs = 64;         // prompts for CKA
  size_t multitask_examples = 8;  // examples per task scored in the multitask study
  // The cheap merge methods (no greedy soup, no trained gates).
  QStringList multitask_methods = {"linear", "ties", "task_arithmetic"};

  QString text() const;  // one line for the status bar
};

struct DemoPlan {
  QString kit;
  QStringList task_adapters;  // one folder per task (kit.json "tasks"; else every adapter)
  // The task with the most "<task>-seedN" / "<task>-rN" adapters: its own adapter, the seeds,
  // the ranks (names); empty when the kit has none.
  QString family_task;
  QStringList family;
  QStringList open;             // the folders to open: the task adapters, then the family's others
  LandscapeSetup setup;         // the kit's model and every task, with limits.examples
  LandscapeSetup family_setup;  // the same on the family's own task (connectivity)
  DemoLimits limits;
};

// Throws InputError naming the folder when `kit` has no adapters/ or no model/.
DemoPlan demo_plan(const QString& kit, const DemoLimits& limits = {});
// The kit's one adapter per task (its manifest's "tasks"; seeds and ranks of one task are for
// the uniformity analyses); every adapter folder when the manifest is missing or unreadable.
QStringList kit_task_adapters(const QString& kit);

}  // namespace basin::ui
