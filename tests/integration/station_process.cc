#include "integration/station_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "integration/hotline_process.h"
#include "station/control_socket.h"
#include "station/station_server.h"

#ifndef HOTLINE_BINARY
#error "HOTLINE_BINARY must name the hotline binary under test"
#endif

namespace hotline::testing {

// A port below the kernel's ephemeral range (32768 and up on Linux), free when asked. A port the
// kernel hands out for bind(0) comes from that range, from which every outgoing connection also
// takes its local port: a station started long after the port was picked (a test that builds a
// backlog first) could find it taken by some other test's connection.
std::uint16_t free_port() {
  static std::mt19937 pick{std::random_device{}()};
  std::uniform_int_distribution<int> below_ephemeral(20000, 32000);
  for (int attempt = 0; attempt < 200; ++attempt) {
    const auto port = static_cast<std::uint16_t>(below_ephemeral(pick));
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    if (bound) {
      return port;
    }
  }
  throw std::runtime_error("cannot find a free port below the ephemeral range");
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) {
      return true;
    }
    // Polls another process's state; the interval bounds the polling cost, not the test's result.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

StationProcess::StationProcess(std::string root, std::string name, std::uint8_t seed_byte,
                               std::string listen_host)
    : root_(std::move(root)),
      name_(std::move(name)),
      seed_byte_(seed_byte),
      host_(std::move(listen_host)),
      port_(free_port()),
      api_port_(free_port()),
      dir_(root_ + "/" + name_) {}

StationProcess::~StationProcess() {
  if (pid_ > 0) {
    kill9();
  }
}

std::string StationProcess::log_path() const { return root_ + "/" + name_ + ".log"; }

std::string StationProcess::log() const {
  std::ifstream in(log_path());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string StationProcess::listen() const { return host_ + ":" + std::to_string(port_); }

std::string StationProcess::seed_hex() const {
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (int i = 0; i < 32; ++i) {
    hex += digits[seed_byte_ >> 4];
    hex += digits[seed_byte_ & 15];
  }
  return hex;
}

void StationProcess::init() {
  auto r =
      run_hotline({"init", "--dir", dir_, "--name", name_, "--listen", listen(), "--api",
                   "127.0.0.1:" + std::to_string(api_port_), "--seed-hex", seed_hex(), "--json"});
  if (r.exit_code != 0) {
    throw std::runtime_error("init " + name_ + " failed: " + r.err + r.out);
  }
  auto f = run_hotline({"fingerprint", "--dir", dir_});
  fingerprint_ = f.out.substr(0, f.out.find('\n'));
}

void StationProcess::add_line(const std::string& line, const std::string& peer_fingerprint,
                              const std::vector<std::string>& routes,
                              const std::vector<std::string>& more_flags) {
  std::vector<std::string> args = {"line",   "add", "--dir",  dir_,
                                   "--name", line,  "--peer", peer_fingerprint};
  for (const auto& route : routes) {
    args.push_back("--route");
    args.push_back(route);
  }
  args.insert(args.end(), more_flags.begin(), more_flags.end());
  auto r = run_hotline(args);
  if (r.exit_code != 0) {
    throw std::runtime_error("line add on " + name_ + " failed: " + r.err + r.out);
  }
}

void StationProcess::start() {
  if (pid_ > 0) {
    throw std::runtime_error(name_ + " is already running");
  }
  const std::string log_file = log_path();
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    // The station must not outlive a crashed test.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
      ::_exit(1);
    }
    int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<std::string> args = {HOTLINE_BINARY, "serve", "--dir", dir_};
    args.insert(args.end(), serve_flags_.begin(), serve_flags_.end());
    std::vector<char*> argv;
    for (std::string& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  const bool up = wait_until(
      [&] {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          throw std::runtime_error(name_ + " exited at start; its log:\n" + log());
        }
        auto r = station::control_request(station::control_socket_path(dir_), "GET", "/v1/status",
                                          "", std::chrono::seconds(2));
        return r.ok() && r->status == 200;
      },
      std::chrono::seconds(30));
  if (!up) {
    throw std::runtime_error(name_ + " did not start; its log:\n" + log());
  }
}

void StationProcess::kill9() {
  if (pid_ <= 0) {
    return;
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void StationProcess::terminate() {
  if (pid_ <= 0) {
    return;
  }
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error(name_ + " did not stop cleanly on SIGTERM; its log:\n" + log());
  }
}

nlohmann::json StationProcess::status() const {
  auto r = station::control_request(station::control_socket_path(dir_), "GET", "/v1/status", "",
                                    std::chrono::seconds(10));
  if (!r.ok() || r->status != 200) {
    throw std::runtime_error(name_ + " status failed: " + (r.ok() ? r->body : r.error().message));
  }
  return nlohmann::json::parse(r->body);
}

nlohmann::json StationProcess::line_status(const std::string& line) const {
  const nlohmann::json all = status();
  for (const auto& l : all["lines"]) {
    if (l["name"] == line) {
      return l;
    }
  }
  throw std::runtime_error(name_ + " has no line " + line);
}

nlohmann::json StationProcess::send(const std::string& line, const std::string& precedence,
                                    const std::string& text, double wait_seconds) const {
  nlohmann::json body = {{"precedence", precedence}, {"text", text}};
  if (wait_seconds > 0) {
    body["wait"] = wait_seconds;
  }
  auto r = station::control_request(station::control_socket_path(dir_), "POST",
                                    "/v1/lines/" + line + "/messages", body.dump(),
                                    std::chrono::seconds(10));
  if (!r.ok() || r->status != 201) {
    throw std::runtime_error(name_ + " send failed: " + (r.ok() ? r->body : r.error().message));
  }
  return nlohmann::json::parse(r->body);
}

}  // namespace hotline::testing
