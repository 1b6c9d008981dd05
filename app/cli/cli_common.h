// Shared pieces of basin-cli: the terminal progress bar, output helpers, exit codes.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "jobs/progress.h"

namespace basin::cli {

enum ExitCode { kOk = 0, kFailure = 1, kUsage = 2, kInterrupted = 130 };

// Global options and the progress sink every command uses.
struct Context {
  int threads = 0;
  std::string device = "auto";
  std::string precision = "fp32";
  bool quiet = false;
};

// Progress bar on stderr, drawn only when stderr is a terminal (and not --quiet).
class TerminalProgress : public jobs::Progress {
 public:
  explicit TerminalProgress(bool enabled);
  ~TerminalProgress() override;
  void finish();
  void request_quiet() {
    enabled_ = false;
    lines_ = false;
  }
  // Under mpirun: `relay` sees every report first and may replace the fraction with the
  // job's (rank 0); when it returns false nothing is drawn (the other ranks). `lines`: print
  // a line at every tenth of the job instead of a bar, for a stderr that is not a terminal.
  void set_relay(std::function<bool(double& fraction)> relay, bool lines);
  // Draws `fraction` of the job with the last stage, bypassing the relay.
  void show(double fraction);

 protected:
  void on_report(double fraction, const std::string& stage) override;

 private:
  void draw(double fraction, const std::string& stage);

  bool enabled_;
  bool drawn_ = false;
  bool lines_ = false;
  int last_tenth_ = -1;
  std::string stage_;
  std::function<bool(double&)> relay_;
};

// The progress of the running command; SIGINT requests its cancel.
TerminalProgress& progress();
void install_interrupt_handler();
// A Progress that Ctrl-C cancels directly (up to 16 at once); unregister before it is destroyed.
void register_cancel_slice(jobs::Progress* p);
void unregister_cancel_slice(jobs::Progress* p);

// The check of every -o/--output: the output can be written (check_output_location), or it is
// "-" (standard output). It runs while the command line is parsed, so a read-only, full or
// missing folder is refused before any work, and it throws InputError (exit 1, as for any bad
// input) rather than reporting a usage error.
const CLI::Validator& writable_output();

// Writes text to `path` atomically, or to stdout when path is empty or "-".
void write_output(const std::string& path, const std::string& text);

// Parses "0.5,0.25,-1" into numbers; throws InputError naming the bad entry.
std::vector<double> parse_number_list(const std::string& text, const std::string& what);

// Each subcommand registers itself; the callback runs the command and returns an exit code.
void register_inspect(CLI::App& app, Context& ctx, int& exit_code);
void register_merge(CLI::App& app, Context& ctx, int& exit_code);
void register_similarity(CLI::App& app, Context& ctx, int& exit_code);
void register_sample(CLI::App& app, Context& ctx, int& exit_code);
void register_demo(CLI::App& app, Context& ctx, int& exit_code);
// tokenize, generate, embed, train-lora (the model engine).
void register_model_commands(CLI::App& app, Context& ctx, int& exit_code);
// sweep, connectivity, surface (loss landscapes).
void register_landscape(CLI::App& app, Context& ctx, int& exit_code);
void register_cka(CLI::App& app, Context& ctx, int& exit_code);
// multitask, soup (the merge studies).
void register_studies(CLI::App& app, Context& ctx, int& exit_code);
// gate train | inspect (MoLE, Mixture-of-LoRAs router, Arrow).
void register_gate(CLI::App& app, Context& ctx, int& exit_code);

}  // namespace basin::cli

namespace basin::cli {
// Applies the global options (threads, device, quiet); every command calls it first. Under
// mpirun only `distributable` commands run (start_distributed in distributed.h); the others
// are refused. There, each rank's default thread count is its share of the node's cores.
void start(const Context& ctx, bool distributable = false);
}  // namespace basin::cli
