// basin-cli inspect ADAPTER: modules, ranks, scales, norms, base model.
#include <cstdio>
#include <iostream>
#include <set>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "lora/peft_io.h"
#include "util/strings.h"

namespace basin::cli {

void register_inspect(CLI::App& app, Context& ctx, int& exit_code) {
  auto* sub =
      app.add_subcommand("inspect", "Show an adapter's modules, ranks, scales and ΔW norms");
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  sub->add_option("ADAPTER", *path, "PEFT adapter folder")->required();
  sub->add_flag("--json", *json, "machine-readable output on stdout");
  sub->callback([&ctx, &exit_code, path, json] {
    start(ctx);
    const auto a = load_peft_adapter(*path);
    const auto norms = a->delta_norms();
    const auto [rmin, rmax] = a->rank_range();
    double total_sq = 0;
    for (double n : norms)
      total_sq += n * n;
    if (*json) {
      nlohmann::ordered_json j;
      j["name"] = a->name;
      j["path"] = a->path.string();
      j["base_model"] = a->config.base_model_name_or_path;
      j["r"] = a->config.r;
      j["lora_alpha"] = a->config.lora_alpha;
      j["use_rslora"] = a->config.use_rslora;
      j["fan_in_fan_out"] = a->config.fan_in_fan_out;
      j["parameters"] = a->parameter_count();
      j["file_bytes"] = a->file_bytes;
      j["sha256"] = a->content_hash;
      j["delta_norm"] = std::sqrt(total_sq);
      j["modules"] = nlohmann::ordered_json::array();
      for (size_t i = 0; i < a->modules.size(); ++i) {
        const auto& m = a->modules[i];
        j["modules"].push_back({{"name", m.name},
                                {"out", m.out_features()},
                                {"in", m.in_features()},
                                {"rank", m.rank()},
                                {"alpha", m.alpha},
                                {"scale", m.scale},
                                {"dtype", std::string(c10::toString(m.A.scalar_type()))},
                                {"delta_norm", norms[i]}});
      }
      std::cout << j.dump(2) << "\n";
      exit_code = kOk;
      return;
    }
    std::set<std::string> leaves;
    for (const auto& m : a->modules)
      leaves.insert(leaf_name(m.name));
    std::printf("adapter     %s\n", a->name.c_str());
    std::printf("path        %s\n", a->path.string().c_str());
    std::printf("base model  %s\n", a->config.base_model_name_or_path.empty()
                                        ? "(not given)"
                                        : a->config.base_model_name_or_path.c_str());
    std::printf("r / alpha   %lld / %s%s\n", static_cast<long long>(a->config.r),
                format_double(a->config.lora_alpha).c_str(),
                a->config.use_rslora ? " (rsLoRA)" : "");
    std::printf("modules     %zu (%s), ranks %lld..%lld\n", a->modules.size(),
                join({leaves.begin(), leaves.end()}, " ").c_str(), static_cast<long long>(rmin),
                static_cast<long long>(rmax));
    std::printf("parameters  %lld (%s file)\n", static_cast<long long>(a->parameter_count()),
                human_bytes(static_cast<double>(a->file_bytes)).c_str());
    std::printf("‖ΔW‖_F      %.6g (all modules)\n", std::sqrt(total_sq));
    std::printf("sha256      %s\n\n", a->content_hash.c_str());
    std::printf("%-48s %13s %5s %8s %8s %12s\n", "module", "out x in", "rank", "alpha", "scale",
                "‖ΔW‖_F");
    for (size_t i = 0; i < a->modules.size(); ++i) {
      const auto& m = a->modules[i];
      const std::string shape =
          std::to_string(m.out_features()) + "x" + std::to_string(m.in_features());
      std::printf("%-48s %13s %5lld %8s %8s %12.6g\n", m.name.c_str(), shape.c_str(),
                  static_cast<long long>(m.rank()), format_double(m.alpha).c_str(),
                  format_double(m.scale).c_str(), norms[i]);
    }
    exit_code = kOk;
  });
}

}  // namespace basin::cli
