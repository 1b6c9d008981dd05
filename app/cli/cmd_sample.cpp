// basin-cli sample -o DIR: writes a generated (untrained) adapter set at real model shapes.
#include <cstdio>

#include "cli_common.h"
#include "sample/sample_adapters.h"
#include "util/errors.h"

namespace basin::cli {

void register_sample(CLI::App& app, Context& ctx, int& exit_code) {
  auto* sub = app.add_subcommand("sample",
                                 "Write a generated sample adapter set (random, structured; not "
                                 "trained) at real model shapes");
  struct Args {
    std::string out, ranks = "8,8,16,16";
    SampleSetOptions o;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("-o,--output", a->out, "folder to create the adapter folders in")
      ->required()
      ->check(writable_output());
  sub->add_option("--shape", a->o.shape, "qwen2-0.5b, qwen2-1.5b or tiny")
      ->check(CLI::IsMember(model_shape_names()));
  sub->add_option("-n,--adapters", a->o.adapters, "number of adapters")->check(CLI::Range(1, 64));
  sub->add_option("--ranks", a->ranks, "comma-separated ranks, cycled over the adapters");
  sub->add_option("--layers", a->o.layers, "layers to cover (0 = all)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--seed", a->o.seed, "random seed");
  sub->callback([&ctx, &exit_code, a] {
    start(ctx);
    a->o.ranks.clear();
    for (double r : parse_number_list(a->ranks, "--ranks")) {
      if (r <= 0 || r != static_cast<int64_t>(r))
        throw InputError("--ranks: every rank must be a positive integer, got " +
                         std::to_string(r));
      a->o.ranks.push_back(static_cast<int64_t>(r));
    }
    const auto paths = write_sample_set(a->out, a->o, progress());
    progress().finish();
    for (const auto& p : paths)
      std::printf("%s\n", p.string().c_str());
    exit_code = kOk;
  });
}

}  // namespace basin::cli
