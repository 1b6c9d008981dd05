// The evaluation setup every landscape view needs (LandscapeSetup): the base model folder,
// the task spec files, the split and the examples per task. Each view shows one copy; the
// main window keeps them in sync and stores the setup in the study.
#pragma once

#include <QWidget>

#include "landscape/workbench.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace basin::ui {

class EvalSetupForm : public QWidget {
  Q_OBJECT

 public:
  explicit EvalSetupForm(QWidget* parent = nullptr);

  LandscapeSetup setup() const;
  // Shows `s` without emitting changed().
  void set_setup(const LandscapeSetup& s);

 signals:
  // The user edited a field.
  void changed();

 private:
  void show_tasks();

  QLineEdit* model_ = nullptr;
  QLabel* tasks_ = nullptr;
  QComboBox* split_ = nullptr;
  QSpinBox* limit_ = nullptr;
  std::vector<std::filesystem::path> task_files_;
};

}  // namespace basin::ui
