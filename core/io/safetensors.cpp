#include "io/safetensors.h"

#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "io/json_file.h"
#include "util/atomic_file.h"
#include "util/errors.h"
#include "util/strings.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors is little-endian");

namespace basin {
namespace {

struct DTypeRow {
  DType type;
  const char* name;
  size_t size;
  bool floating;
};
constexpr DTypeRow kDTypes[] = {
    {DType::F64, "F64", 8, true},    {DType::F32, "F32", 4, true},  {DType::F16, "F16", 2, true},
    {DType::BF16, "BF16", 2, true},  {DType::I64, "I64", 8, false}, {DType::I32, "I32", 4, false},
    {DType::I16, "I16", 2, false},   {DType::I8, "I8", 1, false},   {DType::U64, "U64", 8, false},
    {DType::U32, "U32", 4, false},   {DType::U16, "U16", 2, false}, {DType::U8, "U8", 1, false},
    {DType::BOOL, "BOOL", 1, false},
};

const DTypeRow& row(DType t) {
  for (const auto& r : kDTypes)
    if (r.type == t) return r;
  throw Error("unknown dtype");
}

[[noreturn]] void bad(const std::string& label, const std::string& what) {
  throw InputError("invalid safetensors file '" + label + "': " + what);
}

uint64_t read_u64_le(const std::byte* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

bool as_uint(const nlohmann::json& j, uint64_t& out) {
  if (j.is_number_unsigned()) {
    out = j.get<uint64_t>();
    return true;
  }
  if (j.is_number_integer() && j.get<int64_t>() >= 0) {
    out = static_cast<uint64_t>(j.get<int64_t>());
    return true;
  }
  return false;
}

}  // namespace

size_t dtype_size(DType t) {
  return row(t).size;
}
const char* dtype_name(DType t) {
  return row(t).name;
}
bool is_floating(DType t) {
  return row(t).floating;
}

std::optional<DType> parse_dtype(std::string_view name) {
  for (const auto& r : kDTypes)
    if (name == r.name) return r.type;
  return std::nullopt;
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (auto d : shape)
    n *= d;
  return n;
}

void SafetensorsReader::parse(const std::byte* bytes, size_t size, const std::string& label,
                              std::vector<TensorInfo>& tensors,
                              std::map<std::string, std::string>& meta, size_t& data_offset) {
  if (size < 8) bad(label, "file is " + std::to_string(size) + " bytes, too short for a header");
  const uint64_t n = read_u64_le(bytes);
  if (n > size - 8)
    bad(label, "header length " + std::to_string(n) + " goes beyond the end of the file (" +
                   std::to_string(size) + " bytes)");
  if (n > kMaxSafetensorsHeader)
    bad(label, "header length " + std::to_string(n) + " exceeds the 100 MiB limit");
  if (n < 2) bad(label, "header length " + std::to_string(n) + " is too small for a JSON object");
  const std::string_view header(reinterpret_cast<const char*>(bytes + 8), n);
  if (header.front() != '{') bad(label, "header does not start with '{'");

  // The checked parser: a header nested 300,000 deep or with duplicate tensor names is refused.
  nlohmann::json j;
  try {
    j = parse_json_text(header, label + " (header)", {kMaxSafetensorsHeader, 64});
  } catch (const InputError& e) {
    throw InputError(std::string("invalid safetensors file: ") + e.what());
  }
  if (!j.is_object()) bad(label, "header is not a JSON object");

  const uint64_t data_size = size - 8 - n;
  data_offset = 8 + n;
  tensors.clear();
  meta.clear();
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const auto& v = it.value();
    if (key == "__metadata__") {
      if (!v.is_object()) bad(label, "__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          bad(label, "__metadata__ value for '" + excerpt(m.key(), 200) + "' is not a string");
        meta[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + excerpt(key, 200) + "'";
    if (!v.is_object()) bad(label, where + " is not an object");
    if (!v.contains("dtype") || !v["dtype"].is_string()) bad(label, where + " has no dtype string");
    if (!v.contains("shape") || !v["shape"].is_array()) bad(label, where + " has no shape array");
    if (!v.contains("data_offsets") || !v["data_offsets"].is_array() ||
        v["data_offsets"].size() != 2)
      bad(label, where + " has no data_offsets [begin, end]");
    TensorInfo t;
    t.name = key;
    const auto dt = parse_dtype(v["dtype"].get<std::string>());
    if (!dt)
      bad(label, where + " has unsupported dtype '" + excerpt(v["dtype"].get<std::string>()) + "'");
    t.dtype = *dt;
    uint64_t numel = 1;
    for (const auto& d : v["shape"]) {
      uint64_t dim;
      // TensorInfo::shape is int64: a larger dim (possible beside a 0) would turn negative.
      if (!as_uint(d, dim) || dim > uint64_t(std::numeric_limits<int64_t>::max()))
        bad(label, where + " has a shape entry that is not a non-negative 64-bit integer");
      if (dim != 0 && numel > (uint64_t(1) << 62) / dim)
        bad(label, where + " has a shape that overflows");
      numel *= dim;
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    if (!as_uint(v["data_offsets"][0], t.begin) || !as_uint(v["data_offsets"][1], t.end))
      bad(label, where + " has data_offsets that are not non-negative integers");
    if (t.begin > t.end)
      bad(label, where + " has data_offsets [" + std::to_string(t.begin) + ", " +
                     std::to_string(t.end) + "] with begin after end");
    if (t.end > data_size)
      bad(label, where + " has data_offsets [" + std::to_string(t.begin) + ", " +
                     std::to_string(t.end) + "] outside the data section (" +
                     std::to_string(data_size) + " bytes)");
    const uint64_t expect = numel * dtype_size(t.dtype);
    if (expect != t.end - t.begin)
      bad(label, where + ": dtype " + dtype_name(t.dtype) + " x shape needs " +
                     std::to_string(expect) + " bytes but data_offsets span " +
                     std::to_string(t.end - t.begin));
    tensors.push_back(std::move(t));
  }
  std::sort(tensors.begin(), tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  // The reference implementation requires the tensors to tile the data section exactly.
  uint64_t pos = 0;
  const TensorInfo* prev = nullptr;
  for (const auto& t : tensors) {
    if (t.begin < pos)
      bad(label, "tensor '" + t.name + "' overlaps tensor '" + (prev ? prev->name : "") + "'");
    if (t.begin > pos)
      bad(label, "unused bytes [" + std::to_string(pos) + ", " + std::to_string(t.begin) +
                     ") before tensor '" + t.name + "'");
    pos = t.end;
    prev = &t;
  }
  if (pos != data_size)
    bad(label,
        "data section has " + std::to_string(data_size - pos) + " bytes not covered by any tensor");
}

SafetensorsReader::SafetensorsReader(const std::filesystem::path& path)
    : SafetensorsReader(MappedFile::open(path)) {}

SafetensorsReader::SafetensorsReader(std::shared_ptr<const MappedFile> file)
    : file_(std::move(file)) {
  size_t data_offset = 0;
  parse(file_->data(), file_->size(), file_->path().string(), tensors_, metadata_, data_offset);
  data_start_ = file_->data() + data_offset;
  for (size_t i = 0; i < tensors_.size(); ++i)
    index_[tensors_[i].name] = i;
}

const TensorInfo* SafetensorsReader::find(std::string_view name) const {
  const auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

std::string encode_safetensors_header(const std::vector<TensorBytes>& tensors,
                                      const std::map<std::string, std::string>& metadata) {
  // ordered_json keeps __metadata__ first and the tensors in layout order, as other writers do.
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata)
      m[k] = v;
    j["__metadata__"] = m;
  }
  uint64_t pos = 0;
  for (const auto& t : tensors) {
    nlohmann::ordered_json e;
    e["dtype"] = dtype_name(t.dtype);
    e["shape"] = t.shape;
    e["data_offsets"] = {pos, pos + t.nbytes};
    pos += t.nbytes;
    j[t.name] = e;
  }
  std::string header = j.dump();
  header.append((8 - header.size() % 8) % 8, ' ');
  return header;
}

void write_safetensors(const std::filesystem::path& path, std::vector<TensorBytes> tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::sort(tensors.begin(), tensors.end(),
            [](const TensorBytes& a, const TensorBytes& b) { return a.name < b.name; });
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    if (t.name.empty() || t.name == "__metadata__")
      throw InputError("invalid tensor name '" + t.name + "' for '" + path.string() + "'");
    if (i > 0 && tensors[i - 1].name == t.name)
      throw InputError("duplicate tensor name '" + t.name + "' for '" + path.string() + "'");
    int64_t numel = 1;
    for (auto d : t.shape) {
      if (d < 0) throw InputError("tensor '" + t.name + "' has a negative dimension");
      numel *= d;
    }
    if (static_cast<size_t>(numel) * dtype_size(t.dtype) != t.nbytes)
      throw InputError("tensor '" + t.name + "': " + std::to_string(t.nbytes) +
                       " bytes given for shape of " + std::to_string(numel) + " " +
                       dtype_name(t.dtype) + " elements");
  }
  const std::string header = encode_safetensors_header(tensors, metadata);
  uint8_t len[8];
  for (int i = 0; i < 8; ++i)
    len[i] = static_cast<uint8_t>(uint64_t(header.size()) >> (8 * i));
  AtomicFileWriter w(path);
  w.write(len, 8);
  w.write(header.data(), header.size());
  for (const auto& t : tensors)
    if (t.nbytes) w.write(t.data, t.nbytes);
  w.commit();
}

}  // namespace basin
