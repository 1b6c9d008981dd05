// A generated set of PEFT adapters at real model shapes, used as the built-in default until
// the demo kit (trained adapters) exists, and by tests and benchmarks. The factors are random
// but structured: adapter i shares a fraction of its directions with a common component, so
// the cosine similarities are graded rather than all ≈ 0. They are NOT trained adapters.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "jobs/progress.h"
#include "lora/adapter.h"

namespace basin {

// Projection shapes of one decoder layer of a Qwen2-family model.
struct ModelShape {
  std::string name;          // "qwen2-0.5b", "qwen2-1.5b", "tiny"
  int64_t hidden = 0;        // d_model
  int64_t intermediate = 0;  // MLP width
  int64_t kv_dim = 0;        // n_kv_heads · head_dim
  int layers = 0;
};

// Known shapes: qwen2-0.5b (896/4864/128, 24 layers), qwen2-1.5b (1536/8960/256, 28),
// tiny (64/128/32, 2). Throws InputError listing them for an unknown name.
ModelShape model_shape(const std::string& name);
std::vector<std::string> model_shape_names();

// The seven projections of one layer: name -> (out, in).
std::vector<std::pair<std::string, std::pair<int64_t, int64_t>>> layer_projections(
    const ModelShape& shape, int layer);

struct SampleSetOptions {
  std::string shape = "qwen2-0.5b";             // see model_shape()
  int adapters = 4;                             // number of adapters
  std::vector<int64_t> ranks = {8, 8, 16, 16};  // rank per adapter (cycled)
  int layers = 0;                               // layers to cover; 0 = all of the shape's
  double shared = 0.6;  // weight of the common component in adapter 0..N-1 (decays)
  uint64_t seed = 0;
};

// Name of adapter `index` of a sample set: "sample-a", "sample-b", ...
std::string sample_adapter_name(int index);

// Builds adapter `index` of the set in memory (named by sample_adapter_name).
Adapter make_sample_adapter(const SampleSetOptions& options, int index);

// Writes options.adapters PEFT folders under `dir` (created if needed); returns their paths.
std::vector<std::filesystem::path> write_sample_set(const std::filesystem::path& dir,
                                                    const SampleSetOptions& options,
                                                    jobs::Progress& progress);

}  // namespace basin
