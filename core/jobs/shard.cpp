#include "jobs/shard.h"

#include "util/errors.h"
#include "util/strings.h"

namespace basin::jobs {
namespace {

// A non-negative decimal of at most 9 digits, or -1.
long parse_count(const std::string& s) {
  if (s.empty() || s.size() > 9) return -1;
  long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

Shard Shard::parse(const std::string& text) {
  const auto fail = [&](const std::string& why) {
    return InputError("--shard '" + excerpt(text, 40) + "': " + why);
  };
  const auto slash = text.find('/');
  if (slash == std::string::npos) throw fail("expected i/n, share i of n (i = 0 … n−1)");
  const long i = parse_count(text.substr(0, slash)), n = parse_count(text.substr(slash + 1));
  if (i < 0 || n < 0) throw fail("expected i/n with decimal numbers, share i of n (i = 0 … n−1)");
  if (n < 1 || n > kMaxShards)
    throw fail("the number of shares must be 1 … " + std::to_string(kMaxShards));
  if (i >= n) throw fail("the share must be 0 … " + std::to_string(n - 1) + " (counted from 0)");
  return {int(i), int(n)};
}

std::string Shard::to_string() const {
  return std::to_string(index) + "/" + std::to_string(count);
}

std::pair<size_t, size_t> Shard::block(size_t total) const {
  const auto at = [&](size_t k) { return total * k / size_t(count); };
  return {at(size_t(index)), at(size_t(index) + 1)};
}

}  // namespace basin::jobs
