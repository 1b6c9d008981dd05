#include "jobs/partial_result.h"

#include <algorithm>
#include <map>

#include "io/json_excerpt.h"
#include "io/json_file.h"
#include "util/errors.h"
#include "util/strings.h"

namespace basin::jobs {

nlohmann::ordered_json PartialResult::to_json() const {
  nlohmann::ordered_json j;
  j["basin_partial_result"] = kFormat;
  j["command"] = command;
  j["shard"] = {{"index", shard.index}, {"count", shard.count}};
  j["fingerprint"] = fingerprint;
  j["outputs"] = outputs;
  j["result"] = result;
  return j;
}

PartialResult PartialResult::from_json(const nlohmann::json& j, const std::string& what) {
  const auto fail = [&](const std::string& key, const std::string& why) {
    return InputError("'" + what + "': key '" + key + "': " + why);
  };
  if (!j.is_object())
    throw InputError("'" + what + "' is not a partial result (expected a JSON object, got " +
                     json_excerpt(j) + ")");
  const auto it = j.find("basin_partial_result");
  if (it == j.end())
    throw InputError("'" + what + "' is not a partial result of basin-cli --shard (no key " +
                     "'basin_partial_result')");
  if (!it->is_number_integer() || it->get<long long>() != kFormat)
    throw fail("basin_partial_result", json_excerpt(*it) +
                                           " is not a format this basin-cli reads (" +
                                           std::to_string(kFormat) + ")");
  const auto string_at = [&](const char* key) {
    const auto v = j.find(key);
    if (v == j.end()) throw fail(key, "missing");
    if (!v->is_string()) throw fail(key, "expected a string, got " + json_excerpt(*v));
    return v->get<std::string>();
  };
  PartialResult p;
  p.source = what;
  p.command = string_at("command");
  p.fingerprint = string_at("fingerprint");
  const auto sh = j.find("shard");
  if (sh == j.end() || !sh->is_object()) throw fail("shard", "expected {\"index\", \"count\"}");
  const auto int_at = [&](const char* key) {
    const auto v = sh->find(key);
    if (v == sh->end() || !v->is_number_integer())
      throw fail(std::string("shard.") + key,
                 "expected an integer, got " + (v == sh->end() ? "nothing" : json_excerpt(*v)));
    return v->get<long long>();
  };
  const long long index = int_at("index"), count = int_at("count");
  if (count < 1 || count > kMaxShards || index < 0 || index >= count)
    throw fail("shard", std::to_string(index) + "/" + std::to_string(count) +
                            " is not a share i/n with 0 ≤ i < n ≤ " + std::to_string(kMaxShards));
  p.shard = {int(index), int(count)};
  for (const char* key : {"outputs", "result"}) {
    const auto v = j.find(key);
    if (v == j.end() || !v->is_object()) throw fail(key, "expected an object");
  }
  p.outputs = j.at("outputs");
  p.result = j.at("result");
  return p;
}

PartialResult PartialResult::read(const std::filesystem::path& path) {
  return from_json(read_json_file(path), path.string());
}

std::vector<PartialResult> check_complete(std::vector<PartialResult> parts) {
  if (parts.empty()) throw InputError("no partial results to gather");
  const PartialResult& first = parts.front();
  std::map<int, const PartialResult*> by_index;
  for (const auto& p : parts) {
    const auto differs = [&](const std::string& what) {
      return InputError("'" + p.source + "' and '" + first.source +
                        "' are not shares of one run: " + what);
    };
    if (p.command != first.command)
      throw differs("one is from '" + excerpt(p.command, 40) + "', the other from '" +
                    excerpt(first.command, 40) + "'");
    if (p.shard.count != first.shard.count)
      throw differs("one is share " + p.shard.to_string() + ", the other share " +
                    first.shard.to_string());
    if (p.fingerprint != first.fingerprint)
      throw differs("their inputs or options differ (models, tasks, split, limit or grid)");
    const auto [it, fresh] = by_index.emplace(p.shard.index, &p);
    if (!fresh)
      throw InputError("share " + p.shard.to_string() + " is given twice: '" + it->second->source +
                       "' and '" + p.source + "'");
  }
  if (int(by_index.size()) != first.shard.count) {
    std::string missing;
    int listed = 0;
    for (int i = 0; i < first.shard.count && listed < 8; ++i)
      if (!by_index.count(i)) {
        missing += (listed++ ? ", " : "") + std::to_string(i);
      }
    if (first.shard.count - int(by_index.size()) > listed) missing += ", …";
    throw InputError("shares missing: " + missing + " of " + std::to_string(first.shard.count) +
                     " (the parts given are " + std::to_string(parts.size()) + ")");
  }
  std::sort(parts.begin(), parts.end(), [](const PartialResult& a, const PartialResult& b) {
    return a.shard.index < b.shard.index;
  });
  return parts;
}

}  // namespace basin::jobs
