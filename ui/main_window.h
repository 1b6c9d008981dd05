// Basin's main window (shell): menus, the adapter-set panel and the view area.
#pragma once

#include <QMainWindow>
#include <QStringList>

class QTreeWidget;
class QLabel;

namespace basin::ui {

class MainWindow : public QMainWindow
{
  Q_OBJECT

 public:
  explicit MainWindow(QWidget* parent = nullptr);

  // Opens adapter folders into the set; errors are shown in a dialog.
  void open_adapters(const QStringList& dirs);

 private:
  void build_menus();
  void show_about();

  QTreeWidget* adapter_list_ = nullptr;
  QLabel* status_ = nullptr;
};

}  // namespace basin::ui
