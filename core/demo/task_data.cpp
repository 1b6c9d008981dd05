#include "demo/task_data.h"

#include <algorithm>
#include <functional>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "data/task.h"
#include "demo/debian_packages.h"
#include "demo/text_sources.h"
#include "util/atomic_file.h"
#include "util/errors.h"
#include "util/strings.h"

namespace fs = std::filesystem;

namespace basin {
namespace {

// Our own Fisher-Yates over mt19937_64 (whose output the standard fixes), because
// std::shuffle's algorithm differs between standard libraries and the files must not.
using Rng = std::mt19937_64;
template <typename T>
void shuffle_in_place(std::vector<T>& v, Rng& rng) {
  for (size_t i = v.size(); i > 1; --i)
    std::swap(v[i - 1], v[rng() % i]);
}

// A per-task stream: the same seed gives every task its own, stable order.
Rng task_rng(uint64_t seed, std::string_view task) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : task)
    h = (h ^ c) * 1099511628211ull;
  return Rng(seed ^ h);
}

// Summarisation: a package's extended description → its synopsis line, for the packages of the
// fixed closure (debian_packages.h), so that the task is the same on every set-up machine. Synopses
// reuse the description's words (a lead-10 baseline reaches ROUGE-L ≈ 0.2), so a small model
// can learn the task by copying and compressing.
std::vector<Example> headline_examples(const fs::path& status) {
  std::vector<Example> out;
  for (const auto& p : demo_package_descriptions(status))
    out.push_back({{"description", first_words(p.text, 48)}, {"summary", p.synopsis}});
  return out;
}

// Topic: fortunes of four strfile categories with distinct vocabularies, balanced.
std::vector<Example> topic_examples(size_t max, Rng& rng) {
  const char* kTopics[] = {"computers", "food", "law", "politics"};
  std::vector<std::vector<Example>> by_topic;
  size_t per_topic = max / std::size(kTopics);
  for (const char* t : kTopics) {
    std::vector<Example> list;
    std::set<std::string> seen;
    for (const auto& f : read_fortunes(t)) {
      // Long entries (speeches, lists) are cut; very short ones carry no topic. A few entries
      // are doubly encoded UTF-8 ("HereÃ¢ÂÂs"): English fortunes are kept in plain ASCII only.
      const bool ascii = std::all_of(f.begin(), f.end(), [](char c) { return c > 0; });
      if (!ascii || split(f, ' ').size() < 6 || !seen.insert(f).second) continue;
      list.push_back({{"document", first_words(f, 60)}, {"topic", t}});
    }
    shuffle_in_place(list, rng);
    per_topic = std::min(per_topic, list.size());
    by_topic.push_back(std::move(list));
  }
  std::vector<Example> out;
  for (auto& list : by_topic)
    out.insert(out.end(), list.begin(), list.begin() + static_cast<std::ptrdiff_t>(per_topic));
  return out;
}

std::vector<Example> translate_examples(size_t max, Rng& rng) {
  std::vector<Example> out;
  for (auto& [en, de] : read_gettext_pairs())
    out.push_back({{"english", en}, {"german", de}});
  shuffle_in_place(out, rng);
  if (out.size() > max) out.resize(max);
  return out;
}

// QA over bsdgames quiz facts. Each example keeps its subject and relation, from which the kit
// states the fact in its pre-training text (task_fact_statements).
struct Asked {
  const char* file;
  const char* from;
  const char* to;
  const char* relation;
  const char* pre;
  const char* post;
};
constexpr Asked kAsked[] = {
    {"africa", "African", "capital", "capital", "What is the capital of ", "?"},
    {"america", "American", "capital", "capital", "What is the capital of ", "?"},
    {"asia", "Asian", "capital", "capital", "What is the capital of ", "?"},
    {"europe", "European", "capital", "capital", "What is the capital of ", "?"},
    {"state", "state", "capital", "state capital", "What is the capital of the US state of ", "?"},
    {"elements", "element", "symbol", "symbol", "What is the chemical symbol of ", "?"},
    {"elements", "element", "number", "atomic number", "What is the atomic number of ", "?"},
    {"pres", "president", "successor", "successor", "Who succeeded ",
     " as President of the United States?"},
};

std::vector<Example> qa_examples() {
  std::vector<Example> out;
  for (const auto& q : kAsked)
    for (const auto& [from, to] : read_quiz_pairs(q.file, q.from, q.to))
      out.push_back({{"question", q.pre + from + q.post},
                     {"answer", to},
                     {"subject", from},
                     {"relation", q.relation}});
  return out;
}

std::vector<Example> entailment_examples(size_t max, Rng& rng) {
  const auto verbs = read_wordnet("verb");
  auto entails = wordnet_pairs(verbs, "*");
  auto contradicts = wordnet_pairs(verbs, "!");
  shuffle_in_place(entails, rng);
  shuffle_in_place(contradicts, rng);
  const size_t n = std::min({entails.size(), contradicts.size(), max / 3});
  std::set<std::pair<std::string, std::string>> related;
  for (const auto* list : {&entails, &contradicts})
    for (const auto& [a, b] : *list)
      related.insert(std::minmax(a, b));
  std::vector<const std::string*> pool;
  for (const auto& [offset, s] : verbs)
    pool.push_back(&s.words.front());
  std::vector<Example> out;
  auto add = [&](const std::string& a, const std::string& b, const char* label) {
    out.push_back({{"premise", a}, {"hypothesis", b}, {"relation", label}});
  };
  for (size_t i = 0; i < n; ++i) {
    add(entails[i].first, entails[i].second, "entails");
    add(contradicts[i].first, contradicts[i].second, "contradicts");
  }
  // Neutral: random verbs with no entailment or antonym link between them.
  std::set<std::pair<std::string, std::string>> used;
  for (size_t tries = 0; used.size() < n && tries < 100 * n + 100; ++tries) {
    const std::string& a = *pool[rng() % pool.size()];
    const std::string& b = *pool[rng() % pool.size()];
    const auto key = std::minmax(a, b);
    if (a == b || related.count(key) || !used.insert(key).second) continue;
    add(a, b, "neutral");
  }
  return out;
}

std::vector<Example> antonym_examples(size_t max, Rng& rng) {
  std::vector<Example> out;
  std::set<std::string> seen;
  auto add = [&](const std::string& w, const std::string& a) {
    if (!w.empty() && !a.empty() && w != a && out.size() < max && seen.insert(w).second)
      out.push_back({{"word", w}, {"antonym", a}});
  };
  // The hand-made bsdgames list first (both directions), then WordNet adjectives.
  for (const auto& [pos, neg] : read_quiz_pairs("posneg", "positive", "negative")) {
    add(pos, neg);
    add(neg, pos);
  }
  auto adjectives = wordnet_pairs(read_wordnet("adj"), "!");
  shuffle_in_place(adjectives, rng);
  for (const auto& [a, b] : adjectives)
    add(a, b);
  return out;
}

std::vector<Example> sentiment_examples(const fs::path& npm_dir, size_t max, Rng& rng) {
  std::map<std::string, std::vector<Example>> by_label;
  std::set<std::string> seen;
  for (const auto& [text, label] : read_sentiment_sentences(npm_dir)) {
    if (!seen.insert(text).second) continue;
    const char* name = label == 1 ? "positive" : "negative";
    by_label[name].push_back({{"sentence", text}, {"sentiment", name}});
  }
  // Balanced classes, so accuracy has a 50 % chance level.
  size_t per_class = max / 2;
  for (auto& [label, list] : by_label)
    per_class = std::min(per_class, list.size());
  std::vector<Example> out;
  for (auto& [label, list] : by_label) {
    shuffle_in_place(list, rng);
    out.insert(out.end(), list.begin(), list.begin() + static_cast<std::ptrdiff_t>(per_class));
  }
  return out;
}

// ---------------------------------------------------------------- writing

struct TaskDef {
  const char* name;
  const char* prompt;
  const char* target;
  TaskMetric metric;
  int max_new_tokens;
};

// One prompt format per task, deliberately unlike each other (router-free study, §setup).
constexpr TaskDef kTasks[] = {
    {"headline",
     "Package description: {description}\n\nWrite a one-line summary of this package.\nSummary:",
     "summary", TaskMetric::RougeL, 24},
    {"translate", "Translate English to German.\nEnglish: {english}\nGerman:", "german",
     TaskMetric::Chrf, 48},
    {"qa", "Question: {question}\nAnswer:", "answer", TaskMetric::ExactMatch, 12},
    {"sentiment", "Review: \"{sentence}\"\nIs this review positive or negative?", "sentiment",
     TaskMetric::Accuracy, 4},
    {"entailment",
     "Premise verb: {premise}\nHypothesis verb: {hypothesis}\n"
     "Relation (entails, neutral or contradicts):",
     "relation", TaskMetric::MacroF1, 4},
    {"topic", "<document>\n{document}\n</document>\nTopic (computers, food, law or politics):",
     "topic", TaskMetric::Accuracy, 4},
    // The word follows a space, as in the pre-training facts ("The opposite of hot is cold."):
    // byte-level BPE gives " hot" and "(hot" different tokens, and a word behind "(" could not
    // reach what the base model knows about it (kit v2's "antonym(hot) =" scored 0.04).
    {"antonym", "antonym of {word} =", "antonym", TaskMetric::ExactMatch, 8},
};

size_t write_task(const TaskDef& def, std::vector<Example> examples, const TaskDataOptions& o,
                  Rng& rng) {
  // Inputs must be unique so that no prompt appears in two splits.
  std::set<Example> seen;
  std::vector<Example> unique;
  for (auto& ex : examples) {
    Example input = ex;
    input.erase(def.target);
    if (seen.insert(std::move(input)).second) unique.push_back(std::move(ex));
  }
  if (unique.size() < 3)
    throw InputError(std::string("task data: only ") + std::to_string(unique.size()) +
                     " examples found for task '" + def.name + "'");
  shuffle_in_place(unique, rng);
  if (unique.size() > o.max_per_task) unique.resize(o.max_per_task);
  const size_t n = unique.size();
  const size_t n_test = std::max<size_t>(1, static_cast<size_t>(n * o.test_fraction + 0.5));
  const size_t n_val = std::max<size_t>(1, static_cast<size_t>(n * o.validation_fraction + 0.5));
  const auto begin = unique.begin();
  const std::map<std::string, std::vector<Example>> parts = {
      {"test", {begin, begin + static_cast<std::ptrdiff_t>(n_test)}},
      {"validation",
       {begin + static_cast<std::ptrdiff_t>(n_test),
        begin + static_cast<std::ptrdiff_t>(n_test + n_val)}},
      {"train", {begin + static_cast<std::ptrdiff_t>(n_test + n_val), unique.end()}}};
  TaskSpec spec;
  spec.name = def.name;
  spec.prompt = def.prompt;
  spec.target = def.target;
  spec.metric = def.metric;
  spec.max_new_tokens = def.max_new_tokens;
  for (const auto& [split, list] : parts) {
    const std::string file = std::string(def.name) + "." + split + ".jsonl";
    write_jsonl(o.out_dir / file, list);
    spec.splits[split] = file;
  }
  write_file_atomic(o.out_dir / (std::string(def.name) + ".json"), spec.to_json().dump(2) + "\n");
  return n;
}

}  // namespace

fs::path TaskDataOptions::default_npm_dir() {
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : "/root") / ".cache/basin/test-data/node_modules";
}

std::vector<std::string> task_fact_statements(const std::string& task, const Example& ex) {
  auto get = [&](const char* key) {
    const auto it = ex.find(key);
    return it == ex.end() ? std::string() : it->second;
  };
  if (task == "antonym") {
    const std::string w = get("word"), a = get("antonym");
    if (w.empty() || a.empty()) return {};
    return {"The opposite of " + w + " is " + a + ".", w + " is the antonym of " + a + ".",
            a + " and " + w + " are opposites."};
  }
  if (task != "qa") return {};
  const std::string s = get("subject"), a = get("answer"), r = get("relation");
  if (s.empty() || a.empty()) return {};
  if (r == "capital")
    return {"The capital of " + s + " is " + a + ".", a + " is the capital of " + s + ".",
            "The capital city of " + s + " is " + a + "."};
  if (r == "state capital")
    return {"The capital of the US state of " + s + " is " + a + ".",
            a + " is the capital of " + s + ".", "The state capital of " + s + " is " + a + "."};
  if (r == "symbol")
    return {"The chemical symbol of " + s + " is " + a + ".", s + " has the symbol " + a + ".",
            a + " is the chemical symbol for " + s + "."};
  if (r == "atomic number")
    return {"The atomic number of " + s + " is " + a + ".", s + " has atomic number " + a + ".",
            "Element number " + a + " is " + s + "."};
  if (r == "successor")
    return {a + " succeeded " + s + " as President of the United States.",
            "After " + s + ", " + a + " became President.",
            "The president after " + s + " was " + a + "."};
  return {};
}

TaskDataReport build_task_data(const TaskDataOptions& o, jobs::Progress& progress) {
  if (o.out_dir.empty()) throw InputError("task data: no output folder given");
  if (o.max_per_task < 3)
    throw InputError("task data: max_per_task must be at least 3 (got " +
                     std::to_string(o.max_per_task) + ")");
  if (o.validation_fraction <= 0 || o.test_fraction <= 0 ||
      o.validation_fraction + o.test_fraction >= 1)
    throw InputError("task data: validation and test fractions must be positive and sum below 1");
  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  if (ec) throw IoError("cannot create '" + o.out_dir.string() + "': " + ec.message());

  const size_t max = o.max_per_task;
  const std::map<std::string, std::function<std::vector<Example>(Rng&)>> sources = {
      {"headline", [&](Rng&) { return headline_examples(o.dpkg_status); }},
      {"translate", [&](Rng& r) { return translate_examples(max, r); }},
      {"qa", [&](Rng&) { return qa_examples(); }},
      {"sentiment", [&](Rng& r) { return sentiment_examples(o.npm_dir, max, r); }},
      {"entailment", [&](Rng& r) { return entailment_examples(max, r); }},
      {"topic", [&](Rng& r) { return topic_examples(max, r); }},
      {"antonym", [&](Rng& r) { return antonym_examples(max, r); }},
  };
  TaskDataReport report;
  const size_t total = std::size(kTasks);
  for (size_t i = 0; i < total; ++i) {
    const TaskDef& def = kTasks[i];
    progress.check_cancelled();
    progress.report(static_cast<double>(i) / total, std::string("task data: ") + def.name);
    Rng rng = task_rng(o.seed, def.name);
    auto examples = sources.at(def.name)(rng);
    report.tasks.emplace_back(def.name);
    report.examples[def.name] = write_task(def, std::move(examples), o, rng);
  }
  progress.report(1.0, "task data: done");
  return report;
}

}  // namespace basin
