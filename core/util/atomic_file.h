// Atomic file and folder output: write to a temporary name in the same folder, then rename,
// so a reader never sees a half-written file and a failure or cancel leaves nothing behind.
// A process killed mid-write (SIGKILL, a power cut) cannot clean up: its temporary names its
// pid and machine, and the next write to the same target on that machine removes temporaries
// whose writer is dead (and puts back a previous version a dead writer had moved aside).
#pragma once

#include <filesystem>
#include <functional>
#include <string_view>

namespace basin {

// Writes `bytes` to `path` atomically (temp file in the same folder, fsync, rename).
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

// Streams into a temporary file next to `path`; commit() fsyncs and renames it into place.
// Destroyed without commit() (an exception, a cancel) it removes the temporary file.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::filesystem::path path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, size_t n);
  void commit();
  const std::filesystem::path& temp_path() const { return temp_; }

 private:
  std::filesystem::path path_, temp_;
  int fd_ = -1;
  bool committed_ = false;
};

// Builds a folder atomically: `fill` writes into a fresh temporary folder beside `dir`, which is
// then renamed to `dir`. With `overwrite`, an existing `dir` is replaced only after `fill`
// succeeded; without it, an existing non-empty `dir` is an InputError.
void write_folder_atomic(const std::filesystem::path& dir, bool overwrite,
                         const std::function<void(const std::filesystem::path& tmp_dir)>& fill);

// Refuses, before any work, an output that cannot be written: the folder that will hold it (its
// nearest existing ancestor, for outputs whose folders are created on the way) must be a folder
// in which a file can be created. A probe file is created and removed; InputError names the
// folder and the reason (a read-only filesystem, no permission, no space).
void check_output_location(const std::filesystem::path& output);

}  // namespace basin
