#include "plot_style.h"

#include <qcustomplot.h>
#include <QApplication>
#include <QBuffer>
#include <QFileInfo>
#include <QPalette>
#include <QSaveFile>
#include <QStyleFactory>
#include <QSvgGenerator>
#include <QTemporaryFile>

namespace basin::ui {

ThemeColors theme_colors(Theme t) {
  switch (t) {
    case Theme::Dark:
      return {QColor(0x23, 0x26, 0x2b), QColor(0xe6, 0xe6, 0xe6), QColor(0x44, 0x48, 0x50),
              QColor(0x4f, 0xb3, 0xff)};
    case Theme::Publication:
      return {Qt::white, Qt::black, QColor(0xdd, 0xdd, 0xdd), QColor(0x1f, 0x77, 0xb4)};
    case Theme::Light:
    default:
      return {QColor(0xfb, 0xfb, 0xfb), QColor(0x20, 0x20, 0x20), QColor(0xe0, 0xe0, 0xe0),
              QColor(0x1f, 0x77, 0xb4)};
  }
}

namespace {
void style_axis(QCPAxis* a, const ThemeColors& c, const QFont& font) {
  a->setBasePen(QPen(c.foreground));
  a->setTickPen(QPen(c.foreground));
  a->setSubTickPen(QPen(c.foreground));
  a->setTickLabelColor(c.foreground);
  a->setLabelColor(c.foreground);
  a->setTickLabelFont(font);
  a->setLabelFont(font);
  a->grid()->setPen(QPen(c.grid, 0, Qt::DotLine));
  a->grid()->setZeroLinePen(QPen(c.grid));
}
}  // namespace

void apply_plot_theme(QCustomPlot* plot, Theme theme) {
  const auto c = theme_colors(theme);
  QFont font = plot->font();
  font.setPointSizeF(theme == Theme::Publication ? 10 : 9);
  plot->setBackground(QBrush(c.background));
  for (auto* ax : plot->axisRect()->axes())
    style_axis(ax, c, font);
  for (int i = 0; i < plot->plotLayout()->elementCount(); ++i) {
    if (auto* scale = qobject_cast<QCPColorScale*>(plot->plotLayout()->elementAt(i)))
      style_axis(scale->axis(), c, font);
    if (auto* title = qobject_cast<QCPTextElement*>(plot->plotLayout()->elementAt(i))) {
      title->setTextColor(c.foreground);
      QFont tf = font;
      tf.setPointSizeF(font.pointSizeF() + 1);
      tf.setBold(true);
      title->setFont(tf);
    }
  }
  if (plot->legend) {
    plot->legend->setBrush(QBrush(c.background));
    plot->legend->setTextColor(c.foreground);
    plot->legend->setBorderPen(QPen(c.grid));
    plot->legend->setFont(font);
  }
  for (int i = 0; i < plot->itemCount(); ++i)
    if (auto* t = qobject_cast<QCPItemText*>(plot->item(i))) {
      // Cell labels pick their own contrast colour; other texts follow the theme.
      if (!t->property("basin_cell").toBool()) t->setColor(c.foreground);
    }
}

void place_legend_below(QCustomPlot* plot, int columns) {
  QCPLegend* legend = plot->legend;
  if (!legend) return;
  if (legend->layout() != plot->plotLayout()) {
    const int row = plot->plotLayout()->rowCount();
    plot->plotLayout()->addElement(row, 0, legend);       // takes it out of the inset layout
    plot->plotLayout()->setRowStretchFactor(row, 0.001);  // as tall as its entries, no more
    legend->setMargins(QMargins(6, 3, 6, 3));
  }
  const int n = std::max(1, legend->itemCount());
  // The wrap must be set before the fill order (QCPLegend re-flows on setFillOrder).
  legend->setWrap(columns > 0 ? columns : std::min(n, 4));
  legend->setFillOrder(QCPLegend::foColumnsFirst, true);
}

void apply_app_theme(QApplication& app, Theme theme) {
  app.setStyle(QStyleFactory::create("Fusion"));
  if (theme != Theme::Dark) {
    app.setPalette(app.style()->standardPalette());
    return;
  }
  QPalette p;
  const auto c = theme_colors(Theme::Dark);
  p.setColor(QPalette::Window, QColor(0x2b, 0x2e, 0x33));
  p.setColor(QPalette::WindowText, c.foreground);
  p.setColor(QPalette::Base, c.background);
  p.setColor(QPalette::AlternateBase, QColor(0x30, 0x33, 0x38));
  p.setColor(QPalette::Text, c.foreground);
  p.setColor(QPalette::Button, QColor(0x33, 0x36, 0x3c));
  p.setColor(QPalette::ButtonText, c.foreground);
  p.setColor(QPalette::Highlight, c.accent);
  p.setColor(QPalette::HighlightedText, Qt::black);
  p.setColor(QPalette::ToolTipBase, c.background);
  p.setColor(QPalette::ToolTipText, c.foreground);
  p.setColor(QPalette::Disabled, QPalette::Text, QColor(0x80, 0x80, 0x80));
  p.setColor(QPalette::Disabled, QPalette::ButtonText, QColor(0x80, 0x80, 0x80));
  app.setPalette(p);
}

FigureFormat figure_format_for(const QString& path) {
  const QString ext = QFileInfo(path).suffix().toLower();
  if (ext == "svg") return FigureFormat::Svg;
  if (ext == "pdf") return FigureFormat::Pdf;
  return FigureFormat::Png;
}

QString write_text_file(const QString& path, const QByteArray& bytes) {
  QSaveFile f(path);
  if (!f.open(QIODevice::WriteOnly))
    return QObject::tr("Cannot write '%1': %2").arg(path, f.errorString());
  f.write(bytes);
  if (!f.commit()) return QObject::tr("Cannot write '%1': %2").arg(path, f.errorString());
  return {};
}

QString export_figure(QCustomPlot* plot, const QString& path, int width, int height, int dpi,
                      Theme restore_theme) {
  apply_plot_theme(plot, Theme::Publication);
  plot->replot(QCustomPlot::rpImmediateRefresh);
  QString error;
  const auto format = figure_format_for(path);
  if (format == FigureFormat::Png) {
    const double scale = std::max(0.25, dpi / 96.0);
    const QPixmap px = plot->toPixmap(width, height, scale);
    QImage img = px.toImage();
    img.setDotsPerMeterX(static_cast<int>(dpi / 0.0254));
    img.setDotsPerMeterY(static_cast<int>(dpi / 0.0254));
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly) || !img.save(&f, "PNG") || !f.commit())
      error = QObject::tr("Cannot write '%1': %2").arg(path, f.errorString());
  } else if (format == FigureFormat::Svg) {
    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    QSvgGenerator gen;
    gen.setOutputDevice(&buffer);
    gen.setSize(QSize(width, height));
    gen.setViewBox(QRect(0, 0, width, height));
    gen.setTitle(QStringLiteral("Basin figure"));
    {
      QCPPainter painter(&gen);
      plot->toPainter(&painter, width, height);
    }
    error = write_text_file(path, buffer.data());
  } else {
    // QCustomPlot writes the PDF itself: render to a temporary name beside it, then rename.
    const QFileInfo info(path);
    QTemporaryFile tmp(info.absolutePath() + "/.basin-XXXXXX.pdf");
    if (!tmp.open()) {
      error = QObject::tr("Cannot write in '%1'").arg(info.absolutePath());
    } else {
      tmp.close();
      if (!plot->savePdf(tmp.fileName(), width, height, QCP::epNoCosmetic)) {
        error = QObject::tr("Cannot write '%1'").arg(path);
      } else {
        QFile::remove(path);
        if (!QFile::rename(tmp.fileName(), path))
          error = QObject::tr("Cannot write '%1'").arg(path);
        else
          tmp.setAutoRemove(false);
      }
    }
  }
  apply_plot_theme(plot, restore_theme);
  plot->replot();
  return error;
}

}  // namespace basin::ui
