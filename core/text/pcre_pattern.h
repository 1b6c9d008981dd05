// A compiled PCRE2 pattern for the tokenizer's Split pre-tokenizer (UTF + UCP, so \s and \p{L}
// follow Unicode as Oniguruma does in Hugging Face's tokenizers), or a literal byte string.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace basin {

class PcrePattern {
 public:
  // Compiles `pattern`; `literal` matches it as plain bytes. A bad pattern throws InputError
  // starting with `where`.
  PcrePattern(const std::string& pattern, bool literal, const std::string& where);
  PcrePattern(const PcrePattern&) = delete;
  PcrePattern& operator=(const PcrePattern&) = delete;
  ~PcrePattern();

  // The [begin, end) byte ranges of the non-overlapping, non-empty matches in `s`, in order.
  std::vector<std::pair<size_t, size_t>> matches(std::string_view s) const;

 private:
  struct Code;
  Code* code_ = nullptr;
};

}  // namespace basin
