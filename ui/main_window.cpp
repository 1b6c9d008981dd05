#include "main_window.h"

#include <QApplication>
#include <QFileDialog>
#include <QHeaderView>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QSplitter>
#include <QStatusBar>
#include <QTreeWidget>

#include "lora/peft_io.h"
#include "util/errors.h"
#include "util/runtime.h"
#include "util/strings.h"

namespace basin::ui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle("Basin");
  setWindowIcon(QIcon(":/basin/icons/basin.svg"));
  adapter_list_ = new QTreeWidget(this);
  adapter_list_->setHeaderLabels({"Adapter", "Rank", "Alpha", "Modules", "Size", "Base model"});
  adapter_list_->header()->setSectionResizeMode(QHeaderView::ResizeToContents);
  setCentralWidget(adapter_list_);
  status_ = new QLabel(this);
  statusBar()->addWidget(status_);
  build_menus();
  resize(1200, 760);
}

void MainWindow::build_menus() {
  auto* file = menuBar()->addMenu(tr("&File"));
  auto* open = file->addAction(tr("&Open adapter folder…"), this, [this] {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open adapter folder"));
    if (!dir.isEmpty()) open_adapters({dir});
  });
  open->setShortcut(QKeySequence::Open);
  file->addSeparator();
  auto* quit = file->addAction(tr("&Quit"), qApp, &QApplication::quit);
  quit->setShortcut(QKeySequence::Quit);
  auto* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&About Basin"), this, &MainWindow::show_about);
}

void MainWindow::open_adapters(const QStringList& dirs) {
  for (const QString& d : dirs) {
    try {
      const auto a = load_peft_adapter(d.toStdString());
      auto* item = new QTreeWidgetItem(adapter_list_);
      const auto [rmin, rmax] = a->rank_range();
      item->setText(0, QString::fromStdString(a->name));
      item->setText(1, rmin == rmax ? QString::number(rmin) : QString("%1–%2").arg(rmin).arg(rmax));
      item->setText(2, QString::fromStdString(format_double(a->config.lora_alpha)));
      item->setText(3, QString::number(a->modules.size()));
      item->setText(4, QString::fromStdString(human_bytes(static_cast<double>(a->file_bytes))));
      item->setText(5, QString::fromStdString(a->config.base_model_name_or_path));
    } catch (const std::exception& e) {
      QMessageBox::critical(this, tr("Cannot open adapter"), QString::fromUtf8(e.what()));
    }
  }
  status_->setText(tr("%n adapter(s)", nullptr, adapter_list_->topLevelItemCount()));
}

void MainWindow::show_about() {
  QMessageBox::about(this, tr("About Basin"),
                     tr("<b>Basin %1</b><br>LoRA merges and loss landscapes.<br><br>"
                        "Qt %2 · LibTorch %3 · device: %4")
                         .arg(BASIN_VERSION, qVersion(),
                              QString::fromStdString(torch_version()),
                              QString::fromStdString(compute_device_name())));
}

}  // namespace basin::ui
