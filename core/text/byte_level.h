// GPT-2's byte-level alphabet and pre-tokenizer regex (Radford et al. 2019, `bytes_to_unicode`
// in openai/gpt-2's encoder.py): every byte is written as one visible character, so a BPE
// vocabulary can hold any byte sequence.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace basin {

// GPT-2's pre-tokenizer regex, used by the ByteLevel pre-tokenizer when use_regex is true.
inline constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// The code point of each byte in the byte-level alphabet, indexed by byte value.
const std::vector<uint32_t>& byte_level_code_points();
// The byte a byte-level code point stands for, or -1 when `cp` is not in the alphabet.
int byte_level_byte(uint32_t cp);
// `bytes` written in the byte-level alphabet (UTF-8).
std::string byte_level_encode(std::string_view bytes);

// GPT-2 byte-level pre-tokenization (the ByteLevel use_regex pattern): the pieces of `text`,
// each written in the byte-level alphabet. Used by the BPE trainer so that training and
// encoding split text identically.
std::vector<std::string> byte_level_pretokenize(std::string_view text);
// The 256 byte-level symbols, indexed by byte value (GPT-2 bytes_to_unicode).
std::vector<std::string> byte_level_alphabet();

}  // namespace basin
