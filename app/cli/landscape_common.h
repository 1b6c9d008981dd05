// Shared pieces of the landscape commands (sweep, connectivity, surface, cka, multitask, soup):
// the evaluation options, adapter loading with "base" as the zero point, progress phases and
// the output switches (--json, --csv, -o, --plot).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "analysis/pairwise_matrix.h"
#include "cli_common.h"
#include "landscape/points.h"
#include "landscape/workbench.h"
#include "lora/adapter.h"

namespace basin::cli {

// --model, --tasks, --split, --limit.
struct EvalArgs {
  std::string model;
  std::vector<std::string> tasks;
  std::string split = "validation";
  size_t limit = 32;
};
// `models_follow`: the command takes models as positional arguments (see take_models_from_tasks).
void add_eval_options(CLI::App* sub, EvalArgs& a, const std::string& what_split,
                      bool models_follow = true);
LandscapeSetup to_setup(const EvalArgs& a);
// CLI11 gives every word after --tasks to --tasks, so "--tasks t.json A B" would eat the models:
// entries that are not task specs (neither an existing file nor "*.json") move to `models`.
void take_models_from_tasks(std::vector<std::string>& tasks, std::vector<std::string>& models);
// Checks the model folder (config.json, tokenizer.json) and the task files exist; the messages
// name the path.
void check_eval_inputs(const EvalArgs& a);

// --json, --csv, -o, --plot.
struct OutputArgs {
  bool json = false;
  bool csv = false;
  std::string output;
  std::string plot;
};
void add_output_options(CLI::App* sub, OutputArgs& o, const std::string& plot_help);

// A slice [begin, end] of the command's progress bar, as a Progress a core call can take.
// A Ctrl-C on the command reaches the slice at its next report.
class Phase : public jobs::Progress {
 public:
  Phase(double begin, double end) : begin_(begin), end_(end) { register_cancel_slice(this); }
  ~Phase() override { unregister_cancel_slice(this); }
  Phase(const Phase&) = delete;
  Phase& operator=(const Phase&) = delete;

 protected:
  void on_report(double fraction, const std::string& stage) override;

 private:
  double begin_, end_;
};

// Whether a model argument names the base model (the zero point) rather than an adapter.
bool is_base(const std::string& arg);

// Loads PEFT adapter folders (progress on `phase`); each error names the folder.
std::vector<std::shared_ptr<const Adapter>> load_adapters(const std::vector<std::string>& dirs,
                                                          jobs::Progress& phase);

// Models named on the command line, "base" or adapter folders: the adapters become the bank
// (each folder once, in order) and every argument an endpoint (one-hot or zero).
struct ModelArgs {
  std::vector<std::shared_ptr<const Adapter>> bank;
  std::vector<size_t> slot;  // per argument: bank index, or npos for "base"
};
ModelArgs resolve_models(const std::vector<std::string>& args, jobs::Progress& phase);
// The endpoints of `m` with the workbench's labels ("base" for the zero point).
std::vector<Endpoint> endpoints_for(const ModelArgs& m, const std::vector<std::string>& labels);

// A plain-text table of a matrix: labels on both sides, `digits` decimals, "—" for NaN.
std::string format_matrix(const PairwiseMatrix& m, int digits = 4);
// Smallest and largest finite entry (0, 1 when there is none; widened when they coincide).
std::pair<double, double> finite_range(const PairwiseMatrix& m);

}  // namespace basin::cli
