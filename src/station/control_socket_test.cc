#include "station/control_socket.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <stdexcept>
#include <thread>

#include "link/asio.h"
#include "testing/temp_dir.h"

namespace hotline::station {
namespace {

namespace asio = link::asio;
using LocalProtocol = asio::local::stream_protocol;

// Answers "<method> <target> <body>" as text; POST gets 201, /throw throws.
ControlResponse echo(const ControlRequest& request) {
  if (request.target == "/throw") {
    throw std::runtime_error("the handler failed");
  }
  return ControlResponse{request.method == "POST" ? 201 : 200,
                         request.method + " " + request.target + " " + request.body, "text/plain"};
}

// A response read off a raw socket: the status line and headers, and the body.
struct RawResponse {
  std::string head;
  std::string body;
};

// Reads one response framed by Content-Length, leaving whatever follows in `buffer`.
RawResponse read_raw_response(LocalProtocol::socket& socket, std::string& buffer) {
  std::size_t head_size = asio::read_until(socket, asio::dynamic_buffer(buffer), "\r\n\r\n");
  RawResponse response{buffer.substr(0, head_size), ""};
  buffer.erase(0, head_size);
  const std::string kLengthField = "Content-Length: ";
  std::size_t field = response.head.find(kLengthField);
  EXPECT_NE(field, std::string::npos) << response.head;
  if (field == std::string::npos) {
    return response;
  }
  std::size_t length = std::stoul(response.head.substr(field + kLengthField.size()));
  if (buffer.size() < length) {
    asio::read(socket, asio::dynamic_buffer(buffer),
               asio::transfer_exactly(length - buffer.size()));
  }
  response.body = buffer.substr(0, length);
  buffer.erase(0, length);
  return response;
}

bool file_exists(const std::string& path) {
  struct stat info {};
  return ::lstat(path.c_str(), &info) == 0;
}

class ControlSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    io_thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    run_on_io([this] { server_.reset(); });
    // The io thread ends once the server's coroutines have: none may outlive the server.
    work_.reset();
    io_thread_.join();
  }

  void start_server() {
    auto started = ControlServer::start(io_, socket_path_, echo);
    ASSERT_TRUE(started.ok()) << started.error().message;
    server_ = std::move(started).value();
  }

  // Runs `action` on the io thread (where stop() and the destructor belong) and waits for it.
  void run_on_io(const std::function<void()>& action) {
    std::promise<void> done;
    asio::post(io_, [&] {
      action();
      done.set_value();
    });
    done.get_future().wait();
  }

  LocalProtocol::socket connect_raw() {
    LocalProtocol::socket socket(client_io_);
    socket.connect(LocalProtocol::endpoint(socket_path_));
    return socket;
  }

  hotline::testing::TempDir dir_;
  const std::string socket_path_ = dir_.file("control.sock");
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  asio::io_context client_io_;  // for the raw sockets' blocking calls; never run
  std::unique_ptr<ControlServer> server_;
  std::thread io_thread_;
};

TEST_F(ControlSocketTest, MissingSocketIsNotFound) {
  auto response = control_request(dir_.file("absent.sock"), "GET", "/status", "");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, Errc::kNotFound);
  EXPECT_NE(response.error().message.find("no station is serving from " + dir_.file("absent.sock")),
            std::string::npos)
      << response.error().message;
}

TEST_F(ControlSocketTest, PathTooLongForSunPathIsInvalidArgument) {
  const std::string long_path = dir_.file(std::string(200, 'x') + ".sock");
  auto started = ControlServer::start(io_, long_path, echo);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, Errc::kInvalidArgument);
  EXPECT_NE(started.error().message.find(long_path), std::string::npos);
  auto response = control_request(long_path, "GET", "/", "");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, Errc::kInvalidArgument);
}

TEST_F(ControlSocketTest, SecondServerOnTheSamePathIsRefused) {
  start_server();
  auto second = ControlServer::start(io_, socket_path_, echo);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, Errc::kRefused);
  EXPECT_NE(second.error().message.find("another station is serving from " + dir_.path()),
            std::string::npos)
      << second.error().message;
  // The first server keeps its socket.
  auto response = control_request(socket_path_, "GET", "/status", "");
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 200);
}

TEST_F(ControlSocketTest, SomethingElseAtThePathIsLeftAlone) {
  std::ofstream(socket_path_) << "not a socket";
  auto started = ControlServer::start(io_, socket_path_, echo);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, Errc::kRefused);
  EXPECT_TRUE(std::filesystem::is_regular_file(socket_path_));
}

TEST_F(ControlSocketTest, StaleSocketFileIsReplaced) {
  {
    // What a crashed station leaves: a bound socket file with nobody listening.
    LocalProtocol::acceptor crashed(client_io_);
    crashed.open(LocalProtocol());
    crashed.bind(LocalProtocol::endpoint(socket_path_));
  }
  ASSERT_TRUE(file_exists(socket_path_));
  start_server();
  auto response = control_request(socket_path_, "GET", "/status", "");
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 200);
}

TEST_F(ControlSocketTest, SocketFileIsOwnerOnly) {
  start_server();
  struct stat info {};
  ASSERT_EQ(::lstat(socket_path_.c_str(), &info), 0);
  EXPECT_TRUE(S_ISSOCK(info.st_mode));
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST_F(ControlSocketTest, GetAndPostRoundTrip) {
  start_server();
  auto got = control_request(socket_path_, "GET", "/status?verbose=1", "");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->body, "GET /status?verbose=1 ");
  EXPECT_EQ(got->content_type, "text/plain");

  auto posted = control_request(socket_path_, "POST", "/send", R"({"text":"hello"})");
  ASSERT_TRUE(posted.ok()) << posted.error().message;
  EXPECT_EQ(posted->status, 201);
  EXPECT_EQ(posted->body, R"(POST /send {"text":"hello"})");
}

TEST_F(ControlSocketTest, HandlerExceptionIs500WithJsonError) {
  start_server();
  auto response = control_request(socket_path_, "GET", "/throw", "");
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(response->content_type, "application/json");
  EXPECT_EQ(response->body, R"({"error":"internal error: the handler failed"})");
}

TEST_F(ControlSocketTest, BodyAtTheLimitIsServedAndOneByteMoreIs413) {
  start_server();
  const std::string largest(kMaxControlRequestBody, 'a');
  auto served = control_request(socket_path_, "POST", "/send", largest);
  ASSERT_TRUE(served.ok()) << served.error().message;
  EXPECT_EQ(served->status, 201);

  auto refused = control_request(socket_path_, "POST", "/send", largest + "a");
  ASSERT_TRUE(refused.ok()) << refused.error().message;
  EXPECT_EQ(refused->status, 413);
  EXPECT_EQ(refused->content_type, "application/json");
  EXPECT_EQ(refused->body.rfind(R"({"error":)", 0), 0u) << refused->body;
}

TEST_F(ControlSocketTest, MalformedRequestIs400AndClosed) {
  start_server();
  LocalProtocol::socket socket = connect_raw();
  asio::write(socket, asio::buffer(std::string("\x01\x02 garbage\r\n\r\n")));
  std::string buffer;
  RawResponse response = read_raw_response(socket, buffer);
  EXPECT_EQ(response.head.rfind("HTTP/1.1 400 ", 0), 0u) << response.head;
  EXPECT_EQ(response.body.rfind(R"({"error":"malformed HTTP request)", 0), 0u) << response.body;
  boost::system::error_code ec;
  asio::read(socket, asio::dynamic_buffer(buffer), ec);
  EXPECT_EQ(ec, asio::error::eof);
}

TEST_F(ControlSocketTest, KeepAliveAnswersRequestsInTurnOnOneConnection) {
  start_server();
  LocalProtocol::socket socket = connect_raw();
  std::string buffer;
  asio::write(socket, asio::buffer(std::string("GET /first HTTP/1.1\r\nHost: x\r\n\r\n")));
  RawResponse first = read_raw_response(socket, buffer);
  EXPECT_EQ(first.head.rfind("HTTP/1.1 200 ", 0), 0u) << first.head;
  EXPECT_NE(first.head.find("Cache-Control: no-store\r\n"), std::string::npos) << first.head;
  EXPECT_NE(first.head.find("Content-Type: text/plain\r\n"), std::string::npos) << first.head;
  EXPECT_EQ(first.body, "GET /first ");

  asio::write(socket, asio::buffer(std::string("POST /second HTTP/1.1\r\nHost: x\r\n"
                                               "Content-Length: 2\r\n\r\nhi")));
  RawResponse second = read_raw_response(socket, buffer);
  EXPECT_EQ(second.head.rfind("HTTP/1.1 201 ", 0), 0u) << second.head;
  EXPECT_EQ(second.body, "POST /second hi");
  // The connection stays open into TearDown, which must close it cleanly.
}

TEST_F(ControlSocketTest, StopClosesConnectionsAndRemovesTheFile) {
  start_server();
  // One request first, so that the connection has been accepted (a connection still in the
  // backlog would be reset instead) and is then idle between requests.
  LocalProtocol::socket idle = connect_raw();
  std::string buffer;
  asio::write(idle, asio::buffer(std::string("GET /first HTTP/1.1\r\nHost: x\r\n\r\n")));
  EXPECT_EQ(read_raw_response(idle, buffer).body, "GET /first ");

  run_on_io([this] { server_->stop(); });
  EXPECT_FALSE(file_exists(socket_path_));
  boost::system::error_code ec;
  asio::read(idle, asio::dynamic_buffer(buffer), ec);
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_TRUE(buffer.empty());

  run_on_io([this] { server_->stop(); });  // idempotent
  run_on_io([this] { server_.reset(); });
  EXPECT_FALSE(file_exists(socket_path_));
  auto response = control_request(socket_path_, "GET", "/status", "");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, Errc::kNotFound);
}

TEST_F(ControlSocketTest, HandlerMayStopTheServer) {
  auto started = ControlServer::start(io_, socket_path_, [this](const ControlRequest&) {
    server_->stop();
    return ControlResponse{};
  });
  ASSERT_TRUE(started.ok()) << started.error().message;
  server_ = std::move(started).value();
  auto response = control_request(socket_path_, "POST", "/stop", "");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, Errc::kIo);
  EXPECT_FALSE(file_exists(socket_path_));
}

TEST_F(ControlSocketTest, ClientGivesUpAfterItsTimeout) {
  // A listener that never accepts: the connection completes (the kernel queues it) but no
  // response ever comes.
  LocalProtocol::acceptor silent(client_io_, LocalProtocol::endpoint(socket_path_));
  auto response =
      control_request(socket_path_, "GET", "/status", "", std::chrono::milliseconds(100));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, Errc::kIo);
  EXPECT_NE(response.error().message.find("within 100 ms"), std::string::npos)
      << response.error().message;
}

TEST_F(ControlSocketTest, ClientRefusesMethodsAndTargetsThatWouldBreakTheRequest) {
  auto bad_method = control_request(socket_path_, "GET /x HTTP/1.1\r\n", "/", "");
  ASSERT_FALSE(bad_method.ok());
  EXPECT_EQ(bad_method.error().code, Errc::kInvalidArgument);
  auto bad_target = control_request(socket_path_, "GET", "/x HTTP/1.1\r\nEvil: 1", "");
  ASSERT_FALSE(bad_target.ok());
  EXPECT_EQ(bad_target.error().code, Errc::kInvalidArgument);
}

}  // namespace
}  // namespace hotline::station
