// api/http_types.h — one HTTP exchange as the API's handlers see it, without the transport.
//
// The server (api_server.h) reads requests with Boost.Beast and writes the replies; everything in
// between (sessions, roles, CSRF, routing, the endpoints themselves) works on these plain structs,
// so that it can be tested without sockets and reviewed without Beast.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "procedure/roles.h"

namespace hotline::api {

struct HttpCall {
  std::string method;  // "GET", "POST", …
  std::string target;  // the path and query as sent
  std::string path;    // the path alone
  std::string query;   // after '?', without it; "" if none
  std::string body;
  std::string content_type;  // the Content-Type header, e.g. "application/json"
  std::string session;       // the value of the session cookie; "" if none
  std::string csrf_token;    // the X-CSRF-Token header
  std::string origin;        // the Origin header; "" if none
  std::string host;          // the Host header
  std::string from;          // the client's address, "127.0.0.1:40312"
  bool from_loopback = false;
};

struct HttpReply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // Set-Cookie, Retry-After, Allow, …
};

using Reply = std::function<void(HttpReply)>;

// A call the station answers (routes with Handler::kStation), as its control socket would get
// it: the target without the "/api" prefix ("/v1/lines/x/requests"), and for a route that acts,
// the body with "as" set to the logged-in user.
struct StationCall {
  std::string method;
  std::string target;
  std::string body;
  std::string user;
  procedure::Role role = procedure::Role::kOperator;
};

using StationBackend = std::function<void(const StationCall&, Reply)>;

// An HTTP reply with a JSON body: {"error": message} for errors.
HttpReply json_reply(int status, const std::string& json_text);
HttpReply error_reply(int status, const std::string& message);

}  // namespace hotline::api
