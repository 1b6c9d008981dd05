// The adapters the PEFT parity tests work by hand: one [2 × 2] module of rank 1, r = 1, so the
// scale is alpha (ΔW = alpha · B A).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "lora/adapter.h"

namespace basin::test {

inline const std::string kRank1Module = "model.layers.0.mlp.up_proj";

inline std::shared_ptr<Adapter> rank1_adapter(const std::string& name, std::vector<float> a,
                                              std::vector<float> b, double alpha,
                                              const std::string& module = kRank1Module) {
  auto ad = std::make_shared<Adapter>();
  ad->name = name;
  ad->config.r = 1;
  ad->config.lora_alpha = alpha;
  LoraModule m;
  m.name = module;
  m.A = at::tensor(a).view({1, 2});
  m.B = at::tensor(b).view({2, 1});
  m.alpha = alpha;
  m.scale = alpha;
  ad->modules.push_back(m);
  return ad;
}

}  // namespace basin::test
