#include "eval_setup_form.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>

#include "util/runtime.h"

namespace basin::ui {

EvalSetupForm::EvalSetupForm(QWidget* parent) : QWidget(parent) {
  auto* grid = new QGridLayout(this);
  grid->setContentsMargins(0, 0, 0, 0);
  grid->addWidget(new QLabel(tr("Base model:"), this), 0, 0);
  model_ = new QLineEdit(this);
  model_->setObjectName("setup_model");
  model_->setPlaceholderText(tr("Hugging Face model folder (config.json, tokenizer.json)"));
  grid->addWidget(model_, 0, 1);
  auto* browse = new QPushButton(tr("Browse…"), this);
  grid->addWidget(browse, 0, 2);
  grid->addWidget(new QLabel(tr("Split:"), this), 0, 3);
  split_ = new QComboBox(this);
  split_->setObjectName("setup_split");
  split_->addItems({"validation", "test", "train"});
  grid->addWidget(split_, 0, 4);

  grid->addWidget(new QLabel(tr("Tasks:"), this), 1, 0);
  tasks_ = new QLabel(this);
  tasks_->setObjectName("setup_tasks");
  tasks_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  tasks_->setMinimumWidth(120);
  grid->addWidget(tasks_, 1, 1);
  auto* choose = new QPushButton(tr("Choose…"), this);
  grid->addWidget(choose, 1, 2);
  grid->addWidget(new QLabel(tr("Examples / task:"), this), 1, 3);
  limit_ = new QSpinBox(this);
  limit_->setObjectName("setup_limit");
  limit_->setRange(0, 1000000);
  limit_->setSpecialValueText(tr("all"));
  limit_->setValue(32);
  grid->addWidget(limit_, 1, 4);
  grid->setColumnStretch(1, 1);

  connect(browse, &QPushButton::clicked, this, [this] {
    const QString dir =
        QFileDialog::getExistingDirectory(this, tr("Base model folder"), model_->text());
    if (dir.isEmpty()) return;
    model_->setText(dir);
    emit changed();
  });
  connect(choose, &QPushButton::clicked, this, [this] {
    const QString start = task_files_.empty()
                              ? model_->text()
                              : QString::fromStdString(task_files_.front().parent_path().string());
    const QStringList files = QFileDialog::getOpenFileNames(this, tr("Task spec files"), start,
                                                            tr("Task specs (*.json)"));
    if (files.isEmpty()) return;
    task_files_.clear();
    for (const auto& f : files)
      task_files_.emplace_back(f.toStdString());
    show_tasks();
    emit changed();
  });
  connect(model_, &QLineEdit::editingFinished, this, &EvalSetupForm::changed);
  connect(split_, &QComboBox::currentIndexChanged, this, &EvalSetupForm::changed);
  connect(limit_, &QSpinBox::valueChanged, this, &EvalSetupForm::changed);
  show_tasks();
}

LandscapeSetup EvalSetupForm::setup() const {
  LandscapeSetup s;
  s.model = model_->text().trimmed().toStdString();
  s.tasks = task_files_;
  s.split = split_->currentText().toStdString();
  s.limit = static_cast<size_t>(limit_->value());
  return s;
}

void EvalSetupForm::set_setup(const LandscapeSetup& s) {
  const QSignalBlocker b1(model_), b2(split_), b3(limit_);
  model_->setText(QString::fromStdString(s.model.string()));
  const QString split = QString::fromStdString(s.split);
  if (split_->findText(split) < 0) split_->addItem(split);
  split_->setCurrentText(split);
  limit_->setValue(static_cast<int>(s.limit));
  task_files_ = s.tasks;
  show_tasks();
}

void EvalSetupForm::show_tasks() {
  if (task_files_.empty()) {
    tasks_->setText(tr("<i>none chosen</i>"));
    tasks_->setToolTip(QString());
    return;
  }
  QStringList names, paths;
  for (const auto& f : task_files_) {
    names << QFileInfo(QString::fromStdString(f.string())).completeBaseName();
    paths << QString::fromStdString(f.string());
  }
  tasks_->setText(tr("%n task(s): ", nullptr, static_cast<int>(names.size())) + names.join(", "));
  tasks_->setToolTip(paths.join("\n"));
}

}  // namespace basin::ui
