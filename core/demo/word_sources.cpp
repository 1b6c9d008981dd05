#include <algorithm>
#include <cstdlib>
#include <set>
#include <sstream>

#include "demo/text_sources.h"
#include "util/errors.h"
#include "util/strings.h"

namespace fs = std::filesystem;

// bsdgames quizzes and WordNet: the word-level sources of the qa, entailment and antonym tasks.
namespace basin {
namespace {

const fs::path kQuizDir = "/usr/share/games/bsdgames/quiz";
const fs::path kWordnetDir = "/usr/share/wordnet";

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
  for (const auto& line : quiz_lines(read_source_file(kQuizDir / "index", "bsdgames"))) {
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

}  // namespace

std::string quiz_canonical(std::string_view field, bool keep_optional) {
  size_t i = 0;
  return squeeze(render_quiz(field, i, '\0', keep_optional));
}

std::vector<std::pair<std::string, std::string>> read_quiz_pairs(const std::string& file,
                                                                 const std::string& from,
                                                                 const std::string& to) {
  const auto index = read_quiz_index();
  const size_t a = quiz_column(index, file, from), b = quiz_column(index, file, to);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& line : quiz_lines(read_source_file(kQuizDir / file, "bsdgames"))) {
    const auto fields = quiz_fields(line);
    if (fields.size() <= std::max(a, b)) continue;
    // Questions read best in full ("George Washington"); answers in their short, certain form.
    std::string q = quiz_canonical(fields[a], true), ans = quiz_canonical(fields[b], false);
    if (!q.empty() && !ans.empty() && ans != "None" && ans != "none") out.emplace_back(q, ans);
  }
  return out;
}

// ---------------------------------------------------------------- WordNet

// Parses a WordNet data.<pos> file (wndb(5)): offset lex_filenum ss_type w_cnt (hex) words
// p_cnt pointers ... | gloss. License lines start with spaces.
std::map<uint64_t, Synset> read_wordnet(const std::string& pos) {
  const fs::path file = kWordnetDir / ("data." + pos);
  std::map<uint64_t, Synset> out;
  std::istringstream in(read_source_file(file, "wordnet-base"));
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

}  // namespace basin
