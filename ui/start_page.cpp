#include "start_page.h"

#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>

namespace basin::ui {

StartPage::StartPage(QWidget* parent) : QWidget(parent) {
  setObjectName("start_page");
  auto* outer = new QHBoxLayout(this);
  auto* column = new QVBoxLayout;
  outer->addStretch(1);
  outer->addLayout(column, 3);
  outer->addStretch(1);
  column->addStretch(1);

  auto* title = new QLabel(tr("<h1>Basin</h1>"), this);
  column->addWidget(title);
  auto* intro = new QLabel(tr("Compare LoRA adapters, merge them, and explore the loss "
                              "landscape between them. Start with your own PEFT adapter folders "
                              "or with the demo kit: a small model and seven task adapters made "
                              "on this machine."),
                           this);
  intro->setWordWrap(true);
  column->addWidget(intro);
  column->addSpacing(16);

  auto* buttons = new QHBoxLayout;
  open_ = new QPushButton(tr("Open adapters…"), this);
  open_->setObjectName("start_open");
  open_->setMinimumHeight(40);
  demo_ = new QPushButton(tr("Open the demo kit"), this);
  demo_->setObjectName("start_demo");
  demo_->setMinimumHeight(40);
  study_ = new QPushButton(tr("Open study…"), this);
  study_->setObjectName("start_study");
  study_->setMinimumHeight(40);
  buttons->addWidget(open_);
  buttons->addWidget(demo_);
  buttons->addWidget(study_);
  column->addLayout(buttons);
  demo_note_ = new QLabel(this);
  demo_note_->setObjectName("start_demo_note");
  demo_note_->setWordWrap(true);
  demo_note_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  column->addWidget(demo_note_);
  status_ = new QLabel(this);
  status_->setObjectName("start_status");
  status_->setWordWrap(true);
  column->addWidget(status_);
  column->addSpacing(16);

  recent_title_ = new QLabel(tr("<b>Recent</b> (double-click to open)"), this);
  column->addWidget(recent_title_);
  recent_ = new QListWidget(this);
  recent_->setObjectName("start_recent");
  recent_->setMaximumHeight(220);
  column->addWidget(recent_);
  column->addStretch(2);

  connect(open_, &QPushButton::clicked, this, &StartPage::open_requested);
  connect(demo_, &QPushButton::clicked, this, &StartPage::demo_requested);
  connect(study_, &QPushButton::clicked, this, &StartPage::study_requested);
  connect(recent_, &QListWidget::itemActivated, this, [this](QListWidgetItem* item) {
    emit recent_chosen(item->data(Qt::UserRole).toString());
  });
  set_recent({});
}

void StartPage::set_recent(const QStringList& paths) {
  recent_->clear();
  for (const QString& p : paths) {
    const QFileInfo info(p);
    auto* item = new QListWidgetItem(
        info.isDir() ? tr("%1  —  adapter folder, %2").arg(info.fileName(), info.absolutePath())
                     : tr("%1  —  study, %2").arg(info.fileName(), info.absolutePath()),
        recent_);
    item->setData(Qt::UserRole, p);
    item->setToolTip(p);
  }
  recent_title_->setVisible(!paths.isEmpty());
  recent_->setVisible(!paths.isEmpty());
}

void StartPage::set_demo_kit(const QString& kit_dir, bool built) {
  demo_note_->setText(built ? tr("Demo kit: %1").arg(kit_dir)
                            : tr("The demo kit is built on first use into %1 (a few minutes; "
                                 "progress and Cancel in the status bar).")
                                  .arg(kit_dir));
}

void StartPage::set_building(bool building) {
  demo_->setEnabled(!building);
}

void StartPage::set_status(const QString& text) {
  status_->setText(text);
}

}  // namespace basin::ui
