// basin-cli: the headless peer of the GUI (links basin_core; in the GUI build also basin_ui for
// --plot, with Qt created only when a figure is drawn, offscreen when there is no display). Exit
// codes: 0 ok, 1 failure (one line naming the file/key/value), 2 usage error, 130 interrupted.
#include <c10/util/Exception.h>

#include <iostream>

#include "cli_common.h"
#include "cli_docs.h"
#include "jobs/progress.h"
#include "util/errors.h"
#include "util/runtime.h"

int main(int argc, char** argv) {
  using namespace basin::cli;
  CLI::App app{"basin-cli — merge, inspect and compare LoRA adapters (headless Basin)",
               "basin-cli"};
  app.set_version_flag("--version", std::string("basin-cli ") + BASIN_VERSION);
  app.require_subcommand(1);
  Context ctx;
  app.add_option("--threads", ctx.threads, "LibTorch threads (0 = all cores)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--device", ctx.device, "auto, cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  app.add_flag("-q,--quiet", ctx.quiet, "no progress bar");
  app.fallthrough();

  int exit_code = kOk;
  register_inspect(app, ctx, exit_code);
  register_merge(app, ctx, exit_code);
  register_similarity(app, ctx, exit_code);
  register_sample(app, ctx, exit_code);
  register_demo(app, ctx, exit_code);
  register_model_commands(app, ctx, exit_code);
  register_landscape(app, ctx, exit_code);
  register_cka(app, ctx, exit_code);
  register_studies(app, ctx, exit_code);
  register_gate(app, ctx, exit_code);
  register_docs(app, exit_code);  // hidden: the man page and bash completion

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "basin-cli: usage error: " << e.what() << "\nRun 'basin-cli --help' for usage.\n";
    return kUsage;
  } catch (const basin::jobs::Cancelled&) {
    progress().finish();
    std::cerr << "basin-cli: interrupted; nothing was written\n";
    return kInterrupted;
  } catch (const basin::Error& e) {
    progress().finish();
    std::cerr << "basin-cli: error: " << e.what() << "\n";
    return kFailure;
  } catch (const c10::Error& e) {
    progress().finish();
    std::cerr << "basin-cli: error: " << e.what_without_backtrace() << "\n";
    return kFailure;
  } catch (const std::exception& e) {
    progress().finish();
    std::cerr << "basin-cli: error: " << e.what() << "\n";
    return kFailure;
  }
  return exit_code;
}
