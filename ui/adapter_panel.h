// The "Adapter set" panel: every opened adapter with its rank, alpha, modules, size and base
// model; a checkbox includes it in the analysed set, the Weight column holds its merge weight.
#pragma once

#include <QWidget>

#include <memory>
#include <optional>
#include <vector>

#include "lora/adapter_set.h"

class QTreeWidget;
class QTreeWidgetItem;

namespace basin::ui {

class AdapterPanel : public QWidget {
  Q_OBJECT

 public:
  explicit AdapterPanel(QWidget* parent = nullptr);

  // Adds `a` (already checked for compatibility by the caller).
  void add(std::shared_ptr<const Adapter> a, bool included = true,
           std::optional<double> weight = {});
  void clear();
  void remove_selected();
  int count() const;
  std::shared_ptr<const Adapter> adapter(int i) const;
  bool included(int i) const;
  void set_included(int i, bool on);
  // The user's weight for adapter i; empty when the cell is blank (method default).
  std::optional<double> weight(int i) const;
  void set_weight(int i, std::optional<double> w);

  // The set of every opened adapter (for compatibility checks) and of the included ones.
  AdapterSet all() const;
  AdapterSet included_set() const;
  // Weights of the included adapters; empty if none is set (method defaults apply).
  std::vector<double> included_weights() const;

 signals:
  // The included set or a weight changed.
  void set_changed();
  void weights_changed();
  void open_requested();

 private:
  QTreeWidget* tree_ = nullptr;
  std::vector<std::shared_ptr<const Adapter>> adapters_;
  bool updating_ = false;
};

}  // namespace basin::ui
