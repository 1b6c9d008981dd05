#include "adapter_panel.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <cmath>

#include "util/strings.h"

namespace basin::ui {
namespace {
enum Column { kName, kWeight, kRank, kAlpha, kModules, kSize, kBase, kColumns };
}

AdapterPanel::AdapterPanel(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);
  auto* title = new QLabel(tr("<b>Adapter set</b>"), this);
  layout->addWidget(title);
  tree_ = new QTreeWidget(this);
  tree_->setObjectName("adapter_tree");
  tree_->setColumnCount(kColumns);
  tree_->setHeaderLabels({tr("Adapter"), tr("Weight"), tr("Rank"), tr("Alpha"), tr("Modules"),
                          tr("Size"), tr("Base model")});
  tree_->setRootIsDecorated(false);
  tree_->setAlternatingRowColors(true);
  tree_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  tree_->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed |
                         QAbstractItemView::SelectedClicked);
  tree_->header()->setSectionResizeMode(QHeaderView::ResizeToContents);
  tree_->setToolTip(
      tr("Tick an adapter to include it in the analysed set. Double-click Weight to "
         "set its merge weight (blank = the method's default)."));
  layout->addWidget(tree_, 1);
  auto* buttons = new QHBoxLayout;
  auto* open = new QPushButton(tr("Open…"), this);
  auto* remove = new QPushButton(tr("Remove"), this);
  buttons->addWidget(open);
  buttons->addWidget(remove);
  buttons->addStretch(1);
  layout->addLayout(buttons);
  connect(open, &QPushButton::clicked, this, &AdapterPanel::open_requested);
  connect(remove, &QPushButton::clicked, this, &AdapterPanel::remove_selected);
  connect(tree_, &QTreeWidget::itemChanged, this, [this](QTreeWidgetItem* item, int column) {
    if (updating_) return;
    if (column == kName) emit set_changed();
    if (column == kWeight) {
      // Keep only a valid number (or blank).
      bool ok = false;
      const QString text = item->text(kWeight).trimmed();
      const double v = text.toDouble(&ok);
      updating_ = true;
      item->setText(kWeight,
                    text.isEmpty() || !ok || !std::isfinite(v) ? QString() : QString::number(v));
      updating_ = false;
      emit weights_changed();
    }
  });
}

void AdapterPanel::add(std::shared_ptr<const Adapter> a, bool included,
                       std::optional<double> weight) {
  updating_ = true;
  auto* item = new QTreeWidgetItem(tree_);
  const auto [rmin, rmax] = a->rank_range();
  item->setFlags(item->flags() | Qt::ItemIsUserCheckable | Qt::ItemIsEditable);
  item->setCheckState(kName, included ? Qt::Checked : Qt::Unchecked);
  item->setText(kName, QString::fromStdString(a->name));
  item->setToolTip(kName, QString::fromStdString(a->path.string()));
  item->setText(kWeight, weight ? QString::number(*weight) : QString());
  item->setText(kRank, rmin == rmax ? QString::number(rmin) : QString("%1–%2").arg(rmin).arg(rmax));
  item->setText(kAlpha, QString::fromStdString(format_double(a->config.lora_alpha)) +
                            (a->config.use_rslora ? " (rs)" : ""));
  item->setText(kModules, QString::number(a->modules.size()));
  item->setText(kSize, QString::fromStdString(human_bytes(static_cast<double>(a->file_bytes))));
  item->setText(kBase, QString::fromStdString(a->config.base_model_name_or_path));
  adapters_.push_back(std::move(a));
  updating_ = false;
  emit set_changed();
}

void AdapterPanel::clear() {
  tree_->clear();
  adapters_.clear();
  emit set_changed();
}

void AdapterPanel::remove_selected() {
  const auto selected = tree_->selectedItems();
  if (selected.isEmpty()) return;
  for (auto* item : selected) {
    const int i = tree_->indexOfTopLevelItem(item);
    adapters_.erase(adapters_.begin() + i);
    delete tree_->takeTopLevelItem(i);
  }
  emit set_changed();
}

int AdapterPanel::count() const {
  return static_cast<int>(adapters_.size());
}
std::shared_ptr<const Adapter> AdapterPanel::adapter(int i) const {
  return adapters_.at(static_cast<size_t>(i));
}
bool AdapterPanel::included(int i) const {
  return tree_->topLevelItem(i)->checkState(kName) == Qt::Checked;
}
void AdapterPanel::set_included(int i, bool on) {
  tree_->topLevelItem(i)->setCheckState(kName, on ? Qt::Checked : Qt::Unchecked);
}

std::optional<double> AdapterPanel::weight(int i) const {
  bool ok = false;
  const double v = tree_->topLevelItem(i)->text(kWeight).toDouble(&ok);
  return ok ? std::optional<double>(v) : std::nullopt;
}

void AdapterPanel::set_weight(int i, std::optional<double> w) {
  tree_->topLevelItem(i)->setText(kWeight, w ? QString::number(*w) : QString());
}

AdapterSet AdapterPanel::all() const {
  AdapterSet s;
  for (const auto& a : adapters_)
    s.add(a);
  return s;
}

AdapterSet AdapterPanel::included_set() const {
  AdapterSet s;
  for (int i = 0; i < count(); ++i)
    if (included(i)) s.add(adapters_[static_cast<size_t>(i)]);
  return s;
}

std::vector<double> AdapterPanel::included_weights() const {
  std::vector<double> w;
  bool any = false;
  for (int i = 0; i < count(); ++i)
    if (included(i) && weight(i)) any = true;
  if (!any) return {};
  // A blank cell next to set ones means weight 1 (stated in the Merge view).
  for (int i = 0; i < count(); ++i)
    if (included(i)) w.push_back(weight(i).value_or(1.0));
  return w;
}

}  // namespace basin::ui
