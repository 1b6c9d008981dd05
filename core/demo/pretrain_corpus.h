// The demo model's pre-training text: real English and German from Debian packages (fortunes,
// licenses, Reuters articles, package descriptions, translated program messages) and the facts
// the qa and antonym tasks ask, each stated in several phrasings and repeated — the way a real
// base model has seen a fact many times before anyone asks it in a QA format.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace basin {

struct PretrainCorpusOptions {
  std::filesystem::path task_dir;      // written task data (qa and antonym facts come from it)
  size_t max_general_chars = 2000000;  // budget for the general text
  int fact_repeats = 10;               // times each fact is stated (phrasings rotate)
  uint64_t seed = 0;                   // order of the fact documents
  std::filesystem::path dpkg_status = "/var/lib/dpkg/status";
};

struct PretrainCorpus {
  std::vector<std::string> documents;  // general text first, then the fact documents
  size_t general_chars = 0, fact_chars = 0;
  size_t facts = 0;  // distinct facts stated
};

// Throws InputError naming the package when no general text is installed.
PretrainCorpus build_pretrain_corpus(const PretrainCorpusOptions& options);

}  // namespace basin
