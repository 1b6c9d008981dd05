#include "io/json_file.h"

#include <cstdio>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/mapped_file.h"
#include "util/atomic_file.h"
#include "util/errors.h"
#include "util/strings.h"

namespace basin {
namespace {

using nlohmann::json;

// Follows the parser's events to know where it is (for messages), and refuses what nlohmann
// accepts silently: nesting beyond the limit (checked before the container opens, so nothing
// deeper is ever built) and duplicate keys (nlohmann keeps the last one).
class Checker {
 public:
  Checker(const std::string& what, int max_depth) : what_(what), max_depth_(max_depth) {}

  bool on_event(json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (static_cast<int>(levels_.size()) >= max_depth_)
          throw InputError("'" + what_ + "': nesting deeper than " + std::to_string(max_depth_) +
                           " levels at " + where());
        levels_.push_back({event == json::parse_event_t::object_start, 0, {}, {}});
        break;
      case json::parse_event_t::key: {
        Level& l = levels_.back();
        l.key = parsed.get_ref<const std::string&>();
        if (!l.keys.insert(l.key).second)
          throw InputError("'" + what_ + "': duplicate " + where() +
                           " (JSON readers disagree on which value wins)");
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        levels_.pop_back();
        value_done();
        break;
      case json::parse_event_t::value:
        value_done();
        break;
    }
    return true;
  }

  // "key 'a.b[2]'" for the value being parsed, "the top level" outside any container.
  std::string where() const {
    if (levels_.empty()) return "the top level";
    std::string path;
    for (const Level& l : levels_) {
      if (l.object) {
        if (!path.empty()) path += '.';
        path += excerpt(l.key, 40);
      } else {
        path += "[" + std::to_string(l.index) + "]";
      }
      if (path.size() > 120) return "key '" + excerpt(path, 120) + "'";
    }
    return "key '" + path + "'";
  }

 private:
  struct Level {
    bool object;
    size_t index;  // array: elements finished so far
    std::string key;
    std::unordered_set<std::string> keys;  // object: keys seen so far
  };

  void value_done() {
    if (!levels_.empty() && !levels_.back().object) ++levels_.back().index;
  }

  const std::string& what_;
  int max_depth_;
  std::vector<Level> levels_;
};

// nlohmann's message without its "[json.exception.…] " tag, and with the token it quotes
// ("last read: '…'", "parsing '…'") cut to a bounded excerpt: the token can be a 10 MB string.
std::string bounded_message(const std::string& what) {
  std::string m = what;
  if (m.rfind("[json.exception.", 0) == 0) {
    const size_t end = m.find("] ");
    if (end != std::string::npos) m = m.substr(end + 2);
  }
  for (const char* marker : {"last read: '", "parsing '"}) {
    const size_t at = m.find(marker);
    if (at == std::string::npos) continue;
    const size_t start = at + std::string_view(marker).size();
    std::string token = m.substr(start);
    if (!token.empty() && token.back() == '\'') token.pop_back();
    return m.substr(0, std::min(start, size_t{200})) + excerpt(token, 60) + "'";
  }
  return excerpt(m, 300);
}

// "line L, column C" of byte `offset` (1-based, columns in bytes).
std::string line_column(std::string_view text, size_t offset) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

}  // namespace

json parse_json_text(std::string_view text, const std::string& what, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes)
    throw InputError("'" + what + "' is too large to read as JSON (" +
                     human_bytes(static_cast<double>(text.size())) + "; the limit is " +
                     human_bytes(static_cast<double>(limits.max_bytes)) + ")");
  if (const size_t bad = invalid_utf8_offset(text); bad != std::string_view::npos) {
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[bad]));
    throw InputError("'" + what + "' is not valid UTF-8: byte " + byte + " at offset " +
                     std::to_string(bad) + " (" + line_column(text, bad) + ")");
  }
  Checker checker(what, limits.max_depth);
  const json::parser_callback_t callback = [&checker](int, json::parse_event_t event,
                                                      json& parsed) {
    return checker.on_event(event, parsed);
  };
  try {
    return json::parse(text, callback);
  } catch (const json::parse_error& e) {
    throw InputError("'" + what + "' is not valid JSON: " + bounded_message(e.what()));
  } catch (const json::out_of_range& e) {  // 406: a number beyond double range (1e999)
    throw InputError("'" + what + "': number out of range at " + checker.where() + ": " +
                     bounded_message(e.what()));
  } catch (const json::exception& e) {
    throw InputError("'" + what + "' is not valid JSON: " + bounded_message(e.what()));
  }
}

json read_json_file(const std::filesystem::path& path, const JsonLimits& limits) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw InputError("expected a JSON file but found a folder: '" + path.string() + "'");
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > limits.max_bytes)
    throw InputError("'" + path.string() + "' is too large to read as JSON (" +
                     human_bytes(static_cast<double>(size)) + "; the limit is " +
                     human_bytes(static_cast<double>(limits.max_bytes)) + ")");
  auto f = MappedFile::open(path);
  const std::string_view text(reinterpret_cast<const char*>(f->data()), f->size());
  return parse_json_text(text, path.string(), limits);
}

void write_json_file(const std::filesystem::path& path, const nlohmann::json& j) {
  write_file_atomic(path, j.dump(2) + "\n");
}

void write_json_file(const std::filesystem::path& path, const nlohmann::ordered_json& j) {
  write_file_atomic(path, j.dump(2) + "\n");
}

}  // namespace basin
