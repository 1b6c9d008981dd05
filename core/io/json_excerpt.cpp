#include "io/json_excerpt.h"

#include <vector>

#include <nlohmann/json.hpp>

#include "util/strings.h"

namespace basin {

std::string json_excerpt(const nlohmann::json& v, size_t max) {
  using json = nlohmann::json;
  struct Frame {
    json::const_iterator it, end;
    bool object;
    bool first;
  };
  std::string out;
  std::vector<Frame> stack;  // open arrays/objects; at most about `max` deep
  // Appends a scalar, or opens a container; a string is quoted only up to the room left.
  const auto put = [&](const json& x) {
    if (x.is_array() || x.is_object()) {
      out += x.is_array() ? '[' : '{';
      stack.push_back({x.cbegin(), x.cend(), x.is_object(), true});
    } else if (x.is_string()) {
      out += '"' + excerpt(x.get_ref<const std::string&>(), max - std::min(max, out.size())) + '"';
    } else {
      out += x.dump();  // numbers, booleans, null: short
    }
  };
  put(v);
  while (!stack.empty() && out.size() <= max) {
    Frame& f = stack.back();
    if (f.it == f.end) {
      out += f.object ? '}' : ']';
      stack.pop_back();
      continue;
    }
    if (!f.first) out += ',';
    f.first = false;
    if (f.object) out += '"' + excerpt(f.it.key(), max - std::min(max, out.size())) + "\":";
    const json& child = *f.it;
    ++f.it;
    put(child);  // may grow `stack`: `f` is not used after this
  }
  if (out.size() <= max && stack.empty()) return out;
  std::string cut = excerpt(out, max);
  const std::string ellipsis = "…";
  if (cut.size() < ellipsis.size() ||
      cut.compare(cut.size() - ellipsis.size(), ellipsis.size(), ellipsis) != 0)
    cut += ellipsis;
  return cut;
}

}  // namespace basin
