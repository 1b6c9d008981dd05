// What every landscape analysis needs, assembled once: the base model with the adapters as its
// LoRA bank, the tokenizer, and the evaluation set built from task specs. Shared by basin-cli
// and the GUI so both score exactly the same examples.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <nlohmann/json_fwd.hpp>

#include "data/task.h"
#include "jobs/progress.h"
#include "landscape/points.h"
#include "lora/adapter.h"
#include "model/causal_lm.h"
#include "text/tokenizer.h"

namespace basin {

// Where the evaluation comes from (stored in the study file).
struct LandscapeSetup {
  std::filesystem::path model;               // Hugging Face folder with tokenizer.json
  std::vector<std::filesystem::path> tasks;  // task spec files
  std::string split = "validation";
  size_t limit = 32;  // examples per task (0 = all)
  // The evaluation arithmetic the results were computed in (eval_precision_name(): "fp32" or
  // "bf16"); recorded, not applied: the caller sets the runtime's precision.
  std::string precision = "fp32";

  nlohmann::json to_json() const;
  static LandscapeSetup from_json(const nlohmann::json& j);
};

// The model folder named by an adapter's base_model_name_or_path when it is a path to a folder
// with config.json (absolute, or relative to the adapter folder, its parent or the current
// folder); empty otherwise.
std::filesystem::path resolve_base_model(const Adapter& adapter);

// Prompt + answer + EOS sequences of the first `limit` rows of each task's split.
EvalSet build_eval_set(const std::vector<TaskSpec>& tasks, const Tokenizer& tok, int64_t eos,
                       const std::string& split, size_t limit);

// ⟨θ_i, θ_j⟩_F summed over modules, from the factors (for loss surfaces).
Eigen::MatrixXd bank_gram(const std::vector<std::shared_ptr<const Adapter>>& adapters,
                          jobs::Progress& progress);

struct Workbench {
  CausalLM model;
  Tokenizer tokenizer;
  std::vector<TaskSpec> tasks;
  std::vector<std::shared_ptr<const Adapter>> adapters;  // the bank, in order
  std::vector<std::string> labels;                       // adapter names
  EvalSet data;

  // Loads the model (CPU or CUDA per runtime), the tokenizer and tasks, installs the bank and
  // builds the evaluation set. Throws InputError naming the file at fault.
  static std::unique_ptr<Workbench> open(const LandscapeSetup& setup,
                                         std::vector<std::shared_ptr<const Adapter>> adapters,
                                         jobs::Progress& progress);
  PointEvaluator evaluator(int64_t max_rows = 64, EvalRoute route = EvalRoute::kBank) const {
    return {model, data, max_rows, route};
  }
};

}  // namespace basin
