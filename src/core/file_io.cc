#include "core/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace hotline {
namespace {

Error io_error(const std::string& what, const std::string& path, int err) {
  return make_error(err == ENOENT ? Errc::kNotFound : Errc::kIo,
                    what + " " + path + ": " + std::strerror(err));
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

Result<void> write_all_and_sync(int fd, ByteView data, const std::string& path) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return io_error("cannot write", path, errno);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    return io_error("cannot fsync", path, errno);
  }
  return success();
}

Result<void> write_new_file(const std::string& path, ByteView data, unsigned mode) {
  FileDescriptor fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (fd.get() < 0) {
    return io_error("cannot create", path, errno);
  }
  // The umask may have narrowed the mode; an explicit chmod makes it exact.
  if (::fchmod(fd.get(), mode) != 0) {
    return io_error("cannot set permissions of", path, errno);
  }
  HOTLINE_TRY(write_all_and_sync(fd.get(), data, path));
  if (::close(fd.release()) != 0) {
    return io_error("cannot close", path, errno);
  }
  return success();
}

}  // namespace

Result<Bytes> read_whole_file(const std::string& path, std::size_t max_size) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    return io_error("cannot open", path, errno);
  }
  Bytes out;
  std::uint8_t buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return io_error("cannot read", path, errno);
    }
    if (n == 0) {
      break;
    }
    if (out.size() + static_cast<std::size_t>(n) > max_size) {
      return make_error(Errc::kCorrupt, "file " + path + " is larger than the " +
                                            std::to_string(max_size) + " bytes allowed");
    }
    out.insert(out.end(), buffer, buffer + n);
  }
  return out;
}

Result<void> sync_parent_directory(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) {
    return io_error("cannot open directory", dir, errno);
  }
  if (::fsync(fd.get()) != 0) {
    return io_error("cannot fsync directory", dir, errno);
  }
  return success();
}

Result<void> create_file_durably(const std::string& path, ByteView data, unsigned mode) {
  HOTLINE_TRY(write_new_file(path, data, mode));
  return sync_parent_directory(path);
}

Result<void> replace_file_durably(const std::string& path, ByteView data, unsigned mode) {
  const std::string temporary = path + ".tmp";
  ::unlink(temporary.c_str());
  HOTLINE_TRY(write_new_file(temporary, data, mode));
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(temporary.c_str());
    return io_error("cannot rename into place", path, err);
  }
  return sync_parent_directory(path);
}

}  // namespace hotline
