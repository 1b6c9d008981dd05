// One libFuzzer target per reader: this file is built once per entry of fuzz_readers(), with
// BASIN_FUZZ_READER naming it (tests/fuzz/CMakeLists.txt). An InputError with a short message
// is the reader doing its job; a long message is reported and aborts, like every other finding
// (a crash, a sanitizer report, a leak, an uncaught exception, a timeout).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "fuzz_readers.h"

namespace {

const basin::fuzz::FuzzReader& reader() {
  static const basin::fuzz::FuzzReader* r = [] {
    const basin::fuzz::FuzzReader* found = basin::fuzz::find_fuzz_reader(BASIN_FUZZ_READER);
    if (found == nullptr) {
      std::fprintf(stderr, "no fuzz reader named '%s'\n", BASIN_FUZZ_READER);
      std::abort();
    }
    return found;
  }();
  return *r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (const auto message = basin::fuzz::read_input(reader(), input)) {
    if (message->size() > basin::fuzz::kMaxMessage) {
      std::fprintf(stderr, "InputError message of %zu bytes (limit %zu): %.300s...\n",
                   message->size(), basin::fuzz::kMaxMessage, message->c_str());
      std::abort();
    }
  }
  return 0;
}
