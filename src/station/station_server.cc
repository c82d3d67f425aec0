#include "station/station_server.h"

#include <fcntl.h>
#include <sodium.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "core/bytes.h"
#include "core/cbor.h"
#include "core/duration.h"
#include "core/file_io.h"
#include "crypto/key_file.h"
#include "link/tls_handshake.h"
#include "procedure/entry_kinds.h"
#include "procedure/roles.h"
#include "station/config.h"
#include "station/control_socket.h"
#include "station/json_log.h"
#include "station/line_desk.h"
#include "station/message_request.h"
#include "station/people.h"
#include "station/procedure_api.h"
#include "station/procedure_json.h"
#include "station/record_api.h"
#include "station/station_api.h"
#include "station/station_dir.h"
#include "station/station_status.h"

namespace hotline::station {

namespace asio = link::asio;
using nlohmann::json;

std::string control_socket_path(const std::string& dir) { return dir + "/control.sock"; }
std::string test_clock_path(const std::string& dir) { return dir + "/test-clock"; }

namespace {

// A text message's entry body (docs/record-format.md §3): the text, its precedence, a random id
// that makes every message's body unique (so that a station recovering its own chain can tell
// which queued drafts it had already authored before it lost them), who sent it, and for FLASH the
// acknowledgement deadline from the line's terms.
Bytes message_body(const std::string& text, Precedence precedence, const std::string& from,
                   std::optional<Micros> ack_deadline) {
  procedure::MessageBody message;
  message.text = text;
  message.precedence = precedence;
  message.id.resize(16);
  randombytes_buf(message.id.data(), message.id.size());
  message.from = from;
  message.ack_deadline = ack_deadline;
  return cbor::encode(procedure::encode_message(message));
}

ControlResponse message_response(int status, const std::string& message) {
  return json_response(status, {{"error", message}});
}

class Station {
 public:
  Result<void> open(ServeOptions& options) {
    HOTLINE_ASSIGN(paths_, open_station_dir(options.dir));
    HOTLINE_TRY(lock_dir());
    HOTLINE_ASSIGN(config_, load_config(paths_.config()));
    if (auto level = spdlog::level::from_str(config_.log_level); level != spdlog::level::off) {
      spdlog::set_level(level);
    }
    if (config_.log_format == "json") {
      spdlog::set_formatter(std::make_unique<JsonLogFormatter>());
    }
    HOTLINE_ASSIGN(key_, crypto::read_key_file(paths_.key(), options.passphrase));
    HOTLINE_ASSIGN(store_, store::open_sqlite_store(paths_.database(), {}));
    timing_ = options.timing;
    test_clock_ = options.test_clock;
    if (test_clock_) {
      HOTLINE_TRY(check_test_configuration(config_, paths_.config()));
      HOTLINE_TRY(load_test_clock());
    }
    for (const LineConfig& line : config_.lines) {
      HOTLINE_TRY(open_line(line));
    }
    std::map<std::string, LineDesk*> desks;
    for (auto& [name, desk] : desks_) {
      HOTLINE_TRY(desk->open());
      desks[name] = desk.get();
    }
    procedure_api_ =
        std::make_unique<ProcedureApi>(*store_, std::move(desks), test_clock_ ? &clock_ : nullptr,
                                       [this](Micros offset) { test_clock_moved(offset); });
    api_ = std::make_unique<StationApi>(StationApiParts{
        io_, clock_, *store_, config_, paths_, test_clock_,
        [this](const ControlRequest& request, ControlResponder respond) {
          handle(request, std::move(respond));
        },
        [this] {
          std::vector<line::LineStatus> lines;
          for (const auto& [peer, link] : links_) {
            lines.push_back(link->status());
          }
          return lines;
        },
        [this] { return std::make_pair(handshakes_refused_, handshakes_failed_); }});
    for (auto& [name, desk] : desks_) {
      desk->set_event_sink([this](const std::string& type, json data) {
        api_->events().publish(type, std::move(data), procedure::Action::kReadRecord);
      });
    }
    return success();
  }

  ~Station() {
    if (lock_fd_ >= 0) {
      ::close(lock_fd_);
    }
  }

  Result<void> run() {
    HOTLINE_TRY(start_listener());
    HOTLINE_TRY(api_->start());
    HOTLINE_ASSIGN(control_, ControlServer::start(
                                 io_, control_socket_path(paths_.dir),
                                 [this](const ControlRequest& request, ControlResponder respond) {
                                   handle_local(request, std::move(respond));
                                 }));
    asio::signal_set signals(io_, SIGINT, SIGTERM);
    signals.async_wait([this](boost::system::error_code ec, int signal) {
      if (!ec) {
        spdlog::info("signal {}: stopping", signal);
        stop();
      }
    });
    for (auto& [peer, link] : links_) {
      link->start();
    }
    spdlog::info("station {} ({}) serving {} line(s); peers dial {}; control socket {}",
                 config_.name, key_->public_key().fingerprint(), links_.size(),
                 config_.listen.text(), control_socket_path(paths_.dir));
    io_.run();
    spdlog::info("station {} stopped", config_.name);
    return success();
  }

 private:
  // Two processes serving one directory would both write the record and sign on the same
  // chains: a fork. The lock is released by the kernel when the process ends, even by SIGKILL.
  Result<void> lock_dir() {
    const std::string path = paths_.dir + "/serve.lock";
    lock_fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) {
      return make_error(Errc::kIo, "cannot open " + path + ": " + std::strerror(errno));
    }
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      return make_error(Errc::kRefused,
                        "another hotline serve is already running from " + paths_.dir);
    }
    return success();
  }

  Result<void> load_test_clock() {
    const std::string path = test_clock_path(paths_.dir);
    auto text = read_whole_file(path, 64);
    if (!text.ok()) {
      return success();  // no offset yet: the real time
    }
    try {
      clock_.advance(std::stoll(std::string(text->begin(), text->end())));
    } catch (const std::exception&) {
      return make_error(Errc::kCorrupt, path + ": not a number of microseconds");
    }
    spdlog::warn("TEST CLOCK: this station's clock runs {} ahead of the real time",
                 format_duration(std::max<Micros>(1, clock_.offset())));
    return success();
  }

  void test_clock_moved(Micros offset) {
    auto written =
        replace_file_durably(test_clock_path(paths_.dir), as_bytes(std::to_string(offset)), 0600);
    if (!written.ok()) {
      spdlog::error("cannot keep the test clock's offset: {}", written.error().message);
    }
    spdlog::warn("TEST CLOCK: advanced; now {}", format_utc(clock_.now()));
    for (auto& [name, desk] : desks_) {
      desk->clock_changed();
    }
  }

  Result<void> open_line(const LineConfig& config) {
    const record::LineId id = record::derive_line_id(key_->public_key(), config.peer, config.name);
    store::LineParties parties{id, config.name, key_->public_key(), config.peer};
    HOTLINE_TRY(store_->add_line(parties));
    if (links_.count(config.peer) != 0) {
      return make_error(Errc::kInvalidArgument,
                        paths_.config() + ": line " + config.name +
                            " has the same peer station as another line; one line per peer");
    }
    HOTLINE_ASSIGN(auto record, line::LineRecord::open(*store_, *key_, parties, clock_,
                                                       [this](std::function<void()> fn) {
                                                         asio::post(io_, std::move(fn));
                                                       }));
    const std::string name = config.name;
    HOTLINE_ASSIGN(auto tls,
                   link::make_tls_context(
                       link::TlsRole::kClient, *key_,
                       [peer = config.peer](const crypto::PublicKey& k) { return k == peer; },
                       [name](const std::string& reason) {
                         spdlog::warn("SECURITY line {}: refused the peer: {}", name, reason);
                       }));
    std::vector<line::Route> routes;
    for (const Endpoint& e : config.routes) {
      routes.push_back({e.host, e.port});
    }
    auto link = std::make_unique<line::LineLink>(io_, *store_, std::move(record), std::move(routes),
                                                 *tls, timing_);
    client_tls_.push_back(std::move(tls));
    line_names_[config.name] = config.peer;
    desks_[config.name] = std::make_unique<LineDesk>(io_, *link, *store_, config);
    links_.emplace(config.peer, std::move(link));
    return success();
  }

  Result<void> start_listener() {
    HOTLINE_ASSIGN(server_tls_,
                   link::make_tls_context(
                       link::TlsRole::kServer, *key_,
                       [this](const crypto::PublicKey& k) { return links_.count(k) != 0; },
                       [this](const std::string& reason) {
                         ++handshakes_refused_;
                         spdlog::warn("SECURITY listener: refused a peer: {}", reason);
                       }));
    boost::system::error_code ec;
    auto address = asio::ip::make_address(config_.listen.host, ec);
    if (ec) {
      return make_error(
          Errc::kInvalidArgument,
          paths_.config() + ": listen address " + config_.listen.text() + " is not an IP address");
    }
    link::Tcp::endpoint endpoint(address, config_.listen.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) {
      acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
      acceptor_.bind(endpoint, ec);
    }
    if (!ec) {
      acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
      return make_error(Errc::kIo,
                        "cannot listen on " + config_.listen.text() + ": " + ec.message());
    }
    asio::co_spawn(io_, accept_loop(), asio::detached);
    return success();
  }

  asio::awaitable<void> accept_loop() {
    while (!stopped_) {
      boost::system::error_code ec;
      link::Tcp::socket socket =
          co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (stopped_) {
        break;
      }
      if (ec) {
        spdlog::warn("listener: accept failed: {}", ec.message());
        continue;
      }
      if (handshakes_in_progress_ >= kMaxConcurrentHandshakes) {
        // A flood of connections that never finish their handshake must not exhaust the station;
        // real peers are few and retry with backoff.
        ++handshakes_failed_;
        spdlog::warn("SECURITY listener: {} handshakes already in progress; refusing another",
                     handshakes_in_progress_);
        continue;  // the socket closes as it goes out of scope
      }
      ++handshakes_in_progress_;
      asio::co_spawn(io_, handshake(std::move(socket)), asio::detached);
    }
    co_return;
  }

  asio::awaitable<void> handshake(link::Tcp::socket socket) {
    boost::system::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    const std::string from =
        ec ? "unknown" : remote.address().to_string() + ":" + std::to_string(remote.port());
    socket.set_option(link::Tcp::no_delay(true), ec);
    auto stream = std::make_unique<link::TlsStream>(std::move(socket), *server_tls_);
    auto peer =
        co_await link::pinned_handshake(*stream, link::TlsRole::kServer, timing_.handshake_timeout);
    --handshakes_in_progress_;
    if (!peer.ok()) {
      ++handshakes_failed_;
      spdlog::warn("SECURITY listener: handshake with {} refused: {}", from, peer.error().message);
      co_return;
    }
    auto it = links_.find(peer.value());
    if (it == links_.end() || stopped_) {
      co_return;  // the pin admits only configured peers; stopping
    }
    it->second->adopt(std::move(stream), "from " + from, /*dialed_by_peer=*/true);
    co_return;
  }

  void stop() {
    if (stopped_) {
      return;
    }
    stopped_ = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (auto& [peer, link] : links_) {
      link->stop();
    }
    for (auto& [name, desk] : desks_) {
      desk->stop();
    }
    if (control_) {
      control_->stop();
    }
    if (api_) {
      api_->stop();
    }
    for (auto& [name, desk] : desks_) {
      desk->set_event_sink(nullptr);  // nothing is published once the API is stopping
    }
  }

  // GET /v1/lines/{line}/record (record_api.h), or nullopt for another path.
  std::optional<ControlResponse> record_endpoint(const ControlRequest& request,
                                                 const std::string& path) {
    const std::string prefix = "/v1/lines/";
    const std::string suffix = "/record";
    if (!path.starts_with(prefix) || !path.ends_with(suffix) ||
        path.size() <= prefix.size() + suffix.size()) {
      return std::nullopt;
    }
    const std::string name =
        path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
    auto line = line_names_.find(name);
    if (line == line_names_.end()) {
      return message_response(404, "no line named '" + name + "'");
    }
    if (request.method != "GET") {
      return message_response(405, "use GET to read the record");
    }
    const std::size_t question = request.target.find('?');
    const line::LineLink& link = *links_.at(line->second);
    return record_page(*store_, link.parties(), link.status().receipted,
                       question == std::string::npos ? "" : request.target.substr(question + 1));
  }

  // A request on the control socket: the owner acting for the user its body names ("as"). What
  // changes state is written to the audit trail, as the API's calls are (api_dispatcher.h).
  void handle_local(const ControlRequest& request, ControlResponder respond) {
    if (request.method == "GET") {
      handle(request, std::move(respond));
      return;
    }
    json body = json::parse(request.body, nullptr, false);
    const std::string user = body.is_object() && body.contains("as") && body["as"].is_string()
                                 ? body["as"].get<std::string>()
                                 : "";
    const std::string action =
        request.method + " " + request.target.substr(0, request.target.find('?'));
    handle(request, api_->audit_local_action(user, action, std::move(respond)));
  }

  void handle(const ControlRequest& request, ControlResponder respond) {
    try {
      std::string path = request.target.substr(0, request.target.find('?'));
      if (path == "/v1/status" && request.method == "GET") {
        respond(status());
        return;
      }
      if (path == "/v1/lines" && request.method == "GET") {
        respond(lines_health());
        return;
      }
      if (auto record = record_endpoint(request, path)) {
        respond(std::move(*record));
        return;
      }
      if (procedure_api_->handle(request, path, respond)) {
        return;
      }
      const std::string prefix = "/v1/lines/";
      const std::string suffix = "/messages";
      if (path.starts_with(prefix) && path.ends_with(suffix) &&
          path.size() > prefix.size() + suffix.size()) {
        if (request.method != "POST") {
          respond(message_response(405, "use POST to send a message"));
          return;
        }
        send_message(path.substr(prefix.size(), path.size() - prefix.size() - suffix.size()),
                     request.body, std::move(respond));
        return;
      }
      respond(message_response(404, "no such endpoint: " + request.method + " " + path));
    } catch (const std::exception& e) {
      respond(message_response(500, e.what()));
    }
  }

  // Answers 201 once the message is durable: authored at once, or queued in the outbox. With a
  // wait, answers once the peer's receipt for it is durable here instead (see await_receipt).
  void send_message(const std::string& line_name, const std::string& body,
                    ControlResponder respond) {
    auto checked = check_message(line_name, body);
    if (!checked.ok()) {
      respond(error_response(checked.error()));
      return;
    }
    MessageRequest message = std::move(checked).value();
    line::LineLink& link = *links_.at(line_names_.at(line_name));
    const Precedence precedence = message.precedence;
    const std::chrono::milliseconds wait = message.wait;
    const std::optional<Micros> ack_deadline =
        desks_.at(line_name)->message_ack_deadline(precedence);
    link.send(precedence, "message",
              message_body(message.text, precedence, message.as, ack_deadline),
              [this, &link, line_name, precedence, wait, ack_deadline,
               respond](Result<line::LineLink::Sent> sent) {
                if (!sent.ok()) {
                  respond(error_response(sent.error()));
                  return;
                }
                json answer = {{"line", line_name},
                               {"precedence", std::string(precedence_name(precedence))}};
                if (sent->authored) {
                  answer["status"] = "authored";
                  answer["seq"] = sent->seq;
                } else {
                  answer["status"] = "queued";
                  answer["draft"] = sent->draft;
                }
                if (ack_deadline) {
                  answer["ack_deadline"] = format_utc(*ack_deadline);
                }
                if (wait.count() == 0) {
                  respond(json_response(201, answer));
                  return;
                }
                await_receipt(link, sent.value(), wait, std::move(answer), respond);
              });
  }

  // Answers once the peer's receipt covering the message is durable here (201, "receipted"), or
  // when `wait` ran out (202: the message is durable and still on its way).
  void await_receipt(line::LineLink& link, const line::LineLink::Sent& sent,
                     std::chrono::milliseconds wait, json answer, ControlResponder respond) {
    auto timer = std::make_shared<asio::steady_timer>(io_);
    auto answered = std::make_shared<bool>(false);
    auto on_receipt = [&link, timer, answered, answer, respond]() mutable {
      if (*answered) {
        return;
      }
      *answered = true;
      timer->cancel();
      answer["status"] = "receipted";
      answer["receipted"] = link.receipted_seq();
      respond(json_response(201, answer));
    };
    const std::uint64_t token = link.await_receipt(sent, on_receipt);
    if (*answered) {
      return;
    }
    timer->expires_after(wait);
    timer->async_wait(
        [&link, timer, token, answered, answer, respond, wait](boost::system::error_code ec) {
          if (ec || *answered) {
            return;
          }
          *answered = true;
          link.forget_receipt_wait(token);
          json late = answer;
          late["waited_ms"] = wait.count();
          respond(json_response(202, late));
        });
  }

  // The message's precedence, text and wait, or why the request is refused.
  Result<MessageRequest> check_message(const std::string& line_name, const std::string& body) {
    if (line_names_.find(line_name) == line_names_.end()) {
      return make_error(Errc::kNotFound, "no line named '" + line_name + "'");
    }
    return parse_message_request(body, *store_);
  }

  ControlResponse status() {
    json lines = json::array();
    json requests = json::array();
    for (const auto& [peer, link] : links_) {
      const LineDesk& desk = *desks_.at(link->parties().name);
      lines.push_back(line_status_json(*link, desk));
      for (const auto& [id, request] : desk.book().requests()) {
        requests.push_back(request_summary_json(desk, request));
      }
    }
    return json_response(200, {{"station", config_.name},
                               {"clock", format_utc(clock_.now())},
                               {"test_clock", test_clock_},
                               {"fingerprint", key_->public_key().fingerprint()},
                               {"listen", config_.listen.text()},
                               {"handshakes_refused", handshakes_refused_},
                               {"handshakes_failed", handshakes_failed_},
                               {"lines", lines},
                               {"requests", requests}});
  }

  ControlResponse lines_health() {
    json lines = json::array();
    for (const auto& [peer, link] : links_) {
      const std::string& name = link->parties().name;
      lines.push_back(line_health_json(*link, *desks_.at(name), *config_.find_line(name)));
    }
    return json_response(200, {{"station", config_.name}, {"lines", lines}});
  }

  // Handshakes run at once; each ends within the handshake timeout.
  static constexpr std::size_t kMaxConcurrentHandshakes = 64;

  asio::io_context io_{1};
  StationPaths paths_;
  StationConfig config_;
  std::optional<crypto::SigningKey> key_;
  std::unique_ptr<store::RecordStore> store_;
  ShiftedClock clock_;  // the real time, unless serve --test-clock moved it
  bool test_clock_ = false;
  std::map<std::string, std::unique_ptr<LineDesk>> desks_;  // by line name
  std::unique_ptr<ProcedureApi> procedure_api_;
  std::unique_ptr<StationApi> api_;
  line::LinkTiming timing_;
  std::vector<std::unique_ptr<asio::ssl::context>> client_tls_;
  std::unique_ptr<asio::ssl::context> server_tls_;
  std::map<crypto::PublicKey, std::unique_ptr<line::LineLink>> links_;
  std::map<std::string, crypto::PublicKey> line_names_;
  link::Tcp::acceptor acceptor_{io_};
  std::unique_ptr<ControlServer> control_;
  std::uint64_t handshakes_refused_ = 0;  // a key not pinned, or no certificate
  std::uint64_t handshakes_failed_ = 0;   // every failed handshake (plain TCP, TLS 1.2, silence)
  std::size_t handshakes_in_progress_ = 0;
  bool stopped_ = false;
  int lock_fd_ = -1;
};

}  // namespace

Result<void> serve(ServeOptions options) {
  Station station;
  HOTLINE_TRY(station.open(options));
  return station.run();
}

}  // namespace hotline::station
