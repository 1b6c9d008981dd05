#include "demo/pretrain_corpus.h"

#include <algorithm>
#include <random>

#include "data/task.h"
#include "demo/debian_packages.h"
#include "demo/task_data.h"
#include "demo/text_sources.h"
#include "util/errors.h"
#include "util/strings.h"

namespace fs = std::filesystem;

namespace basin {
namespace {

// Adds `text` while the budget lasts (the last document is cut to fit).
struct Budget {
  std::vector<std::string>& docs;
  size_t left;
  size_t used = 0;
  bool add(std::string text) {
    if (left == 0 || text.empty()) return left > 0;
    if (text.size() > left) text.resize(left);
    left -= text.size();
    used += text.size();
    docs.push_back(std::move(text));
    return left > 0;
  }
};

// Groups short texts into documents of about `chars` characters.
std::vector<std::string> paragraphs(const std::vector<std::string>& items, size_t chars,
                                    const char* sep) {
  std::vector<std::string> out;
  std::string cur;
  for (const auto& s : items) {
    if (!cur.empty()) cur += sep;
    cur += s;
    if (cur.size() >= chars) out.push_back(std::exchange(cur, {}));
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

}  // namespace

PretrainCorpus build_pretrain_corpus(const PretrainCorpusOptions& o) {
  PretrainCorpus c;
  // General text, interleaved by source so that a smaller budget still sees every kind.
  std::vector<std::vector<std::string>> sources(4);
  // Only the files these packages own: another fortunes package adds files to the same folder,
  // and the corpus must not depend on what else a machine has installed.
  const std::pair<fs::path, std::vector<std::string>> kGeneral[] = {
      {"/usr/share/games/fortunes", {"fortunes", "fortunes-min"}},
      {"/usr/share/common-licenses", {"base-files"}}};
  for (const auto& [dir, packages] : kGeneral)
    for (const auto& f : files_owned_by(dir, packages, o.dpkg_status)) {
      if (f.extension() == ".dat" || f.extension() == ".u8") continue;  // strfile indexes
      const std::string t = read_source_file(f, packages.front());
      if (is_valid_utf8(t)) sources[0].push_back(t);
    }
  if (sources[0].empty())
    throw InputError(
        "no pre-training text found: install the Debian packages 'fortunes' and base-files "
        "(scripts/setup.sh)");
  std::vector<std::string> descriptions;
  for (const auto& p : demo_package_descriptions(o.dpkg_status))
    descriptions.push_back(p.text);  // the long text only: synopses are the headline targets
  sources[1] = paragraphs(descriptions, 2000, "\n\n");
  std::vector<std::string> german;
  for (const auto& [en, de] : read_gettext_pairs())
    german.push_back(de);  // German alone: the pairs are the translate task's to teach
  sources[2] = paragraphs(german, 2000, "\n");
  try {
    for (const auto& a : read_reuters())
      sources[3].push_back(a.body);
  } catch (const InputError&) {
    // r-cran-tm is optional for pre-training.
  }
  Budget general{c.documents, o.max_general_chars};
  std::vector<size_t> next(sources.size(), 0);
  for (bool more = true; more && general.left > 0;) {
    more = false;
    for (size_t s = 0; s < sources.size(); ++s)
      if (next[s] < sources[s].size()) {
        more = true;
        if (!general.add(sources[s][next[s]++])) break;
      }
  }
  c.general_chars = general.used;

  // Facts: every qa and antonym example of every split, stated fact_repeats times.
  std::vector<std::vector<std::string>> facts;
  for (const char* task : {"qa", "antonym"}) {
    const fs::path spec_file = o.task_dir / (std::string(task) + ".json");
    if (!fs::exists(spec_file)) continue;
    const TaskSpec spec = TaskSpec::load(spec_file);
    for (const auto& [split, file] : spec.splits)
      for (const auto& ex : spec.load_split(split))
        if (auto s = task_fact_statements(task, ex); !s.empty()) facts.push_back(std::move(s));
  }
  c.facts = facts.size();
  std::mt19937_64 rng(o.seed ^ 0x5eedfac75ull);
  std::vector<size_t> order(facts.size());
  for (int r = 0; r < o.fact_repeats; ++r) {
    for (size_t i = 0; i < order.size(); ++i)
      order[i] = i;
    for (size_t i = order.size(); i > 1; --i)
      std::swap(order[i - 1], order[rng() % i]);
    std::vector<std::string> stated;
    for (size_t i : order)
      stated.push_back(facts[i][(size_t(r) + i) % facts[i].size()]);
    for (auto& d : paragraphs(stated, 600, " ")) {
      c.fact_chars += d.size();
      c.documents.push_back(std::move(d));
    }
  }
  return c;
}

}  // namespace basin
