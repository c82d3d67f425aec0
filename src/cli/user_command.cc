// `hotline user add|list|disable`: the people who may act at a station (design.md §6).
//
// These open the station's database directly, so they work whether or not `hotline serve` runs:
// SQLite in WAL mode lets one process write while others read, and a write that meets another
// process's write waits for it (store::kBusyTimeoutMillis). Whoever can write DIR manages its
// users; the role check for managing users (procedure::Action::kManageUsers) applies to people
// acting through the API and console.
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "crypto/password.h"
#include "procedure/users.h"
#include "station/station_dir.h"
#include "store/record_store.h"

namespace hotline::cli {
namespace {

// Turns off the terminal's echo while a password is typed; restores it when destroyed. Does
// nothing when standard input is not a terminal (a pipe or a file).
class HiddenInput {
 public:
  HiddenInput() : active_(::isatty(STDIN_FILENO) == 1 && ::tcgetattr(STDIN_FILENO, &saved_) == 0) {
    if (active_) {
      termios hidden = saved_;
      hidden.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      active_ = ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &hidden) == 0;
    }
  }
  ~HiddenInput() {
    if (active_) {
      ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
      std::cerr << "\n";  // the Enter that ended the password was not echoed either
    }
  }
  HiddenInput(const HiddenInput&) = delete;
  HiddenInput& operator=(const HiddenInput&) = delete;

  bool active() const { return active_; }

 private:
  termios saved_{};
  bool active_;
};

// The password: the first line of `file`, or of standard input (never a flag, which other users
// of the machine could read in the process list).
Result<crypto::Passphrase> read_password(const std::string& file, const std::string& user) {
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      return make_error(Errc::kIo,
                        "cannot read password file " + file + ": " + std::strerror(errno));
    }
    return crypto::Passphrase::read_line(in, "password file " + file);
  }
  HiddenInput hidden;
  if (hidden.active()) {
    std::cerr << "Password for " << user << " (at least " << crypto::kMinPasswordCharacters
              << " characters): " << std::flush;
  }
  return crypto::Passphrase::read_line(std::cin, "the password on standard input");
}

struct AddFlags {
  std::string dir;
  std::string name;
  std::string role;
  std::string password_file;
  bool json = false;
};

Result<std::unique_ptr<store::RecordStore>> open_store(const std::string& dir) {
  HOTLINE_ASSIGN(station::StationPaths paths, station::open_station_dir(resolve_dir(dir)));
  // Read-write even to list: it migrates the database of a station created by an older Hotline,
  // as `serve` would.
  return store::open_sqlite_store(paths.database(), {});
}

// A name taken is a refusal (exit 4), like any other action the state does not allow.
Error name_taken(const std::string& name) {
  return make_error(Errc::kRefused, "refused: a user named '" + name +
                                        "' already exists (a name is never reused, even once "
                                        "its user is disabled)");
}

Result<store::UserRecord> add_user(const AddFlags& flags) {
  // Everything that can be checked is checked before the password is asked for.
  HOTLINE_TRY(procedure::check_user_name(flags.name));
  HOTLINE_ASSIGN(procedure::Role role, procedure::parse_role(flags.role));
  HOTLINE_ASSIGN(auto store, open_store(flags.dir));
  if (auto existing = store->user(flags.name); existing.ok()) {
    return name_taken(flags.name);
  } else if (existing.error().code != Errc::kNotFound) {
    return existing.error();
  }
  HOTLINE_ASSIGN(crypto::Passphrase password, read_password(flags.password_file, flags.name));
  HOTLINE_ASSIGN(store::UserRecord user, procedure::new_user(flags.name, role, password));
  if (auto added = store->add_user(user); !added.ok()) {
    // The store checks again in its write transaction: someone may have added the name meanwhile.
    return added.error().code == Errc::kConflict ? name_taken(flags.name) : added.error();
  }
  return user;
}

nlohmann::json user_json(const store::UserRecord& user) {
  return {{"name", user.name},
          {"role", user.role},
          {"disabled", user.disabled},
          {"created_at", user.created_at}};
}

void print_users(const std::vector<store::UserRecord>& users) {
  if (users.empty()) {
    std::cout << "no users; add one with hotline user add\n";
  }
  std::size_t name_width = 0;
  for (const store::UserRecord& user : users) {
    name_width = std::max(name_width, user.name.size());
  }
  constexpr int kRoleWidth = 13;  // "administrator"
  for (const store::UserRecord& user : users) {
    std::cout << std::left << std::setw(static_cast<int>(name_width)) << user.name << "  "
              << std::setw(kRoleWidth) << user.role << "  added " << format_utc(user.created_at);
    if (user.disabled_at) {
      std::cout << "  DISABLED " << format_utc(*user.disabled_at);
    }
    std::cout << "\n";
  }
}

Result<std::vector<store::UserRecord>> list_users(const std::string& dir) {
  HOTLINE_ASSIGN(auto store, open_store(dir));
  return store->users();
}

Result<store::UserRecord> disable_user(const std::string& dir, const std::string& name) {
  HOTLINE_ASSIGN(auto store, open_store(dir));
  HOTLINE_TRY(store->disable_user(name));
  return store->user(name);
}

}  // namespace

Command add_user_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("user", "Add, list and disable the people of the station");
  sub->require_subcommand(1);
  const char* dir_help = "Data directory (default $HOTLINE_DIR or .)";

  auto add = std::make_shared<AddFlags>();
  CLI::App* add_cmd = sub->add_subcommand(
      "add",
      "Add a user; the password is the first line of standard input (or of --password-file)");
  add_cmd->add_option("--dir", add->dir, dir_help);
  add_cmd->add_option("--name", add->name, "1-64 characters of a-z 0-9 . _ -")->required();
  add_cmd
      ->add_option("--role", add->role,
                   "operator, principal, interpreter, auditor or administrator")
      ->required();
  add_cmd->add_option(
      "--password-file", add->password_file,
      "Read the password (at least 12 characters) from the first line of this file");
  add_cmd->add_flag("--json", add->json, "Print one JSON document");

  struct Flags {
    std::string dir;
    std::string name;
    bool json = false;
  };
  auto list = std::make_shared<Flags>();
  CLI::App* list_cmd = sub->add_subcommand("list", "List the users (never their password hashes)");
  list_cmd->add_option("--dir", list->dir, dir_help);
  list_cmd->add_flag("--json", list->json, "Print one JSON document");

  auto disable = std::make_shared<Flags>();
  CLI::App* disable_cmd = sub->add_subcommand(
      "disable", "Disable a user: kept on the list and the record, but may no longer act");
  disable_cmd->add_option("--dir", disable->dir, dir_help);
  disable_cmd->add_option("--name", disable->name, "The user's name")->required();
  disable_cmd->add_flag("--json", disable->json, "Print one JSON document");

  return {sub, [=] {
            if (add_cmd->parsed()) {
              auto added = add_user(*add);
              if (!added) {
                return report_error(added.error(), add->json);
              }
              if (add->json) {
                print_json({{"name", added->name}, {"role", added->role}});
              } else {
                std::cout << "added " << added->name << " (" << added->role << ")\n";
              }
              return static_cast<int>(kExitOk);
            }
            if (disable_cmd->parsed()) {
              auto disabled = disable_user(disable->dir, disable->name);
              if (!disabled) {
                return report_error(disabled.error(), disable->json);
              }
              if (disable->json) {
                print_json({{"name", disabled->name},
                            {"disabled", true},
                            {"disabled_at", disabled->disabled_at.value_or(0)}});
              } else {
                std::cout << "disabled " << disabled->name << " (since "
                          << format_utc(disabled->disabled_at.value_or(0)) << ")\n";
              }
              return static_cast<int>(kExitOk);
            }
            auto users = list_users(list->dir);
            if (!users) {
              return report_error(users.error(), list->json);
            }
            if (list->json) {
              nlohmann::json listed = nlohmann::json::array();
              for (const store::UserRecord& user : *users) {
                listed.push_back(user_json(user));
              }
              print_json({{"users", listed}});
            } else {
              print_users(*users);
            }
            return static_cast<int>(kExitOk);
          }};
}

}  // namespace hotline::cli
