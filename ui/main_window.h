// Basin's main window: the adapter-set panel, the Similarity and Merge views, a status bar with
// the running job's stage, progress and Cancel, and the menus. Split by feature:
// main_window.cpp (frame, menus, settings), main_window_files.cpp (adapters, studies, export),
// main_window_jobs.cpp (similarity and merge jobs).
#pragma once

#include <QMainWindow>
#include <QStringList>

#include <memory>
#include <optional>

#include "study/study.h"

class QLabel;
class QProgressBar;
class QPushButton;
class QSplitter;
class QTabWidget;
class QMenu;
class QCustomPlot;

namespace basin::ui {

class AdapterPanel;
class JobRunner;
class MergeView;
class SimilarityView;
enum class Theme;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // Loads adapter folders on a worker thread, then adds the compatible ones; problems are
  // reported in one dialog that names the folder and the reason.
  void open_adapters(const QStringList& dirs);
  // Runs the Merge view's recipe on the included adapters; with `save_to`, the same job also
  // writes the PEFT folder (atomically: a cancel leaves nothing).
  void run_merge(const QString& save_to = QString());
  void save_merge(const QString& dir);
  void add_merge_to_set();
  bool save_study(const QString& path);
  bool open_study(const QString& path);
  // Exports the current view's main plot (PNG/SVG/PDF by extension) or its data (CSV/JSON).
  bool export_figure(const QString& path, int dpi = 150, QCustomPlot* plot = nullptr);
  bool export_data(const QString& path, QCustomPlot* plot = nullptr);
  void set_theme(Theme t);
  void show_view(int index);  // 0 = Similarity, 1 = Merge

  JobRunner* jobs() const { return jobs_; }
  AdapterPanel* adapter_panel() const { return panel_; }
  SimilarityView* similarity_view() const { return similarity_; }
  MergeView* merge_view() const { return merge_; }
  QCustomPlot* current_plot() const;

 signals:
  void adapters_opened(int count);
  void similarity_updated();
  void merge_finished();

 protected:
  void closeEvent(QCloseEvent* event) override;
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;

 private:
  void build_menus();
  void build_status_bar();
  void restore_settings();
  void remember_folder(const QString& dir);
  void add_recent(const QStringList& paths);
  void rebuild_recent_menu();
  void show_about();
  void show_error(const QString& title, const QString& text);
  void update_weights_text();
  void schedule_similarity();
  void compute_similarity();
  Study current_study() const;
  void export_dialog(bool data, QCustomPlot* plot = nullptr);

  JobRunner* jobs_ = nullptr;
  AdapterPanel* panel_ = nullptr;
  SimilarityView* similarity_ = nullptr;
  MergeView* merge_ = nullptr;
  QTabWidget* tabs_ = nullptr;
  QSplitter* splitter_ = nullptr;
  QLabel* stage_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QPushButton* cancel_ = nullptr;
  QMenu* recent_menu_ = nullptr;
  std::vector<MergeRecord> merges_;
  Theme theme_;
  bool similarity_pending_ = false;
  bool similarity_stale_ = true;
};

}  // namespace basin::ui
