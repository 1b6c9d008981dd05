// The Workbench cache the landscape and gate jobs share (main_window_landscape.cpp): the base
// model with the included adapters as its LoRA bank, reused while the setup and bank stay the
// same. Touched on worker threads only, one job at a time.
#pragma once

#include <QString>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "landscape/workbench.h"
#include "lora/adapter_set.h"

namespace basin::ui {

using AdapterList = std::vector<std::shared_ptr<const Adapter>>;

struct BenchCache {
  std::mutex mutex;
  std::string key;
  std::shared_ptr<Workbench> bench;
};

std::shared_ptr<Workbench> acquire_bench(BenchCache& cache, const LandscapeSetup& setup,
                                         const AdapterList& adapters, jobs::Progress& p);
AdapterList adapter_list(const AdapterSet& set);
// Job input keys (job_runner.h). An adapter is named by its address: the job holds it while
// it runs or waits, so no other adapter can take that address meanwhile.
std::string adapters_key(const AdapterList& adapters);
std::string bench_key(const LandscapeSetup& setup, const AdapterList& adapters);

}  // namespace basin::ui
