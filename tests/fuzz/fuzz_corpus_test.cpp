// Every input that ever crashed a fuzz target (tests/fuzz/regressions/<target>/) and every seed
// (tests/fuzz/corpus/<target>/), fed to the same reader function the target calls: a regression
// must be read or refused with a short InputError, a seed (a valid file) must be read. Runs in
// every CI test run, in the gcc build, with no fuzzer; scripts/fuzz.sh runs the targets.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_readers.h"

namespace fs = std::filesystem;
using basin::fuzz::FuzzReader;

namespace {

const fs::path kFuzzDir = BASIN_FUZZ_DIR;

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file() && e.path().filename() != "README.md") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Feeds every file of dir/<reader> to the reader. Seeds are valid files: they must be read.
void replay(const FuzzReader& reader, const fs::path& dir, bool must_read, size_t* count) {
  for (const fs::path& file : files_in(dir / reader.name)) {
    SCOPED_TRACE(file.string());
    ++*count;
    try {
      const auto message = basin::fuzz::read_input(reader, read_bytes(file));
      if (message) {
        EXPECT_FALSE(must_read) << "a seed is refused: " << message->substr(0, 700);
        EXPECT_LE(message->size(), basin::fuzz::kMaxMessage) << message->substr(0, 700);
      }
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not an InputError: " << std::string(e.what()).substr(0, 400);
    }
  }
}

class FuzzCorpus : public testing::TestWithParam<std::string> {};

TEST_P(FuzzCorpus, RegressionsGiveShortInputErrorsAndSeedsAreRead) {
  const FuzzReader* reader = basin::fuzz::find_fuzz_reader(GetParam());
  ASSERT_NE(reader, nullptr);
  size_t regressions = 0, seeds = 0;
  replay(*reader, kFuzzDir / "regressions", false, &regressions);
  replay(*reader, kFuzzDir / "corpus", true, &seeds);
  EXPECT_GT(seeds, 0u) << "no seeds in tests/fuzz/corpus/" << reader->name;
  RecordProperty("regressions", static_cast<int>(regressions));
}

std::vector<std::string> reader_names() {
  std::vector<std::string> names;
  for (const FuzzReader& r : basin::fuzz::fuzz_readers())
    names.push_back(r.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Readers, FuzzCorpus, testing::ValuesIn(reader_names()),
                         [](const auto& info) { return info.param; });

// A folder named after no target would never be replayed.
TEST(FuzzCorpusLayout, EveryFolderNamesAFuzzTarget) {
  for (const char* kind : {"regressions", "corpus"})
    for (const auto& e : fs::directory_iterator(kFuzzDir / kind))
      if (e.is_directory())
        EXPECT_NE(basin::fuzz::find_fuzz_reader(e.path().filename().string()), nullptr) << e.path();
}

}  // namespace
