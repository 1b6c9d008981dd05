// safetensors reader/writer: round trips, the public layout, and every malformed header.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "input_error.h"
#include "io/safetensors.h"
#include "io/tensor_torch.h"
#include "test_support.h"
#include "util/errors.h"

namespace fs = std::filesystem;
using namespace basin;
using basin::test::TempDir;

namespace {

// The file `bytes` is refused with a message naming it and holding every fragment.
void expect_bad_file(const std::string& bytes, std::vector<std::string> fragments) {
  TempDir dir;
  const auto p = dir / "bad.safetensors";
  test::write_bytes(p, bytes);
  fragments.push_back("bad.safetensors");
  test::expect_input_error([&] { SafetensorsReader r(p); }, fragments);
}

const std::string kOneTensor = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";

}  // namespace

TEST(Safetensors, ReadsFileFromIndependentWriter) {
  TempDir dir;
  const auto a = torch::arange(6, torch::kFloat32).reshape({2, 3});
  std::vector<test::RawTensor> raw{test::raw_f32("a", a)};
  // F16 1.0 = 0x3C00, BF16 -2.0 = 0xC000, I32 7, F64 0.5
  raw.push_back({"h", "F16", {2}, std::string("\x00\x3c\x00\x3c", 4)});
  raw.push_back({"b", "BF16", {1}, std::string("\x00\xc0", 2)});
  raw.push_back({"i", "I32", {1}, std::string("\x07\x00\x00\x00", 4)});
  double half = 0.5;
  raw.push_back({"d", "F64", {1}, std::string(reinterpret_cast<const char*>(&half), 8)});
  test::write_bytes(dir / "x.safetensors", test::raw_safetensors_bytes(raw, {{"k", "v"}}));

  SafetensorsReader r(dir / "x.safetensors");
  ASSERT_EQ(r.tensors().size(), 5u);
  EXPECT_EQ(r.metadata().at("k"), "v");
  EXPECT_TRUE(torch::equal(tensor_view(r, *r.find("a")), a));
  EXPECT_EQ(tensor_view(r, *r.find("h")).to(torch::kFloat32)[1].item<float>(), 1.0f);
  EXPECT_EQ(tensor_view(r, *r.find("b")).to(torch::kFloat32)[0].item<float>(), -2.0f);
  EXPECT_EQ(tensor_view(r, *r.find("i"))[0].item<int32_t>(), 7);
  EXPECT_EQ(tensor_view(r, *r.find("d"))[0].item<double>(), 0.5);
  EXPECT_EQ(r.find("missing"), nullptr);
}

TEST(Safetensors, WriterFollowsThePublicLayoutAndRoundTripsBitIdentically) {
  TempDir dir;
  const auto a = test::randn({3, 5}, 1);
  const auto b = test::randn({4}, 2).to(torch::kBFloat16);
  write_safetensors(dir / "o.safetensors", {tensor_bytes("z_last", a), tensor_bytes("a_first", b)},
                    {{"note", "hello"}});
  const std::string bytes = test::read_bytes(dir / "o.safetensors");
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u) << "header must be padded to a multiple of 8";
  const auto header = nlohmann::json::parse(bytes.substr(8, n));
  EXPECT_EQ(header["__metadata__"]["note"], "hello");
  EXPECT_EQ(header["a_first"]["dtype"], "BF16");
  EXPECT_EQ(header["a_first"]["data_offsets"], nlohmann::json({0, 8}));
  EXPECT_EQ(header["z_last"]["shape"], nlohmann::json({3, 5}));
  EXPECT_EQ(header["z_last"]["data_offsets"], nlohmann::json({8, 68}));
  EXPECT_EQ(bytes.size(), 8 + n + 68);
  // The raw bytes of each tensor sit exactly at their offsets.
  EXPECT_EQ(std::memcmp(bytes.data() + 8 + n + 8, a.data_ptr(), 60), 0);

  SafetensorsReader r(dir / "o.safetensors");
  EXPECT_TRUE(torch::equal(tensor_view(r, *r.find("z_last")), a));
  EXPECT_TRUE(torch::equal(tensor_view(r, *r.find("a_first")), b));
  // No temporary files are left beside it.
  EXPECT_EQ(test::list_files(dir.path()).size(), 1u);
}

TEST(Safetensors, WriterRejectsBadInputAndWritesNothing) {
  TempDir dir;
  const auto a = test::randn({2}, 1);
  test::expect_input_error(
      [&] {
        write_safetensors(dir / "o.safetensors", {tensor_bytes("x", a), tensor_bytes("x", a)});
      },
      {"duplicate tensor name 'x'"});
  auto bad = tensor_bytes("y", a);
  bad.nbytes = 4;
  test::expect_input_error([&] { write_safetensors(dir / "o.safetensors", {bad}); }, {"'y'"});
  EXPECT_TRUE(test::list_files(dir.path()).empty());
}

TEST(Safetensors, EmptyFileAndMetadataOnly) {
  TempDir dir;
  write_safetensors(dir / "e.safetensors", {}, {{"a", "b"}});
  SafetensorsReader r(dir / "e.safetensors");
  EXPECT_TRUE(r.tensors().empty());
  EXPECT_EQ(r.metadata().at("a"), "b");
}

TEST(Safetensors, RejectsTruncatedFile) {
  expect_bad_file(std::string("\x10\x00\x00", 3), {"too short"});
  // Header claims 8 bytes of data that are not there.
  const std::string full = test::raw_with_header(kOneTensor, std::string(8, '\0'));
  expect_bad_file(full.substr(0, full.size() - 3), {"outside the data section", "'w'"});
}

TEST(Safetensors, RejectsHeaderLengthBeyondFile) {
  std::string bytes = test::raw_with_header(kOneTensor, std::string(8, '\0'));
  bytes[0] = '\xff';
  bytes[1] = '\xff';
  expect_bad_file(bytes, {"header length", "beyond the end of the file"});
}

TEST(Safetensors, RejectsOverlappingOffsets) {
  const std::string h =
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  expect_bad_file(test::raw_with_header(h, std::string(12, '\0')), {"overlaps"});
}

TEST(Safetensors, RejectsOutOfRangeOffsets) {
  const std::string h = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})";
  expect_bad_file(test::raw_with_header(h, std::string(8, '\0')),
                  {"'a'", "outside the data section"});
  const std::string rev = R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})";
  expect_bad_file(test::raw_with_header(rev, std::string(8, '\0')), {"begin after end"});
}

TEST(Safetensors, RejectsDtypeShapeSizeMismatch) {
  const std::string h = R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})";
  expect_bad_file(test::raw_with_header(h, std::string(8, '\0')),
                  {"'a'", "needs 12 bytes", "span 8"});
  const std::string dt = R"({"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})";
  expect_bad_file(test::raw_with_header(dt, std::string(8, '\0')), {"unsupported dtype 'Q4'"});
}

// Found by tests/fuzz (regressions/safetensors/zero_size_tensor_dim_above_int64): beside a 0,
// any dim keeps the size at 0 bytes, and a dim above 2^63 - 1 became a negative int64 dim.
TEST(Safetensors, RejectsShapeEntryBeyondInt64EvenInAnEmptyTensor) {
  const std::string h =
      R"({"a":{"dtype":"F32","shape":[0,18446744073709551615],"data_offsets":[0,0]}})";
  expect_bad_file(test::raw_with_header(h, ""), {"'a'", "64-bit integer"});
  const std::string ok =
      R"({"a":{"dtype":"F32","shape":[0,9223372036854775807],"data_offsets":[0,0]}})";
  TempDir dir;
  test::write_bytes(dir / "ok.safetensors", test::raw_with_header(ok, ""));
  const SafetensorsReader r(dir / "ok.safetensors");
  EXPECT_EQ(r.tensors().at(0).shape.at(1), std::numeric_limits<int64_t>::max());
}

TEST(Safetensors, RejectsNonUtf8Header) {
  std::string h = kOneTensor;
  h[3] = '\xff';
  expect_bad_file(test::raw_with_header(h, std::string(8, '\0')), {"not valid UTF-8"});
}

TEST(Safetensors, RejectsInvalidJsonHeader) {
  expect_bad_file(test::raw_with_header(R"({"a":{"dtype":"F32",)", ""), {"not valid JSON"});
  expect_bad_file(test::raw_with_header("[1, 2]  ", ""), {"does not start with '{'"});
  expect_bad_file(test::raw_with_header(R"({"__metadata__":{"k":1}})", ""), {"__metadata__"});
}

TEST(Safetensors, RejectsUncoveredBytes) {
  expect_bad_file(test::raw_with_header(kOneTensor, std::string(12, '\0')), {"not covered"});
  const std::string gap = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
  expect_bad_file(test::raw_with_header(gap, std::string(8, '\0')), {"unused bytes"});
}

TEST(Safetensors, MissingFileIsNamed) {
  test::expect_input_error([] { SafetensorsReader r("/nonexistent/basin/x.safetensors"); },
                           {"file not found", "/nonexistent/basin/x.safetensors"});
}
