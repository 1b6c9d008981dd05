#include "view_support.h"

#include <qcustomplot.h>
#include <QEvent>
#include <QHeaderView>
#include <QLabel>
#include <QMenu>
#include <QTableWidget>

#include <cmath>

namespace basin::ui {

void install_export_menu(QCustomPlot* plot, QWidget* owner,
                         const std::function<void(QCustomPlot*, bool)>& on_export) {
  plot->setContextMenuPolicy(Qt::CustomContextMenu);
  QObject::connect(plot, &QWidget::customContextMenuRequested, owner,
                   [plot, on_export](const QPoint& pos) {
                     QMenu menu(plot);
                     menu.addAction(QObject::tr("Export figure (PNG/SVG/PDF)…"),
                                    [plot, on_export] { on_export(plot, false); });
                     menu.addAction(QObject::tr("Export data (CSV/JSON)…"),
                                    [plot, on_export] { on_export(plot, true); });
                     menu.exec(plot->mapToGlobal(pos));
                   });
}

namespace {

// "-0", "-0.000": a minus sign left on a value that rounded to zero.
QString drop_negative_zero(QString s) {
  if (s.startsWith('-')) {
    bool zero = true;
    for (int i = 1; i < s.size() && zero; ++i)
      zero = s[i] == '0' || s[i] == '.';
    if (zero) s.remove(0, 1);
  }
  return s;
}

// The cover of an empty plot: a label over the whole widget that follows its size.
class EmptyHint : public QLabel {
 public:
  explicit EmptyHint(QWidget* plot) : QLabel(plot) {
    setObjectName("empty_hint");
    setAlignment(Qt::AlignCenter);
    setWordWrap(true);
    setMargin(24);
    setAutoFillBackground(true);  // hides the empty axes below
    setBackgroundRole(QPalette::Base);
    QFont f = font();
    f.setPointSizeF(f.pointSizeF() * 1.15);
    setFont(f);
    setGeometry(plot->rect());
    plot->installEventFilter(this);
  }

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override {
    if (watched == parent() && event->type() == QEvent::Resize)
      setGeometry(static_cast<QWidget*>(watched)->rect());
    return false;
  }
};

}  // namespace

QString format_value(double v, int digits) {
  return std::isfinite(v) ? drop_negative_zero(QString::number(v, 'g', digits))
                          : QStringLiteral("—");
}

QString format_fixed(double v, int decimals) {
  return std::isfinite(v) ? drop_negative_zero(QString::number(v, 'f', decimals))
                          : QStringLiteral("—");
}

void set_empty_hint(QWidget* plot, const QString& text) {
  auto* hint = plot->findChild<QLabel*>("empty_hint", Qt::FindDirectChildrenOnly);
  if (text.isEmpty()) {
    if (hint) hint->hide();
    return;
  }
  if (!hint) hint = new EmptyHint(plot);
  hint->setText(text);
  hint->setGeometry(plot->rect());
  hint->show();
  hint->raise();
}

QString empty_hint(const QWidget* plot) {
  const auto* hint = plot->findChild<const QLabel*>("empty_hint", Qt::FindDirectChildrenOnly);
  return hint && !hint->isHidden() ? hint->text() : QString();
}

void fill_matrix_table(QTableWidget* table, const PairwiseMatrix& m, int decimals) {
  const int n = static_cast<int>(m.labels.size());
  table->clear();
  table->setRowCount(n);
  table->setColumnCount(n);
  QStringList names;
  for (const auto& l : m.labels)
    names << QString::fromStdString(l);
  table->setHorizontalHeaderLabels(names);
  table->setVerticalHeaderLabels(names);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      auto* item = new QTableWidgetItem(format_value(m.values(i, j), decimals));
      item->setFlags(Qt::ItemIsSelectable | Qt::ItemIsEnabled);
      item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
      table->setItem(i, j, item);
    }
  table->resizeColumnsToContents();
}

void set_elided_text(QLabel* label, const QString& text, int max_width) {
  label->setText(label->fontMetrics().elidedText(text, Qt::ElideRight, max_width));
}

}  // namespace basin::ui
