// Training a byte-level BPE tokenizer (Sennrich et al. 2016; GPT-2's byte-level variant) and
// writing it as a Hugging Face tokenizer.json that Tokenizer (and HF tokenizers) can read.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "jobs/progress.h"

namespace basin {

struct BpeTrainOptions {
  size_t vocab_size = 2048;  // total ids: 256 byte symbols + merges + special tokens
  std::vector<std::string> special_tokens = {"<|endoftext|>", "<|pad|>"};  // appended last
  size_t min_frequency = 2;  // a pair must occur at least this often to be merged
};

// Learns merges from `texts` (pre-tokenized with GPT-2's byte-level pattern) and writes a
// tokenizer.json: ByteLevel pre-tokenizer and decoder, BPE model with merges as pairs.
// Deterministic: equal pair counts are broken by the pair's symbols in byte order.
void train_bpe_tokenizer(const std::vector<std::string>& texts, const BpeTrainOptions& options,
                         const std::filesystem::path& out_file, jobs::Progress& progress);

}  // namespace basin
