// MainWindow: opening adapters (worker thread), drag and drop, recent files, study files,
// figure and data export.
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QMenu>
#include <QMessageBox>
#include <QMimeData>
#include <QSettings>

#include <nlohmann/json.hpp>

#include "adapter_panel.h"
#include "heatmap_plot.h"
#include "job_runner.h"
#include "lora/peft_io.h"
#include "main_window.h"
#include "merge_view.h"
#include "plot_style.h"
#include "similarity_view.h"
#include "start_page.h"
#include "util/errors.h"

namespace basin::ui {
namespace {

struct Loaded {
  std::vector<std::shared_ptr<Adapter>> adapters;
  QStringList paths;
  QStringList errors;  // "folder: reason"
};

constexpr int kMaxRecent = 10;

}  // namespace

void MainWindow::open_adapters(const QStringList& dirs, std::function<void()> then) {
  if (dirs.isEmpty()) return;
  remember_folder(QFileInfo(dirs.front()).absolutePath());
  JobRunner::Job job;
  job.kind = "open:" + dirs.join('\n');  // opening other folders is another job, not a newer one
  job.title = tr("Opening %n adapter(s)", nullptr, static_cast<int>(dirs.size()));
  job.work = [dirs](jobs::Progress& p) -> std::any {
    auto out = std::make_shared<Loaded>();
    for (int i = 0; i < dirs.size(); ++i) {
      p.check_cancelled();
      p.report(double(i) / dirs.size(), "loading " + QFileInfo(dirs[i]).fileName().toStdString());
      try {
        out->adapters.push_back(load_peft_adapter(dirs[i].toStdString()));
        out->paths << dirs[i];
      } catch (const std::exception& e) {  // one bad folder must not stop the others
        out->errors << QString::fromUtf8(e.what());
      }
    }
    return out;
  };
  job.done = [this, then = std::move(then)](const std::any& result) {
    const auto loaded = std::any_cast<std::shared_ptr<Loaded>>(result);
    QStringList errors = loaded->errors;
    int added = 0;
    QStringList ok_paths;
    for (size_t i = 0; i < loaded->adapters.size(); ++i) {
      // Compatibility with everything already open (module shapes, fan_in_fan_out).
      try {
        AdapterSet all = panel_->all();
        const auto warnings = all.add(loaded->adapters[i]);
        panel_->add(all.ptr(all.size() - 1));
        for (const auto& w : warnings)
          statusBar()->showMessage(QString::fromStdString(w), 8000);
        ok_paths << loaded->paths[static_cast<int>(i)];
        ++added;
      } catch (const Error& e) {
        errors << QString::fromUtf8(e.what());
      }
    }
    add_recent(ok_paths);
    if (!errors.isEmpty()) show_error(tr("Some adapters were not opened"), errors.join("\n\n"));
    emit adapters_opened(added);
    if (then) then();
  };
  jobs_->enqueue(std::move(job));
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  if (!event->mimeData()->hasUrls()) return;
  for (const QUrl& url : event->mimeData()->urls())
    if (url.isLocalFile() && QFileInfo(url.toLocalFile()).isDir()) {
      event->acceptProposedAction();
      return;
    }
}

void MainWindow::dropEvent(QDropEvent* event) {
  QStringList dirs;
  for (const QUrl& url : event->mimeData()->urls())
    if (url.isLocalFile() && QFileInfo(url.toLocalFile()).isDir()) dirs << url.toLocalFile();
  open_adapters(dirs);
  event->acceptProposedAction();
}

void MainWindow::remember_folder(const QString& dir) {
  QSettings().setValue("last_folder", dir);
}

void MainWindow::add_recent(const QStringList& paths) {
  if (paths.isEmpty()) return;
  QSettings s;
  QStringList recent = s.value("recent").toStringList();
  for (const QString& p : paths) {
    recent.removeAll(p);
    recent.prepend(p);
  }
  while (recent.size() > kMaxRecent)
    recent.removeLast();
  s.setValue("recent", recent);
  rebuild_recent_menu();
}

void MainWindow::rebuild_recent_menu() {
  recent_menu_->clear();
  const QStringList recent = QSettings().value("recent").toStringList();
  // Adapter folders and study files share the list; a file is a study.
  for (const QString& p : recent)
    recent_menu_->addAction(p, this, [this, p] {
      if (QFileInfo(p).isFile())
        open_study(p);
      else
        open_adapters({p});
    });
  recent_menu_->setEnabled(!recent.isEmpty());
  if (start_) start_->set_recent(recent);
}

Study MainWindow::current_study() const {
  Study st;
  for (int i = 0; i < panel_->count(); ++i) {
    StudyAdapter a;
    a.path = panel_->adapter(i)->path;
    a.included = panel_->included(i);
    a.weight = panel_->weight(i);
    st.adapters.push_back(a);
  }
  st.merge_recipe = merge_->recipe();
  st.merges = merges_;
  if (!similarity_stale_) st.similarity = similarity_->result();
  store_landscape(st);
  return st;
}

bool MainWindow::save_study(const QString& path) {
  try {
    const Study st = current_study();
    for (const auto& a : st.adapters)
      if (a.path.empty()) {
        show_error(
            tr("Cannot save study"),
            tr("A merged adapter in the set has not been saved to a folder yet; save it first."));
        return false;
      }
    st.save(path.toStdString());
    remember_folder(QFileInfo(path).absolutePath());
    statusBar()->showMessage(tr("Study saved to %1").arg(path), 5000);
    return true;
  } catch (const std::exception& e) {
    show_error(tr("Cannot save study"), QString::fromUtf8(e.what()));
    return false;
  }
}

bool MainWindow::open_study(const QString& path) {
  Study st;
  try {
    st = Study::load(path.toStdString());
  } catch (const std::exception& e) {
    show_error(tr("Cannot open study"), QString::fromUtf8(e.what()));
    return false;
  }
  // Adapters are re-read (memory-mapped, cheap); results come from the file, not recomputed.
  QStringList errors;
  std::vector<std::pair<std::shared_ptr<Adapter>, StudyAdapter>> loaded;
  for (const auto& a : st.adapters) {
    try {
      loaded.emplace_back(load_peft_adapter(a.path), a);
    } catch (const Error& e) {
      errors << QString::fromUtf8(e.what());
    }
  }
  if (!errors.isEmpty()) {
    show_error(tr("Cannot open study"), errors.join("\n\n"));
    return false;
  }
  {
    const QSignalBlocker block(panel_);
    panel_->clear();
    AdapterSet all;
    for (auto& [adapter, sa] : loaded) {
      all.add(adapter);
      panel_->add(all.ptr(all.size() - 1), sa.included, sa.weight);
    }
  }
  merge_->set_recipe(st.merge_recipe);
  merges_ = st.merges;
  const auto names = panel_->included_set().names();
  if (st.similarity && st.similarity->labels == names) {
    similarity_->set_result(st.similarity);
    similarity_stale_ = false;
  } else {
    similarity_stale_ = true;
    schedule_similarity();
  }
  update_weights_text();
  restore_landscape(st);
  remember_folder(QFileInfo(path).absolutePath());
  add_recent({QFileInfo(path).absoluteFilePath()});
  setWindowTitle(tr("Basin — %1").arg(QFileInfo(path).fileName()));
  update_start_page();
  emit similarity_updated();
  return true;
}

bool MainWindow::export_figure(const QString& path, int dpi, QCustomPlot* plot) {
  if (!plot) plot = current_plot();
  const QString err = basin::ui::export_figure(plot, path, 800, 640, dpi, theme_);
  if (!err.isEmpty()) {
    show_error(tr("Export failed"), err);
    return false;
  }
  statusBar()->showMessage(tr("Figure written to %1").arg(path), 5000);
  return true;
}

bool MainWindow::export_data(const QString& path, QCustomPlot* plot) {
  QByteArray bytes;
  const bool json = QFileInfo(path).suffix().toLower() == "json";
  if (!plot) plot = current_plot();
  QString stem;
  if (landscape_export_bytes(plot, json, &bytes, &stem)) {
    if (bytes.isEmpty()) {
      show_error(tr("Export failed"), tr("There is nothing to export yet: run the analysis."));
      return false;
    }
  } else if (plot == similarity_->profile()) {
    if (json) {
      show_error(tr("Export failed"), tr("The layer profile exports as CSV."));
      return false;
    }
    bytes = similarity_->profile_csv();
  } else if (json) {
    bytes = QByteArray::fromStdString(similarity_->heatmap()->matrix().to_json().dump(2) + "\n");
  } else {
    bytes = similarity_->matrix_csv();
  }
  const QString err = write_text_file(path, bytes);
  if (!err.isEmpty()) {
    show_error(tr("Export failed"), err);
    return false;
  }
  statusBar()->showMessage(tr("Data written to %1").arg(path), 5000);
  return true;
}

void MainWindow::export_dialog(bool data, QCustomPlot* plot) {
  QSettings s;
  if (!plot) plot = current_plot();
  QByteArray unused;
  QString stem = plot == similarity_->profile() ? "similarity-profile" : "similarity";
  landscape_export_bytes(plot, false, &unused, &stem);
  const QString base = s.value("last_folder").toString() + "/" + stem + (data ? ".csv" : ".png");
  const QString filter =
      data ? tr("CSV (*.csv);;JSON (*.json)") : tr("PNG (*.png);;SVG (*.svg);;PDF (*.pdf)");
  const QString path = QFileDialog::getSaveFileName(
      this, data ? tr("Export data") : tr("Export figure"), base, filter);
  if (path.isEmpty()) return;
  if (data) {
    export_data(path, plot);
    return;
  }
  int dpi = 150;
  if (figure_format_for(path) == FigureFormat::Png) {
    bool ok = false;
    dpi = QInputDialog::getInt(this, tr("PNG resolution"), tr("Dots per inch:"),
                               s.value("export_dpi", 150).toInt(), 72, 1200, 1, &ok);
    if (!ok) return;
    s.setValue("export_dpi", dpi);
  }
  export_figure(path, dpi, plot);
}

}  // namespace basin::ui
