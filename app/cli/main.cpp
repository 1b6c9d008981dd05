// basin-cli: the headless peer of the GUI (links basin_core; in the GUI build also basin_ui for
// --plot, with Qt created only when a figure is drawn, offscreen when there is no display). Exit
// codes: 0 ok, 1 failure (one line naming the file/key/value), 2 usage error, 130 interrupted.
#include <c10/util/Exception.h>

#include <iostream>

#include "cli_common.h"
#include "cli_docs.h"
#include "distributed.h"
#include "jobs/progress.h"
#include "mpi_world.h"
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
  app.add_option("--device", ctx.device,
                 "auto (a CUDA GPU when LibTorch sees one, else the CPU), cpu, cuda or cuda:N; "
                 "under mpirun, auto and cuda give the ranks on a host its GPUs in turn")
      ->check(CLI::Validator(
          [](std::string& s) {
            try {
              basin::parse_device(s);
              return std::string();
            } catch (const std::exception& e) {
              return std::string(e.what());
            }
          },
          // Read as IsMember's "{...}" by the completion (cli_docs); cuda:N is typed out.
          "{auto,cpu,cuda}"));
  app.add_option("--precision", ctx.precision,
                 "evaluation arithmetic: fp32, or bf16 (autocast mixed precision: bfloat16 "
                 "matrix products, float32 accumulation; docs/MODELS.md)")
      ->check(CLI::IsMember({"fp32", "bf16"}));
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
  register_gather(app, ctx, exit_code);
  register_docs(app, exit_code);  // hidden: the man page and bash completion

  // Under mpirun every rank keeps its outcome for the job's end (distributed.h): rank 0 alone
  // prints, after the ranks have exchanged theirs.
  std::string message;
  int code = kOk;
  try {
    basin::cli::mpi::init(&argc, &argv);
    app.parse(argc, argv);
    code = exit_code;
  } catch (const CLI::CallForHelp& e) {
    mpi::finalize();
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    mpi::finalize();
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    mpi::finalize();
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    code = kUsage;
    message = std::string("usage error: ") + e.what() + "\nRun 'basin-cli --help' for usage.";
  } catch (const basin::jobs::Cancelled&) {
    code = kInterrupted;
    message = "interrupted; nothing was written";
  } catch (const basin::Error& e) {
    code = kFailure;
    message = std::string("error: ") + e.what();
  } catch (const c10::Error& e) {
    code = kFailure;
    message = std::string("error: ") + e.what_without_backtrace();
  } catch (const std::exception& e) {
    code = kFailure;
    message = std::string("error: ") + e.what();
  }
  if (mpi::active()) {
    code = conclude_mpi(code, message);
    mpi::finalize();
    return code;
  }
  mpi::finalize();
  if (code != kOk && !message.empty()) {
    progress().finish();
    std::cerr << "basin-cli: " << message << "\n";
  }
  return code;
}
