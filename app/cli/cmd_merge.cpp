// basin-cli merge --method M [options] ADAPTER... -o OUT
#include <chrono>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "lora/adapter_set.h"
#include "lora/peft_io.h"
#include "merge/merge.h"
#include "merge/peft_compat.h"
#include "util/errors.h"
#include "util/strings.h"

namespace basin::cli {
namespace {

struct MergeArgs {
  std::vector<std::string> adapters;
  std::string output;
  std::string method;
  std::string weights;
  int64_t rank = 0;
  double density = 1.0;
  std::string majority_sign = "total";
  uint64_t seed = 0;
  double clamp = 0.0;
  bool peft_compat = false;
  std::string name;
  std::string dtype = "f32";
  bool force = false;
  bool json = false;
};

DType parse_storage_dtype(const std::string& s) {
  if (s == "f32") return DType::F32;
  if (s == "f16") return DType::F16;
  if (s == "bf16") return DType::BF16;
  if (s == "f64") return DType::F64;
  throw InputError("unknown --dtype '" + s + "' (expected f32, f16, bf16 or f64)");
}

}  // namespace

void register_merge(CLI::App& app, Context& ctx, int& exit_code) {
  auto* sub = app.add_subcommand("merge", "Merge adapters with one method and save a PEFT adapter");
  auto a = std::make_shared<MergeArgs>();
  sub->add_option("ADAPTER", a->adapters, "PEFT adapter folders")->required();
  sub->add_option("-o,--output", a->output, "output folder (created atomically)")
      ->required()
      ->check(writable_output());
  sub->add_option("-m,--method", a->method,
                  "cat, linear, task_arithmetic, svd, ties, dare_linear, dare_ties, "
                  "magnitude_prune; with --peft-compat also PEFT's ties_svd, dare_linear_svd, "
                  "dare_ties_svd, magnitude_prune_svd")
      ->required()
      ->check(CLI::IsMember(method_names()));
  sub->add_option("-w,--weights", a->weights,
                  "comma-separated weight per adapter (default: 1/N for linear and svd, else 1); "
                  "a negative weight subtracts in cat, task_arithmetic, svd and the trim/drop "
                  "methods (write --weights=-1,1), but not in linear, where it enters squared "
                  "on its own term: use task_arithmetic to subtract");
  sub->add_option("-r,--rank", a->rank, "target rank (default: max r_i for svd, Σ r_i otherwise)");
  sub->add_option("-d,--density", a->density,
                  "fraction kept by ties/dare/magnitude_prune, in (0, 1]");
  sub->add_option("--majority-sign", a->majority_sign, "TIES sign election: total or frequency")
      ->check(CLI::IsMember({"total", "frequency"}));
  sub->add_option("--seed", a->seed, "seed of the DARE drop masks");
  sub->add_option("--clamp", a->clamp,
                  "svd/task_arithmetic (and *_svd): clamp factor entries at this quantile, (0, 1]");
  sub->add_flag("--peft-compat", a->peft_compat,
                "reproduce PEFT 0.19-0.20 add_weighted_adapter's numbers, with a warning where "
                "PEFT's own merged adapter would differ");
  sub->add_option("--name", a->name, "name recorded for the merged adapter");
  sub->add_option("--dtype", a->dtype, "storage dtype: f32 (default), f16, bf16, f64")
      ->check(CLI::IsMember({"f32", "f16", "bf16", "f64"}));
  sub->add_flag("-f,--force", a->force, "replace an existing output folder");
  sub->add_flag("--json", a->json, "print a JSON summary on stdout");

  sub->callback([&ctx, &exit_code, a, sub] {
    start(ctx);
    MergeRecipe recipe;
    recipe.method = parse_method(a->method);
    if (!a->weights.empty()) recipe.weights = parse_number_list(a->weights, "--weights");
    if (sub->count("--rank") && a->rank <= 0)
      throw InputError("--rank must be positive, got " + std::to_string(a->rank));
    recipe.rank = a->rank;
    recipe.density = a->density;
    recipe.majority_sign = parse_majority_sign(a->majority_sign);
    recipe.seed = a->seed;
    if (sub->count("--clamp")) recipe.clamp = a->clamp;
    recipe.peft_compat = a->peft_compat;
    recipe.name = a->name;
    const DType dtype = parse_storage_dtype(a->dtype);
    recipe.validate(a->adapters.size());
    if (!a->force && std::filesystem::exists(a->output) &&
        !(std::filesystem::is_directory(a->output) && std::filesystem::is_empty(a->output)))
      throw InputError("output '" + a->output + "' exists (use --force to replace it)");

    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::filesystem::path> dirs(a->adapters.begin(), a->adapters.end());
    jobs::SubProgress load_part(progress(), 0.0, 0.1);
    AdapterSet set;
    for (size_t i = 0; i < dirs.size(); ++i) {
      progress().check_cancelled();
      load_part.report(double(i) / dirs.size(), "loading " + dirs[i].filename().string());
      for (const auto& w : set.add(load_peft_adapter(dirs[i])))
        std::cerr << "basin-cli: warning: " << w << "\n";
    }
    // Where PEFT's add_weighted_adapter would differ from what is written (MERGING.md §4).
    const std::vector<std::string> notes =
        recipe.peft_compat ? peft_plan(set, recipe).notes : std::vector<std::string>{};
    for (const auto& note : notes)
      std::cerr << "basin-cli: warning: --peft-compat: " << note << "\n";
    Adapter merged = merge(set, recipe, progress());
    if (merged.name.empty()) merged.name = std::filesystem::path(a->output).filename().string();
    progress().check_cancelled();
    SaveOptions so;
    so.overwrite = a->force;
    so.dtype = dtype;
    so.metadata = merged.metadata;
    save_peft_adapter(merged, a->output, so);
    progress().finish();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const auto [rmin, rmax] = merged.rank_range();
    const auto norms = merged.delta_norms();
    double sq = 0;
    for (double n : norms)
      sq += n * n;
    if (a->json) {
      nlohmann::ordered_json j;
      j["output"] = a->output;
      j["recipe"] = recipe.to_json();
      j["recipe"]["weights"] = recipe.effective_weights(set.size());
      j["inputs"] = set.names();
      j["modules"] = merged.modules.size();
      j["rank_min"] = rmin;
      j["rank_max"] = rmax;
      j["delta_norm"] = std::sqrt(sq);
      j["seconds"] = seconds;
      j["peft_notes"] = notes;
      std::cout << j.dump(2) << "\n";
    } else {
      std::printf("merged %zu adapters with %s into %s\n", set.size(), method_name(recipe.method),
                  a->output.c_str());
      std::printf("modules %zu, rank %lld..%lld, ‖ΔW‖_F %.6g, %.2f s\n", merged.modules.size(),
                  static_cast<long long>(rmin), static_cast<long long>(rmax), std::sqrt(sq),
                  seconds);
    }
    exit_code = kOk;
  });
}

}  // namespace basin::cli
