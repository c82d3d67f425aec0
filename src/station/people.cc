#include "station/people.h"

namespace hotline::station {

Result<Actor> actor_for(store::RecordStore& store, const std::string& name,
                        procedure::Action action) {
  if (name.empty()) {
    return make_error(Errc::kInvalidArgument,
                      "field 'as' must name the user who acts (hotline user add)");
  }
  auto user = store.user(name);
  if (!user.ok()) {
    if (user.error().code == Errc::kNotFound) {
      return make_error(Errc::kRefused, "no user named '" + name + "' at this station");
    }
    return user.error();
  }
  if (user->disabled) {
    return make_error(Errc::kRefused, "user '" + name + "' is disabled");
  }
  auto role = procedure::parse_role(user->role);
  if (!role.ok()) {
    return make_error(Errc::kInternal, "user '" + name + "' has an unknown role '" + user->role +
                                           "' in the database");
  }
  auto permitted = procedure::check_permitted(role.value(), action);
  if (!permitted.ok()) {
    return make_error(Errc::kRefused, "user '" + name + "': " + permitted.error().message);
  }
  return Actor{name, role.value()};
}

}  // namespace hotline::station
