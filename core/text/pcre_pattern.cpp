#include "text/pcre_pattern.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "text/utf8.h"
#include "util/errors.h"

namespace basin {

struct PcrePattern::Code {
  pcre2_code* code = nullptr;
};

PcrePattern::PcrePattern(const std::string& pattern, bool literal, const std::string& where) {
  int err = 0;
  PCRE2_SIZE offset = 0;
  // A literal pattern matches bytes; PCRE2 10.42 (Debian 12) refuses LITERAL together with
  // MATCH_INVALID_UTF or UCP, and byte matching needs neither.
  const uint32_t options =
      literal ? PCRE2_LITERAL : PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_UCP;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   options, &err, &offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    throw InputError(where + ": bad regex '" + pattern + "' at offset " + std::to_string(offset) +
                     ": " + reinterpret_cast<char*>(msg));
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // optional speed-up; falls back when absent
  code_ = new Code{code};
}

PcrePattern::~PcrePattern() {
  pcre2_code_free(code_->code);
  delete code_;
}

std::vector<std::pair<size_t, size_t>> PcrePattern::matches(std::string_view s) const {
  std::vector<std::pair<size_t, size_t>> out;
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(code_->code, nullptr);
  size_t pos = 0;
  while (pos <= s.size()) {
    int rc = pcre2_match(code_->code, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), pos, 0, md,
                         nullptr);
    if (rc < 0) break;  // PCRE2_ERROR_NOMATCH, or a match-limit error: treat the rest as a gap
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    size_t b = ov[0], e = ov[1];
    if (e == b) {  // empty match: step one character so the scan always progresses
      if (b >= s.size()) break;
      uint32_t cp;
      pos = b + utf8_next(s, b, cp);
      continue;
    }
    out.emplace_back(b, e);
    pos = e;
  }
  pcre2_match_data_free(md);
  return out;
}

}  // namespace basin
