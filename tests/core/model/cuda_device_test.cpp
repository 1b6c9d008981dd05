// Computing on a CUDA device against the same computation on the CPU: a model loaded onto the
// GPU with a LoRA bank (logits, hidden states, greedy decoding), and merges whose inputs are on
// the GPU (the low-rank and the dense routes). Every test is skipped where LibTorch sees no CUDA
// device (Debian's LibTorch is CPU-only); scripts/build-cuda.sh builds and runs them against a
// CUDA LibTorch (docs/PERFORMANCE.md, "On a GPU").
//
// Tolerances: the two devices run the same float32 arithmetic with other kernels (other
// summation orders; TF32 is off for matmuls by LibTorch's default), so results agree to a few
// float32 roundings per accumulated product: relative 1e-4 on logits of this 2-layer model
// (each logit passes through ~10 products of length ≤ 64: 64·10·2⁻²⁴ ≈ 4e-5 of the
// activations' scale), 1e-5 on a merged ΔW (one GEMM of length ≤ 64 and a float64 SVD).
#include <gtest/gtest.h>

#include "jobs/progress.h"
#include "lora/adapter.h"
#include "lora/adapter_set.h"
#include "merge/merge.h"
#include "model/causal_lm.h"
#include "model/generate.h"
#include "naive_lm.h"
#include "test_support.h"
#include "util/runtime.h"

using namespace basin;

namespace {

bool skip_without_cuda() {
  return !cuda_available();
}

at::Tensor delta(const LoraModule& m) {
  return m.B.to(torch::kCPU, torch::kFloat64).mm(m.A.to(torch::kCPU, torch::kFloat64)) * m.scale;
}

}  // namespace

TEST(Cuda, ModelLoadedOnTheGpuWithABankGivesTheCpusLogitsAndTokens) {
  if (skip_without_cuda()) GTEST_SKIP() << "LibTorch sees no CUDA device";
  test::TempDir dir;
  test::tiny_decoder(test::tiny_decoder_config("qwen2", false), 7).save(dir / "m");
  CausalLM cpu = CausalLM::load(dir / "m", "cpu");
  CausalLM gpu = CausalLM::load(dir / "m", "cuda:0");
  ASSERT_TRUE(gpu.parameters().at("model.embed_tokens.weight").is_cuda());
  const std::vector<std::shared_ptr<const Adapter>> bank{test::random_lora(cpu, "a", 2, 2.0, 1),
                                                         test::random_lora(cpu, "b", 4, 8.0, 2)};
  cpu.set_lora_bank(bank);
  gpu.set_lora_bank(bank);
  const auto ids = torch::tensor(std::vector<int64_t>{3, 9, 1, 4, 1, 5, 9, 2}).view({2, 4});
  CausalLM::ForwardOptions o;
  o.lora_coeffs = torch::tensor(std::vector<float>{0.25f, 0.75f, 1.0f, 0.0f}).view({2, 2});
  o.output_layer = 1;
  const auto want = cpu.forward(ids, o);
  const auto got = gpu.forward(ids, o);  // CPU inputs: the model moves them
  ASSERT_TRUE(got.logits.is_cuda());
  EXPECT_LT(test::rel_err(got.logits.cpu(), want.logits), 1e-4);
  EXPECT_LT(test::rel_err(got.hidden.cpu(), want.hidden), 1e-4);
  GenerateOptions g;
  g.max_new_tokens = 6;
  g.lora_coeffs = o.lora_coeffs;
  EXPECT_EQ(greedy_generate(gpu, ids, g), greedy_generate(cpu, ids, g));
}

TEST(Cuda, MergesOfGpuInputsGiveTheCpusMergeOnTheGpu) {
  if (skip_without_cuda()) GTEST_SKIP() << "LibTorch sees no CUDA device";
  std::vector<MergeInput> cpu, gpu;
  for (uint64_t i = 0; i < 3; ++i) {
    const auto A = test::randn({4, 48}, 10 + 2 * i), B = test::randn({40, 4}, 11 + 2 * i);
    cpu.push_back({A, B, 2.0, 0.5 + 0.25 * double(i), 1000 + i});
    gpu.push_back({A.cuda(), B.cuda(), 2.0, 0.5 + 0.25 * double(i), 1000 + i});
  }
  for (const char* method : {"svd", "task_arithmetic", "cat", "ties", "dare_ties"}) {
    MergeRecipe recipe;
    recipe.method = parse_method(method);
    recipe.rank = 6;
    if (uses_density(recipe.method)) recipe.density = 0.3;
    const LoraModule want = merge_module("m", cpu, recipe);
    const LoraModule got = merge_module("m", gpu, recipe);
    EXPECT_TRUE(got.A.is_cuda()) << method;
    EXPECT_LT(test::rel_err(delta(got), delta(want)), 1e-5) << method;
  }
}

TEST(Cuda, AWholeSetMergeOnTheGpuDeviceReturnsCpuFactorsEqualToTheCpuMerge) {
  if (skip_without_cuda()) GTEST_SKIP() << "LibTorch sees no CUDA device";
  const CausalLM m = test::tiny_decoder(test::tiny_decoder_config("qwen2", false), 3);
  AdapterSet set;
  set.add(test::random_lora(m, "a", 2, 4.0, 5));
  set.add(test::random_lora(m, "b", 2, 4.0, 9));
  MergeRecipe recipe;
  recipe.method = MergeMethod::Ties;
  recipe.density = 0.5;
  jobs::NullProgress progress;
  set_compute_device("cpu");
  const Adapter want = merge(set, recipe, progress);
  set_compute_device("cuda:0");
  const Adapter got = merge(set, recipe, progress);
  set_compute_device("cpu");
  ASSERT_EQ(got.modules.size(), want.modules.size());
  for (size_t i = 0; i < got.modules.size(); ++i) {
    EXPECT_TRUE(got.modules[i].A.is_cpu());  // written to files from here
    EXPECT_LT(test::rel_err(delta(got.modules[i]), delta(want.modules[i])), 1e-5) << i;
  }
}
