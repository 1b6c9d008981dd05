// basin: the desktop application.
#include <QApplication>
#include <QCommandLineParser>

#include "main_window.h"
#include "util/runtime.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName("Basin");
  QApplication::setOrganizationName("Basin");
  QApplication::setApplicationVersion(BASIN_VERSION);
  QCommandLineParser parser;
  parser.setApplicationDescription("Basin — LoRA merges and loss landscapes");
  parser.addHelpOption();
  parser.addVersionOption();
  parser.addPositionalArgument("adapters", "PEFT adapter folders to open", "[ADAPTER...]");
  parser.process(app);
  basin::init_runtime();
  basin::ui::MainWindow w;
  w.show();
  if (!parser.positionalArguments().isEmpty()) w.open_adapters(parser.positionalArguments());
  return app.exec();
}
