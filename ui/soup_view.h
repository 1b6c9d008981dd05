// Soup & surface view: the greedy soup with interpolation (uniformity study, Algorithm 1) over
// the included adapters on the validation loss — its path as a table and a figure, saved as a
// PEFT adapter — and a 2D loss surface over the plane through three chosen models.
#pragma once

#include <QStringList>
#include <QWidget>

#include <optional>

#include "landscape/soup.h"
#include "landscape/surface.h"
#include "plot_style.h"

class QComboBox;
class QCustomPlot;
class QLabel;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace basin::ui {

class EvalSetupForm;

class SoupView : public QWidget {
  Q_OBJECT

 public:
  explicit SoupView(QWidget* parent = nullptr);

  EvalSetupForm* setup_form() const { return setup_; }
  // Models the surface can span: "base" then the included adapters.
  void set_candidates(const QStringList& models);
  // Indices into the candidates of the three surface anchors.
  std::array<int, 3> anchors() const;
  void set_anchors(const std::array<int, 3>& a);
  SurfaceOptions surface_options() const;
  void set_grid(int grid);

  void set_soup(std::optional<SoupResult> soup);
  const std::optional<SoupResult>& soup() const { return soup_; }
  void set_surface(std::optional<SurfaceResult> surface);
  const std::optional<SurfaceResult>& surface() const { return surface_; }

  void set_message(const QString& text);
  void apply_theme(Theme t);

  QCustomPlot* soup_plot() const { return soup_plot_; }
  QCustomPlot* surface_plot() const { return surface_plot_; }
  QTableWidget* path_table() const { return table_; }
  QPushButton* soup_button() const { return run_soup_; }
  QPushButton* surface_button() const { return run_surface_; }
  QPushButton* save_button() const { return save_; }
  bool export_bytes(QCustomPlot* plot, bool json, QByteArray* out, QString* stem) const;

 signals:
  void soup_requested();
  void save_requested();
  void surface_requested();
  void export_requested(QCustomPlot* plot, bool data);

 private:
  void fill_table();

  EvalSetupForm* setup_ = nullptr;
  QPushButton* run_soup_ = nullptr;
  QPushButton* save_ = nullptr;
  QLabel* message_ = nullptr;
  QTableWidget* table_ = nullptr;
  QCustomPlot* soup_plot_ = nullptr;
  std::array<QComboBox*, 3> anchor_{};
  QSpinBox* grid_ = nullptr;
  QPushButton* run_surface_ = nullptr;
  QCustomPlot* surface_plot_ = nullptr;
  std::optional<SoupResult> soup_;
  std::optional<SurfaceResult> surface_;
  Theme theme_ = Theme::Light;
};

}  // namespace basin::ui
