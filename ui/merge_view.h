// Merge view: pick a method and its parameters, run it (on a worker thread, via the main
// window), see a summary and per-module table, save the result as a PEFT folder, or add it to
// the set to compare it with its inputs.
#pragma once

#include <QWidget>

#include <memory>

#include "lora/adapter.h"
#include "merge/merge_recipe.h"
#include "study/study.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace basin::ui {

class MergeView : public QWidget {
  Q_OBJECT

 public:
  explicit MergeView(QWidget* parent = nullptr);

  // The recipe the form describes (weights are filled in by the caller from the set panel).
  MergeRecipe recipe() const;
  void set_recipe(const MergeRecipe& r);
  void set_weights_text(const QString& text);

  void show_result(std::shared_ptr<const Adapter> merged, const MergeRecord& record);
  void clear_result();
  std::shared_ptr<const Adapter> result() const { return result_; }

  QPushButton* run_button() const { return run_; }
  QComboBox* method_box() const { return method_; }

 signals:
  void run_requested();
  void save_requested();
  void add_to_set_requested();

 private:
  void update_enabled();

  QComboBox* method_ = nullptr;
  QSpinBox* rank_ = nullptr;
  QDoubleSpinBox* density_ = nullptr;
  QComboBox* sign_ = nullptr;
  QSpinBox* seed_ = nullptr;
  QCheckBox* clamp_on_ = nullptr;
  QDoubleSpinBox* clamp_ = nullptr;
  QCheckBox* peft_compat_ = nullptr;
  QLabel* weights_ = nullptr;
  QPushButton* run_ = nullptr;
  QPushButton* save_ = nullptr;
  QPushButton* add_ = nullptr;
  QLabel* summary_ = nullptr;
  QTableWidget* table_ = nullptr;
  std::shared_ptr<const Adapter> result_;
};

}  // namespace basin::ui
