// Parsers for the real text the demo kit is made of (DATA.md): files that Debian and npm
// packages install. A missing file is an InputError naming it and the package to install.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace basin {

// Whole file as bytes; a missing file names `package` (Debian, or npm when it holds '@').
std::string read_source_file(const std::filesystem::path& path, const std::string& package);
// Runs of whitespace and control characters → one space, trimmed.
std::string squeeze(std::string_view s);
// The first n words, with " ..." when words were dropped.
std::string first_words(const std::string& text, size_t n);

// Reuters-21578 articles of r-cran-tm (acq and crude): title, body, topic ("" when both).
struct Article {
  std::string title, body, topic;
};
std::vector<Article> read_reuters();

// The entries of one fortunes file (/usr/share/games/fortunes/<category>), squeezed.
std::vector<std::string> read_fortunes(const std::string& category);

// UCI "Sentiment Labelled Sentences" from the npm package sentiment@5.0.2: (text, 1|0).
std::vector<std::pair<std::string, int>> read_sentiment_sentences(
    const std::filesystem::path& npm_dir);

// GNU gettext .mo catalog: (msgid, msgstr) pairs in file order, every entry kept (header,
// plurals, contexts included). Throws InputError for a file that is not a valid catalog.
std::vector<std::pair<std::string, std::string>> read_mo_file(const std::filesystem::path& file);
// English → German message pairs of the essential packages' catalogs fit to translate: no
// format specifiers, plurals, contexts or help-text columns; unique English, catalog order.
std::vector<std::pair<std::string, std::string>> read_gettext_pairs();

// One bsdgames quiz field in canonical form: the first of the `|` / `[a|b]` alternatives,
// `{optional}` parts kept (keep_optional) or dropped, `\:` unescaped, spaces collapsed.
std::string quiz_canonical(std::string_view field, bool keep_optional);
// (question side, answer side) pairs of one quiz file, columns found by their names in
// quiz/index; questions keep optional parts, answers drop them.
std::vector<std::pair<std::string, std::string>> read_quiz_pairs(const std::string& file,
                                                                 const std::string& from,
                                                                 const std::string& to);

// WordNet (wordnet-base) synsets of one part of speech and pointers between them.
struct Synset {
  std::vector<std::string> words;
  // (pointer symbol, target offset, source word number, target word number); 0 = whole synset.
  std::vector<std::tuple<std::string, uint64_t, int, int>> pointers;
};
std::map<uint64_t, Synset> read_wordnet(const std::string& pos);
// Word pairs joined by pointer `symbol` ("!" antonym, "*" entailment), one direction each.
std::vector<std::pair<std::string, std::string>> wordnet_pairs(const std::map<uint64_t, Synset>& db,
                                                               const std::string& symbol);

}  // namespace basin
