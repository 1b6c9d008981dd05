// What the window shows while no adapter is open: how to start (Open adapters…, Open the demo
// kit, Open study…) and the recent folders and studies, instead of empty axes.
#pragma once

#include <QStringList>
#include <QWidget>

class QLabel;
class QListWidget;
class QPushButton;

namespace basin::ui {

class StartPage : public QWidget {
  Q_OBJECT

 public:
  explicit StartPage(QWidget* parent = nullptr);

  // Adapter folders and study files, most recent first.
  void set_recent(const QStringList& paths);
  // `kit_dir` is where the demo kit is (or will be built); `built` says whether it is there.
  void set_demo_kit(const QString& kit_dir, bool built);
  // While the demo kit is being built (or waits to be), its button is off.
  void set_building(bool building);
  void set_status(const QString& text);

  QPushButton* open_button() const { return open_; }
  QPushButton* demo_button() const { return demo_; }
  QListWidget* recent_list() const { return recent_; }

 signals:
  void open_requested();
  void demo_requested();
  void study_requested();
  void recent_chosen(const QString& path);

 private:
  QPushButton* open_ = nullptr;
  QPushButton* demo_ = nullptr;
  QPushButton* study_ = nullptr;
  QLabel* demo_note_ = nullptr;
  QLabel* status_ = nullptr;
  QLabel* recent_title_ = nullptr;
  QListWidget* recent_ = nullptr;
};

}  // namespace basin::ui
