// api/routes.h — every endpoint of the HTTP API, and who may call it (design.md §6).
//
// This table is the API's surface: the server refuses what is not in it (404, or 405 for a known
// path with another method), checks the caller's role against the route's action before anything
// else runs (403), and docs/api.yaml documents exactly these routes (a test holds them equal).
// Role checks happen here for every call, and again where the action is taken (the station's
// handlers check the acting user, people.h), so a route table mistake cannot grant an action.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "procedure/roles.h"

namespace hotline::api {

enum class Access {
  kPublic,   // anyone: /healthz, logging in
  kSession,  // anyone logged in (with the second factor, if enrolled), whatever the role
  kAction,   // a logged-in user whose role permits the route's action
};

// Who answers: the API server itself (sessions, users, audit, events, operations), or the
// station behind it (the procedure and the lines), through the same handlers as the control
// socket.
enum class Handler { kServer, kStation };

struct Route {
  std::string_view method;   // "GET", "POST", "DELETE"
  std::string_view pattern;  // e.g. "/api/v1/lines/{line}/requests/{id}/ack"
  Access access;
  procedure::Action action;  // read only for Access::kAction
  // The call acts on behalf of the logged-in user: the server names them as the actor ("as") in
  // what it passes on, and refuses a body that names anyone else.
  bool acts;
  Handler handler;
};

// Every route, in the order docs/api.yaml lists them.
std::span<const Route> all_routes();

struct RouteMatch {
  const Route* route = nullptr;     // null: no route for this method and path
  bool path_known = false;          // some route has this path with another method (405)
  std::vector<std::string> params;  // the {…} segments of the path, in order, percent-decoded
};

// The route for `method` and `path` (without the query).
RouteMatch match_route(std::string_view method, std::string_view path);

// Whether a request with `method` changes state (everything but GET and HEAD): it needs the CSRF
// token.
bool changes_state(std::string_view method);

// `text` with %XX decoded; nullopt if an escape is malformed or decodes to a NUL or '/'.
std::optional<std::string> percent_decode(std::string_view text);

}  // namespace hotline::api
