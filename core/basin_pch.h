// Precompiled header for basin_core and the test/bench programs that reuse it.
// Only .cpp files get this; public headers include <ATen/core/Tensor.h> at most.
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>
