// station/people.h — who acts at this station: a user named in a command, checked against the
// one role table (procedure/roles.h) before anything is done for them.
#pragma once

#include <string>

#include "procedure/roles.h"
#include "station/line_desk.h"
#include "store/record_store.h"

namespace hotline::station {

// The user `name` as an Actor, if they exist, are enabled and their role permits `action`;
// otherwise kRefused saying which of those failed (kInternal for a role the database should not
// hold). The control socket is the station owner's (mode 0600); `name` says on whose behalf the
// owner acts, and that person's role is what counts.
Result<Actor> actor_for(store::RecordStore& store, const std::string& name,
                        procedure::Action action);

}  // namespace hotline::station
