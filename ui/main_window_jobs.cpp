// MainWindow: the similarity and merge jobs (core work on a worker thread, results on the GUI
// thread), queued on the job runner.
#include <QFileInfo>
#include <QStatusBar>
#include <QTimer>

#include <chrono>
#include <nlohmann/json.hpp>

#include "adapter_panel.h"
#include "bench_cache.h"
#include "job_runner.h"
#include "lora/peft_io.h"
#include "main_window.h"
#include "merge/merge.h"
#include "merge_view.h"
#include "similarity_view.h"
#include "util/errors.h"
#include "util/strings.h"

namespace basin::ui {

void MainWindow::schedule_similarity() {
  similarity_pending_ = true;
  QTimer::singleShot(0, this, &MainWindow::compute_similarity);
}

void MainWindow::compute_similarity() {
  if (!similarity_pending_) return;  // several set changes in one turn: one job
  similarity_pending_ = false;
  AdapterSet set;
  try {
    set = panel_->included_set();
  } catch (const Error& e) {
    jobs_->withdraw("similarity");  // one for the previous set would overwrite this
    similarity_->set_result(std::nullopt);
    similarity_->set_message(QString::fromUtf8(e.what()));
    return;
  }
  if (set.size() < 2) {
    jobs_->withdraw("similarity");
    similarity_->set_result(std::nullopt);
    similarity_->set_message(tr("Include two or more adapters to compare them."));
    emit similarity_updated();
    return;
  }
  JobRunner::Job job;
  job.kind = "similarity";
  job.inputs = adapters_key(adapter_list(set));
  job.title = tr("Cosine similarity");
  job.work = [set](jobs::Progress& p) -> std::any {
    return std::make_shared<SimilarityResult>(cosine_similarity(set, p));
  };
  job.done = [this](const std::any& r) {
    similarity_->set_result(*std::any_cast<std::shared_ptr<SimilarityResult>>(r));
    similarity_stale_ = false;
    emit similarity_updated();
  };
  jobs_->enqueue(std::move(job));
}

void MainWindow::update_weights_text() {
  const auto w = panel_->included_weights();
  if (w.empty()) {
    merge_->set_weights_text(
        tr("method default (1/N for linear and svd, 1 otherwise); "
           "set them in the Weight column of the adapter set"));
    return;
  }
  QStringList parts;
  for (double v : w)
    parts << QString::number(v);
  merge_->set_weights_text(parts.join(", ") + tr("  (blank cells count as 1)"));
}

namespace {
struct MergeOutcome {
  std::shared_ptr<Adapter> merged;
  MergeRecord record;
};

MergeRecord make_record(const AdapterSet& set, const MergeRecipe& recipe, const Adapter& merged,
                        double seconds) {
  MergeRecord rec;
  rec.recipe = recipe;
  rec.recipe.weights = recipe.effective_weights(set.size());
  rec.inputs = set.names();
  rec.modules = static_cast<int64_t>(merged.modules.size());
  std::tie(rec.rank_min, rec.rank_max) = merged.rank_range();
  double sq = 0;
  for (double n : merged.delta_norms())
    sq += n * n;
  rec.delta_norm = std::sqrt(sq);
  rec.seconds = seconds;
  return rec;
}
}  // namespace

void MainWindow::run_merge(const QString& save_to) {
  AdapterSet set;
  MergeRecipe recipe;
  try {
    set = panel_->included_set();
    recipe = merge_->recipe();
    recipe.weights = panel_->included_weights();
    recipe.validate(set.size());
  } catch (const Error& e) {
    show_error(tr("Cannot merge"), QString::fromUtf8(e.what()));
    return;
  }
  const std::string out_dir = save_to.toStdString();
  JobRunner::Job job;
  job.kind = "merge";
  job.inputs = adapters_key(adapter_list(set)) + recipe.to_json().dump() + "|" + out_dir;
  job.title = tr("Merging (%1)").arg(method_name(recipe.method));
  job.work = [set, recipe, out_dir](jobs::Progress& p) -> std::any {
    const auto t0 = std::chrono::steady_clock::now();
    auto out = std::make_shared<MergeOutcome>();
    out->merged = std::make_shared<Adapter>(merge(set, recipe, p));
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out->record = make_record(set, recipe, *out->merged, secs);
    if (!out_dir.empty()) {
      p.check_cancelled();
      p.report(1.0, "saving " + out_dir);
      SaveOptions so;
      so.overwrite = true;
      so.metadata = out->merged->metadata;
      save_peft_adapter(*out->merged, out_dir, so);
      out->merged->path = out_dir;
      out->record.saved_to = out_dir;
    }
    return out;
  };
  job.done = [this](const std::any& r) {
    const auto out = std::any_cast<std::shared_ptr<MergeOutcome>>(r);
    merges_.push_back(out->record);
    merge_->show_result(out->merged, out->record);
    emit merge_finished();
  };
  jobs_->enqueue(std::move(job));
}

void MainWindow::save_merge(const QString& dir) {
  auto merged = merge_->result();
  if (!merged) return;
  const std::string out_dir = dir.toStdString();
  JobRunner::Job job;
  job.kind = "save-merge:" + dir;  // saves to two folders both happen
  job.inputs = adapters_key({merged});
  job.title = tr("Saving merged adapter");
  job.work = [merged, out_dir](jobs::Progress& p) -> std::any {
    p.report(0.0, "saving " + out_dir);
    SaveOptions so;
    so.overwrite = true;
    so.metadata = merged->metadata;
    save_peft_adapter(*merged, out_dir, so);
    return out_dir;
  };
  job.done = [this, merged](const std::any& r) {
    const auto path = std::any_cast<std::string>(r);
    auto saved = std::make_shared<Adapter>(*merged);
    saved->path = path;
    if (!merges_.empty()) merges_.back().saved_to = path;
    merge_->show_result(saved, merges_.empty() ? MergeRecord{} : merges_.back());
    statusBar()->showMessage(tr("Merged adapter saved to %1").arg(QString::fromStdString(path)),
                             8000);
    emit merge_finished();
  };
  jobs_->enqueue(std::move(job));
}

void MainWindow::add_merge_to_set() {
  auto merged = merge_->result();
  if (!merged) return;
  try {
    AdapterSet all = panel_->all();
    all.add(merged);
    panel_->add(all.ptr(all.size() - 1));
  } catch (const Error& e) {
    show_error(tr("Cannot add the merge to the set"), QString::fromUtf8(e.what()));
  }
}

}  // namespace basin::ui
