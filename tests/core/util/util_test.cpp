// Small utilities: SHA-256 against FIPS 180-4 test vectors, natural order, UTF-8, atomic files.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <vector>

#include "test_support.h"
#include "util/atomic_file.h"
#include "util/errors.h"
#include "util/runtime.h"
#include "util/sha256.h"
#include "util/strings.h"

using namespace basin;

TEST(Sha256, FipsVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256 h;  // one million 'a', fed in uneven pieces
  const std::string chunk(997, 'a');
  size_t left = 1000000;
  while (left) {
    const size_t n = std::min(left, chunk.size());
    h.update(chunk.data(), n);
    left -= n;
  }
  EXPECT_EQ(h.hex_digest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// The two compression functions (portable, SHA extensions) on FIPS 180-4's one-block "abc"
// example, then against each other on random states and random runs of 0–40 blocks. Without
// the extensions (or off x86-64) only the portable half runs.
TEST(Sha256, PortableAndShaExtensionsCompressTheSame) {
  uint8_t abc[64] = {'a', 'b', 'c', 0x80};
  abc[63] = 24;  // the message length in bits
  const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                          0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  const uint32_t want[8] = {0xba7816bf, 0x8f01cfea, 0x414140de, 0x5dae2223,
                            0xb00361a3, 0x96177a9c, 0xb410ff61, 0xf20015ad};
  uint32_t h[8];
  std::copy(iv, iv + 8, h);
  sha256_detail::compress_portable(h, abc, 1);
  EXPECT_TRUE(std::equal(h, h + 8, want));
  std::copy(iv, iv + 8, h);
  const bool ni = sha256_detail::compress_sha_ni(h, abc, 1);
  EXPECT_EQ(ni, sha256_detail::cpu_has_sha_ni());
  if (ni) {
    EXPECT_TRUE(std::equal(h, h + 8, want));
  }
  if (!ni) GTEST_SKIP() << "no SHA extensions on this CPU: only the portable route was checked";

  std::mt19937_64 rng(7);
  std::vector<uint8_t> bytes(64 * 40);
  for (auto& b : bytes)
    b = static_cast<uint8_t>(rng());
  for (size_t count = 0; count <= 40; ++count) {
    uint32_t a[8], b[8];
    for (int i = 0; i < 8; ++i)
      a[i] = b[i] = static_cast<uint32_t>(rng());
    sha256_detail::compress_portable(a, bytes.data(), count);
    ASSERT_TRUE(sha256_detail::compress_sha_ni(b, bytes.data(), count));
    EXPECT_TRUE(std::equal(a, a + 8, b)) << count << " blocks";
  }
}

TEST(Runtime, DeviceNamesParseAndCudaIsRefusedWithTheReason) {
  EXPECT_EQ(parse_device("auto").kind, DeviceChoice::kAuto);
  EXPECT_EQ(parse_device("cpu").kind, DeviceChoice::kCpu);
  EXPECT_EQ(parse_device("cuda").kind, DeviceChoice::kCuda);
  EXPECT_EQ(parse_device("cuda").index, -1);
  EXPECT_EQ(parse_device("cuda:3").index, 3);
  for (const char* bad :
       {"", "gpu", "CUDA", "cuda:", "cuda:-1", "cuda:1024", "cuda:1x", "cpu:0", "cuda:00001"}) {
    try {
      parse_device(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("unknown device '" + std::string(bad) + "'"),
                std::string::npos)
          << e.what();
    }
  }
  // A long value is quoted as a bounded excerpt.
  try {
    parse_device(std::string(10000, 'x'));
    ADD_FAILURE();
  } catch (const InputError& e) {
    EXPECT_LT(std::string(e.what()).size(), 200u);
  }
  // Without a CUDA device (Debian's LibTorch), cuda is refused, never run on the CPU.
  for (const char* cuda : {"cuda", "cuda:0"}) {
    if (cuda_available()) break;
    try {
      init_runtime({1, cuda});
      ADD_FAILURE() << cuda << " accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("device '" + std::string(cuda) + "'"), std::string::npos)
          << e.what();
    }
  }
  init_runtime({1, "auto"});
  EXPECT_EQ(compute_device_name(), "cpu");
}

// resolve_device as a table: what each choice becomes on machines with 0, 1 and 4 GPUs, for a
// single process (-1) and for ranks 0, 1 and 5 on one host.
TEST(Runtime, ResolveDeviceSpreadsRanksOverTheVisibleGpusAndRefusesWhatIsNotThere) {
  EXPECT_EQ(resolve_device("cpu", 0, -1), "cpu");
  EXPECT_EQ(resolve_device("cpu", 4, 1), "cpu");
  EXPECT_EQ(resolve_device("auto", 0, -1), "cpu");
  EXPECT_EQ(resolve_device("auto", 0, 3), "cpu");
  EXPECT_EQ(resolve_device("auto", 1, -1), "cuda:0");
  EXPECT_EQ(resolve_device("auto", 4, -1), "cuda:0");
  EXPECT_EQ(resolve_device("auto", 4, 1), "cuda:1");
  EXPECT_EQ(resolve_device("auto", 4, 5), "cuda:1");  // 5 mod 4
  EXPECT_EQ(resolve_device("cuda", 1, 5), "cuda:0");
  EXPECT_EQ(resolve_device("cuda", 4, 0), "cuda:0");
  EXPECT_EQ(resolve_device("cuda", 4, 3), "cuda:3");
  EXPECT_EQ(resolve_device("cuda:2", 4, 0), "cuda:2");  // an explicit index wins over the rank
  EXPECT_EQ(resolve_device("cuda:2", 4, 3), "cuda:2");
  const auto message = [](const std::string& d, int n) {
    try {
      resolve_device(d, n, -1);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message("cuda", 0).find("no usable CUDA device"), std::string::npos);
  EXPECT_NE(message("cuda:0", 0).find("device 'cuda:0'"), std::string::npos);
  EXPECT_NE(message("cuda:4", 4).find("this machine has 4 CUDA devices"), std::string::npos);
  EXPECT_NE(message("cuda:1", 1).find("has 1 CUDA device"), std::string::npos);
  EXPECT_NE(message("gpu", 2).find("unknown device 'gpu'"), std::string::npos);
}

TEST(Runtime, LocalRankComesFromTheLaunchersEnvironment) {
  const char* vars[] = {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"};
  std::vector<std::optional<std::string>> saved;
  for (const char* v : vars) {
    const char* x = std::getenv(v);
    saved.push_back(x ? std::optional<std::string>(x) : std::nullopt);
    unsetenv(v);
  }
  EXPECT_EQ(local_rank(), -1);
  setenv("SLURM_LOCALID", "2", 1);
  EXPECT_EQ(local_rank(), 2);
  setenv("OMPI_COMM_WORLD_LOCAL_RANK", "3", 1);  // Open MPI's is read first
  EXPECT_EQ(local_rank(), 3);
  setenv("OMPI_COMM_WORLD_LOCAL_RANK", "3x", 1);  // not a number: the next variable
  EXPECT_EQ(local_rank(), 2);
  setenv("OMPI_COMM_WORLD_LOCAL_RANK", "-1", 1);
  setenv("SLURM_LOCALID", "", 1);
  EXPECT_EQ(local_rank(), -1);
  for (size_t i = 0; i < saved.size(); ++i) {
    if (saved[i]) {
      setenv(vars[i], saved[i]->c_str(), 1);
    } else {
      unsetenv(vars[i]);
    }
  }
}

// relaunch_with_passive_openmp in a forked child: without a policy in the environment it
// replaces the process by `exe` with OMP_WAIT_POLICY=passive; with one (the user's, or set by
// the relaunch itself) it returns, and the process goes on unchanged.
TEST(Runtime, RelaunchSetsAPassiveOpenMpWaitPolicyOnceAndKeepsTheUsersChoice) {
  test::TempDir dir;
  const std::string out = (dir / "policy").string();
  const auto run = [&](const char* preset) {
    const pid_t pid = fork();
    if (pid == 0) {
      if (preset)
        setenv("OMP_WAIT_POLICY", preset, 1);
      else
        unsetenv("OMP_WAIT_POLICY");
      const std::string script = "printf %s \"$OMP_WAIT_POLICY\" > '" + out + "'";
      char* argv[] = {const_cast<char*>("sh"), const_cast<char*>("-c"),
                      const_cast<char*>(script.c_str()), nullptr};
      relaunch_with_passive_openmp("/bin/sh", argv);
      std::FILE* f = std::fopen(out.c_str(), "w");  // returned: no relaunch
      if (f) {
        std::fputs("returned", f);
        std::fclose(f);
      }
      _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return test::read_bytes(out);
  };
  EXPECT_EQ(run(nullptr), "passive");
  EXPECT_EQ(run("active"), "returned");
  EXPECT_EQ(run("passive"), "returned");
}

TEST(Runtime, VisibleDevicesAreTheOnesParseDeviceAccepts) {
  // "cpu" always, then one "cuda:N" per device this LibTorch sees (none in Debian's).
  const auto devices = visible_devices();
  ASSERT_FALSE(devices.empty());
  EXPECT_EQ(devices.front(), "cpu");
  EXPECT_EQ(devices.size(), 1 + (cuda_available() ? size_t(torch::cuda::device_count()) : 0));
  for (size_t i = 1; i < devices.size(); ++i) {
    EXPECT_EQ(devices[i], "cuda:" + std::to_string(i - 1));
    EXPECT_EQ(parse_device(devices[i]).index, int(i - 1));
  }
  // A refused choice leaves the previous one in place.
  set_compute_device("cpu");
  EXPECT_THROW(set_compute_device("tpu"), InputError);
  if (!cuda_available()) {
    EXPECT_THROW(set_compute_device("cuda:0"), InputError);
  }
  EXPECT_EQ(compute_device_name(), "cpu");
}

TEST(Strings, NaturalOrderAndLayerIndex) {
  EXPECT_TRUE(natural_less("model.layers.2.q", "model.layers.10.q"));
  EXPECT_FALSE(natural_less("model.layers.10.q", "model.layers.2.q"));
  EXPECT_TRUE(natural_less("a.k_proj", "a.q_proj"));
  EXPECT_EQ(layer_index("model.layers.12.mlp.up_proj"), 12);
  EXPECT_EQ(layer_index("transformer.h.3.attn.c_attn"), 3);
  EXPECT_EQ(layer_index("lm_head"), std::nullopt);
  EXPECT_EQ(leaf_name("model.layers.0.self_attn.q_proj"), "q_proj");
}

TEST(Strings, Utf8Validation) {
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xff"));
  EXPECT_FALSE(is_valid_utf8("\xc3"));          // truncated
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));      // overlong
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));  // surrogate
}

TEST(AtomicFile, FailedFolderFillLeavesNothing) {
  test::TempDir dir;
  EXPECT_THROW(write_folder_atomic(dir / "out", false,
                                   [](const std::filesystem::path& tmp) {
                                     write_file_atomic(tmp / "a.txt", "half");
                                     throw InputError("stop");
                                   }),
               InputError);
  EXPECT_TRUE(test::list_files(dir.path()).empty());
  write_folder_atomic(dir / "out", false, [](const std::filesystem::path& tmp) {
    write_file_atomic(tmp / "a.txt", "whole");
  });
  EXPECT_EQ(test::read_bytes(dir / "out" / "a.txt"), "whole");
}
