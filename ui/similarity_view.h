// Similarity view: the cosine-similarity matrix of the included adapters' ΔW as a heatmap,
// for all modules, one layer or one module, and a layer-by-layer profile of every pair.
#pragma once

#include <QWidget>

#include <optional>

#include "analysis/cosine_similarity.h"

class QComboBox;
class QCustomPlot;
class QLabel;

namespace basin::ui {

class HeatmapPlot;
enum class Theme;

class SimilarityView : public QWidget {
  Q_OBJECT

 public:
  explicit SimilarityView(QWidget* parent = nullptr);

  void set_result(std::optional<SimilarityResult> result);
  const std::optional<SimilarityResult>& result() const { return result_; }
  // Scope: 0 = all modules, then one entry per layer, then one per module.
  void set_scope(int index);
  void set_message(const QString& text);
  void apply_theme(Theme t);

  HeatmapPlot* heatmap() const { return heatmap_; }
  QCustomPlot* profile() const { return profile_; }
  // CSV of what is shown: the matrix, or the layer profile.
  QByteArray matrix_csv() const;
  QByteArray profile_csv() const;

 signals:
  // From a plot's context menu: export `plot` as a figure, or its data.
  void export_requested(QCustomPlot* plot, bool data);

 private:
  void refresh();
  void fill_profile();

  std::optional<SimilarityResult> result_;
  QComboBox* scope_ = nullptr;
  QLabel* message_ = nullptr;
  HeatmapPlot* heatmap_ = nullptr;
  QCustomPlot* profile_ = nullptr;
};

}  // namespace basin::ui
