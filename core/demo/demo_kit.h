// The demo kit: everything Basin's analyses need, made locally from real text (no downloads).
//   <out>/tasks/      seven task datasets (JSONL + specs; core/demo/task_data.h)
//   <out>/model/      a tiny Qwen2-architecture model pre-trained here: config.json,
//                     model.safetensors and a byte-level BPE tokenizer.json trained here
//   <out>/adapters/   one PEFT LoRA adapter per task, plus seeds and ranks of one task
//                     ("sentiment-seed1", "sentiment-r2", ...) for the uniformity analyses
//   <out>/kit.json    manifest (size, seed, versions, losses, each task's base and oracle score
//                     with a bootstrap interval); its presence marks a finished kit
//   <out>/medium/     optional (size "medium"): a larger base model with its own seven task
//                     adapters on the same task files and tokenizer — model/, adapters/, kit.json
//                     — for the model-size comparison (sizes: demo/kit_sizes.h)
// Deterministic on CPU for a given seed; progress and cancel; a cancelled or failed build
// leaves no kit.json (and is rebuilt from scratch next time).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "eval/oracle_scores.h"
#include "jobs/progress.h"

namespace basin {

struct DemoKitOptions {
  std::filesystem::path out_dir;  // kit folder (created)
  // "tiny" (tests, < 1 min), "small" (the default demo), or "medium" / "tiny-medium": the
  // larger model in <out>/medium beside a small / tiny kit (which is built first if missing).
  std::string size = "small";
  uint64_t seed = 0;   // every random choice derives from it
  bool force = false;  // rebuild even if a finished kit of this size is there
  // Cores to use (0 = every hardware core): the adapters train side by side on this many
  // threads. Every phase runs on one intra-op LibTorch thread, restored afterwards — faster for
  // models this small (kit_workers, OneIntraOpThread in demo_kit.cpp).
  int threads = 0;
};

struct DemoKitReport {
  bool reused = false;                // an existing finished kit was kept
  std::vector<std::string> adapters;  // adapter folder names under adapters/
  double pretrain_loss_first = 0, pretrain_loss_last = 0;
  std::vector<TaskScore> scores;  // each task's adapter vs the base model (test split)
  double seconds = 0;
};

DemoKitReport build_demo_kit(const DemoKitOptions& options, jobs::Progress& progress);

}  // namespace basin
