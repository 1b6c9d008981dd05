#include "demo_plan.h"

#include <QDir>
#include <QFileInfo>
#include <QObject>
#include <QRegularExpression>

#include <algorithm>
#include <filesystem>

#include "demo/kit_manifest.h"
#include "util/errors.h"

namespace basin::ui {
namespace {

namespace fs = std::filesystem;

QStringList adapter_names(const QString& kit) {
  QStringList out;
  for (const QString& name : QDir(kit + "/adapters").entryList(QDir::Dirs | QDir::NoDotAndDotDot))
    if (QFileInfo(kit + "/adapters/" + name + "/adapter_config.json").isFile()) out << name;
  return out;
}

}  // namespace

QString DemoLimits::text() const {
  return QObject::tr(
             "Limits: %1 examples/task, %2 points/path, CKA %3 inputs, multitask %4 "
             "examples/task (%5)")
      .arg(examples)
      .arg(points)
      .arg(cka_inputs)
      .arg(multitask_examples)
      .arg(multitask_methods.join(", "));
}

QStringList kit_task_adapters(const QString& kit) {
  QStringList out;
  try {
    for (const auto& t : KitManifest::read(fs::path(kit.toStdString())).tasks) {
      const QString a = kit + "/adapters/" + QString::fromStdString(t);
      if (QFileInfo(a + "/adapter_config.json").isFile()) out << a;
    }
  } catch (const InputError&) {
    // An unreadable manifest: open every adapter folder instead.
  }
  if (out.isEmpty())
    for (const QString& name : adapter_names(kit))
      out << kit + "/adapters/" + name;
  return out;
}

DemoPlan demo_plan(const QString& kit_in, const DemoLimits& limits) {
  DemoPlan p;
  p.kit = QFileInfo(kit_in).absoluteFilePath();
  p.limits = limits;
  const QString& kit = p.kit;
  if (!QFileInfo(kit + "/adapters").isDir())
    throw InputError("'" + kit.toStdString() +
                     "' is not a demo kit: it has no adapters/ folder (build one with "
                     "basin-cli demo-kit)");
  if (!QFileInfo(kit + "/model/config.json").isFile())
    throw InputError("'" + kit.toStdString() + "' is not a demo kit: it has no model/config.json");
  p.task_adapters = kit_task_adapters(kit);
  if (p.task_adapters.isEmpty())
    throw InputError("'" + kit.toStdString() + "/adapters' holds no adapter folder");
  // The family: the task with the most seeds and ranks, in the headless report's order.
  const QStringList all = adapter_names(kit);
  qsizetype best = 0;
  for (const QString& dir : p.task_adapters) {
    const QString task = QFileInfo(dir).fileName();
    const QRegularExpression seed("^" + QRegularExpression::escape(task) + "-seed[0-9]+$");
    const QRegularExpression rank("^" + QRegularExpression::escape(task) + "-r[0-9]+$");
    QStringList seeds = all.filter(seed), ranks = all.filter(rank);
    // r2, r4, r16 rather than r16, r2, r4.
    auto by_number = [](const QString& a, const QString& b) {
      const QRegularExpression n("([0-9]+)$");
      return n.match(a).captured(1).toInt() < n.match(b).captured(1).toInt();
    };
    std::sort(seeds.begin(), seeds.end(), by_number);
    std::sort(ranks.begin(), ranks.end(), by_number);
    if (seeds.size() + ranks.size() <= best) continue;
    best = seeds.size() + ranks.size();
    p.family_task = task;
    p.family = QStringList{task} + seeds + ranks;
  }
  p.open = p.task_adapters;
  for (const QString& name : p.family)
    if (!p.open.contains(kit + "/adapters/" + name)) p.open << kit + "/adapters/" + name;

  p.setup.model = (kit + "/model").toStdString();
  for (const QString& f : QDir(kit + "/tasks").entryList({"*.json"}, QDir::Files, QDir::Name))
    p.setup.tasks.push_back((kit + "/tasks/" + f).toStdString());
  p.setup.split = "validation";
  p.setup.limit = limits.examples;
  p.family_setup = p.setup;
  const fs::path own = (kit + "/tasks/" + p.family_task + ".json").toStdString();
  if (!p.family_task.isEmpty() && fs::is_regular_file(own)) p.family_setup.tasks = {own};
  return p;
}

}  // namespace basin::ui
