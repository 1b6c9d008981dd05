// Atomic file and folder output: write to a temporary name in the same folder, then rename,
// so a reader never sees a half-written file and a failure or cancel leaves nothing behind.
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

}  // namespace basin
