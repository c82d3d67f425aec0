// core/file_io.h — small whole-file reads and durable writes.
#pragma once

#include <string>

#include "core/bytes.h"
#include "core/result.h"

namespace hotline {

// Reads all of `path`, refusing files larger than `max_size`. kNotFound if it does not exist.
[[nodiscard]] Result<Bytes> read_whole_file(const std::string& path, std::size_t max_size);

// Creates `path` with `mode` (failing if it exists), writes `data`, and fsyncs the file and its
// directory, so that the file survives a crash once this returns.
[[nodiscard]] Result<void> create_file_durably(const std::string& path, ByteView data,
                                               unsigned mode);

// Replaces `path` atomically: writes a temporary file beside it, fsyncs, renames, fsyncs the
// directory.
[[nodiscard]] Result<void> replace_file_durably(const std::string& path, ByteView data,
                                                unsigned mode);

// fsyncs the directory holding `path`.
[[nodiscard]] Result<void> sync_parent_directory(const std::string& path);

}  // namespace hotline
