// Basin's main window: the adapter-set panel, the Similarity, Merge and landscape views
// (Connectivity, CKA, Multitask, Soup & surface), a status bar with the running job's stage,
// progress, the job queue (running and waiting jobs) and Cancel, and the menus. Every view's
// Run button queues its job on the one JobRunner (job_runner.h: a new request of a kind
// replaces a waiting one and cancels a running one whose inputs changed); nothing is refused
// as busy. Split by feature: main_window.cpp (frame, menus, status bar, settings),
// main_window_files.cpp (adapters, studies, export), main_window_jobs.cpp (similarity and merge
// jobs), main_window_landscape.cpp (landscape jobs), main_window_start.cpp (the start page shown
// while nothing is open, the demo kit), main_window_demo.cpp (the demo study: its jobs queued),
// main_window_interpolate.cpp.
#pragma once

#include <QMainWindow>
#include <QStringList>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "study/study.h"

class QActionGroup;
class QLabel;
class QProgressBar;
class QPushButton;
class QSplitter;
class QStackedWidget;
class QTabWidget;
class QMenu;
class QCustomPlot;

namespace basin {
struct Adapter;
}

namespace basin::ui {

using AdapterList = std::vector<std::shared_ptr<const Adapter>>;

class AdapterPanel;
class CkaView;
class GatesView;
class InterpolateView;
class JobRunner;
class LandscapeView;
class MergeView;
class MultitaskView;
class SimilarityView;
class SoupView;
class StartPage;
struct BenchCache;
struct InterpolateSession;
enum class Theme;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // Loads adapter folders on a worker thread, then adds the compatible ones; problems are
  // reported in one dialog that names the folder and the reason. `then` runs once they are
  // added (not when the job is cancelled or fails).
  void open_adapters(const QStringList& dirs, std::function<void()> then = {});
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
  // Opens the demo kit's task adapters; builds the kit first (a job with progress and
  // Cancel) when it is not there yet. The folder: $BASIN_KIT, else the "demo_kit_dir"
  // setting, else <app data>/demo-kit; the size: $BASIN_KIT_SIZE (tiny | small, default small).
  void open_demo_kit();
  static QString demo_kit_dir();
  // The demo study on a built kit (basin --demo KIT): opens its task adapters and the family
  // of one task's seeds and ranks, fills the evaluation setup from the kit with small limits,
  // and queues similarity, connectivity (over the family, on its task), CKA and the multitask
  // study on the job runner; Esc / Cancel stops the queue. A folder that is not a kit: a dialog.
  void open_demo_study(const QString& kit_dir);
  // True while the start page (nothing open yet) is shown instead of the views.
  bool start_page_shown() const;
  StartPage* start_page() const { return start_; }
  // 0 = Similarity, 1 = Merge, 2 = Connectivity, 3 = CKA, 4 = Multitask, 5 = Soup & surface,
  // 6 = Gates, 7 = Interpolate
  void show_view(int index);

  // Landscape jobs on the included adapters, evaluated per the shared setup (model, tasks).
  void run_connectivity();
  void run_cka();
  void run_multitask();
  void run_soup();
  void run_surface();
  // Trains (or builds) the Gates view's gate over the included adapters and inspects it on the
  // setup's tasks; save_gate writes the last one as a gate folder.
  void run_gate();
  void save_gate(const QString& dir);
  // The Interpolate view's loss curve between its two endpoints (a job); the answers at the
  // slider's α follow by themselves once it is there.
  void run_interpolate();
  bool has_gate() const { return gate_ != nullptr; }
  // Writes the greedy soup as a PEFT folder (a `cat` merge weighted by the soup's coefficients).
  void save_soup(const QString& dir);
  LandscapeSetup landscape_setup() const { return setup_; }
  void set_landscape_setup(const LandscapeSetup& s);

  JobRunner* jobs() const { return jobs_; }
  AdapterPanel* adapter_panel() const { return panel_; }
  SimilarityView* similarity_view() const { return similarity_; }
  MergeView* merge_view() const { return merge_; }
  LandscapeView* landscape_view() const { return landscape_; }
  CkaView* cka_view() const { return cka_; }
  MultitaskView* multitask_view() const { return multitask_; }
  SoupView* soup_view() const { return soup_; }
  GatesView* gates_view() const { return gates_; }
  InterpolateView* interpolate_view() const { return interpolate_; }
  QCustomPlot* current_plot() const;

 signals:
  void adapters_opened(int count);
  void similarity_updated();
  void merge_finished();
  void connectivity_finished();
  void cka_finished();
  void multitask_finished();
  void soup_finished();
  void surface_finished();
  void gate_finished();
  void interpolate_finished();
  void gate_saved(const QString& dir);
  void soup_saved(const QString& dir);

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
  // Settings ▸ Compute device: applies `device` (parse_device's names) for the jobs started
  // next, remembers it, and shows it in the status bar; a device Basin cannot use is refused
  // in a dialog and the previous choice stays.
  bool choose_device(const QString& device);
  void update_device_label();
  void show_error(const QString& title, const QString& text);
  // The same dialog without waiting for it to close (a failed job: the queue goes on).
  void show_error_later(const QString& title, const QString& text);
  void update_weights_text();
  void schedule_similarity();
  void compute_similarity();
  Study current_study() const;
  void export_dialog(bool data, QCustomPlot* plot = nullptr);
  // main_window_landscape.cpp
  void build_landscape_views();
  void refresh_landscape_inputs();
  void store_landscape(Study& st) const;
  void restore_landscape(const Study& st);
  bool landscape_export_bytes(QCustomPlot* plot, bool json, QByteArray* out, QString* stem) const;
  bool landscape_ready(const QString& what, size_t min_models);
  // Queues the Connectivity view's sweeps over `adapters` evaluated per `setup` (the button:
  // the included set and the shared setup); `note` is shown in the view once they start.
  void start_connectivity(const AdapterList& adapters, const LandscapeSetup& setup,
                          const std::vector<double>& alphas, bool base, const QString& note);
  // main_window_gates.cpp
  void build_gates_view();
  // main_window_interpolate.cpp
  void build_interpolate_view();
  void refresh_interpolate_choices(const QStringList& names);
  void request_answers(double alpha);
  void start_answers();
  // main_window_start.cpp
  void build_start_page();
  void update_start_page();

  JobRunner* jobs_ = nullptr;
  QLabel* device_label_ = nullptr;  // "CPU · 2 threads", in the status bar
  QActionGroup* device_group_ = nullptr;
  QLabel* jobs_label_ = nullptr;   // the running job and the waiting ones, in the status bar
  QLabel* queue_label_ = nullptr;  // the demo study's limits, in the status bar
  AdapterPanel* panel_ = nullptr;
  SimilarityView* similarity_ = nullptr;
  MergeView* merge_ = nullptr;
  LandscapeView* landscape_ = nullptr;
  CkaView* cka_ = nullptr;
  MultitaskView* multitask_ = nullptr;
  SoupView* soup_ = nullptr;
  GatesView* gates_ = nullptr;
  InterpolateView* interpolate_ = nullptr;
  std::shared_ptr<InterpolateSession> interp_;  // the curve's model, merges, pending answers
  std::shared_ptr<const Gate> gate_;            // the last gate trained in the Gates view
  QTabWidget* tabs_ = nullptr;
  QSplitter* splitter_ = nullptr;
  QStackedWidget* stack_ = nullptr;  // the start page or the workspace (panel + views)
  StartPage* start_ = nullptr;
  QLabel* stage_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QPushButton* cancel_ = nullptr;
  QMenu* recent_menu_ = nullptr;
  std::vector<MergeRecord> merges_;
  LandscapeSetup setup_;               // shared by the landscape views, saved in the study
  std::vector<Curve> sweeps_;          // single sweeps from an opened study, kept on save
  std::shared_ptr<BenchCache> bench_;  // model + bank reused across landscape jobs
  Theme theme_;
  bool similarity_pending_ = false;
  bool similarity_stale_ = true;
};

}  // namespace basin::ui
