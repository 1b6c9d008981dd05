// The readers the fuzz targets drive (tests/fuzz/README.md): each takes the bytes of one file a
// user could hand Basin and reads them as Basin would. The libFuzzer targets (clang,
// BASIN_FUZZ=ON) and the regression replay in basin_core_tests (gcc) call the same functions,
// so an input that ever crashed a target is re-read in every CI test run.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace basin::fuzz {

// Longest message an InputError may carry: messages quote bounded excerpts of bad values
// (tests/core/io/json_readers_test.cpp holds the readers to the same bound).
inline constexpr size_t kMaxMessage = 600;

struct FuzzReader {
  std::string name;                     // target name: fuzz_<name>, corpus folders <name>/
  void (*read)(std::string_view data);  // reads `data`; throws InputError for bad input
};

// Every reader, in a fixed order.
const std::vector<FuzzReader>& fuzz_readers();
const FuzzReader* find_fuzz_reader(std::string_view name);

// Feeds `data` to `reader`: nullopt when accepted, the message when it throws an InputError.
// Any other exception propagates (it is a finding, as is a crash or a sanitizer report).
std::optional<std::string> read_input(const FuzzReader& reader, std::string_view data);

}  // namespace basin::fuzz
