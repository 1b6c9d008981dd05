// Reader for Hugging Face tokenizer.json files with a BPE model: byte-level (GPT-2, Qwen2/3,
// Llama 3/3.1) and SentencePiece-style with byte fallback (Llama 2, Gemma 3). Supported, each
// in its own file: model "BPE" with merges as ["a","b"] pairs or "a b" strings, unk_token,
// fuse_unk, byte_fallback, ignore_merges (bpe_model.h); normalizers NFC, Prepend, Replace
// (normalizer.h); pre-tokenizers Split, ByteLevel (pre_tokenizer.h); decoders ByteLevel,
// Replace, ByteFallback, Fuse, Strip (decoder.h); added_tokens (matched on the raw text before
// normalization, leftmost then longest); post_processor TemplateProcessing (single sequence) and
// ByteLevel. Anything else that could change the ids or the text is refused with an InputError
// naming the file and the key.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace basin {

class Tokenizer {
 public:
  // Reads `path`: a tokenizer.json file, or a model folder that contains one.
  static Tokenizer from_file(const std::filesystem::path& path);
  // Reads an already parsed tokenizer.json; errors name `label` (the file). from_file reads
  // through this; the fuzz targets call it on bytes (tests/fuzz).
  static Tokenizer from_json(const nlohmann::json& j, const std::string& label);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Token ids of `text` (UTF-8). add_special_tokens applies the post_processor template
  // (e.g. a BOS token) when the file has one; byte-level files usually add nothing.
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = false) const;
  // Text of `ids` (through the file's decoder); bytes that do not form valid UTF-8 are passed
  // through unchanged, where Hugging Face writes U+FFFD.
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const;
  // The token string of `id` as stored in the file (byte-level alphabet); "" when unknown.
  std::string id_to_token(int32_t id) const;
  // The id of a token string (vocabulary or added token), if any.
  std::optional<int32_t> token_to_id(std::string_view token) const;
  // Number of ids: the largest id (vocabulary or added token) plus one.
  size_t vocab_size() const;
  // True for added tokens marked "special" (e.g. <|im_start|>).
  bool is_special(int32_t id) const;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace basin
