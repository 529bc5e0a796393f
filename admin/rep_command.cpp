// `mxgate rep`: one Backend per way of reaching the store (opened here, or a running server's
// admin API), and the commands written once on top of it. See rep_command.hpp.
#include "admin/rep_command.hpp"

#include <fmt/format.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "admin/cli.hpp"
#include "admin/paths.hpp"
#include "admin/rep_bulk.hpp"
#include "admin/rep_records.hpp"
#include "admin/store_access.hpp"
#include "admin/token.hpp"
#include "common/text.hpp"
#include "http/client.hpp"
#include "policy/rules.hpp"
#include "postmaster/record_text.hpp"

namespace mxgate::admin {
namespace {

namespace beast = boost::beast;

constexpr std::chrono::seconds kAdminTimeout{30};  // per step of one admin request
constexpr std::chrono::hours kIngestTimeout{1};    // the server copies and ingests the files
constexpr std::string_view kCliSource = "cli";

// What a command prints: `text` on stdout when ok, else the error on stderr (rep_records.hpp
// says what NotFound means for each operation).
using Status = RepResult::Status;
struct Outcome {
  Status status = Status::Ok;
  std::string text;
  bool ok() const { return status == Status::Ok; }
};

Outcome error(std::string text) { return {Status::Error, std::move(text)}; }

Outcome outcome_of(RepResult result) { return {result.status, std::move(result.text)}; }

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Outcome get(const postmaster::RepTarget& target) = 0;
  virtual Outcome set(const postmaster::RepTarget& target, const reputation::Listing& listing) = 0;
  virtual Outcome del(const postmaster::RepTarget& target) = 0;
  virtual Outcome ingest(const std::vector<storage::BulkFile>& files) = 0;
  virtual Outcome export_to(std::FILE* out, const std::string& family) = 0;
};

// The store, opened by this process.
class StoreBackend final : public Backend {
 public:
  StoreBackend(std::unique_ptr<storage::ReputationStore> store, conf::ThrottleConfig throttle)
      : store_(std::move(store)), throttle_(std::move(throttle)) {}

  Outcome get(const postmaster::RepTarget& target) override {
    const auto now = postmaster::wall_seconds();
    return outcome_of(rep_get(*store_, target, now, [&](const reputation::Record* record) {
      return postmaster::ramp_shown(throttle_, target, record, now);
    }));
  }

  Outcome set(const postmaster::RepTarget& target, const reputation::Listing& listing) override {
    return outcome_of(rep_set(*store_, target, listing));
  }

  Outcome del(const postmaster::RepTarget& target) override {
    return outcome_of(rep_del(*store_, target));
  }

  Outcome ingest(const std::vector<storage::BulkFile>& files) override {
    std::size_t done = 0;
    // The work folder is inside the store's folder: moving is a hard link.
    if (auto ec = ingest_bulk_files(*store_, files, storage::IngestMode::Move, done)) {
      return error(
          fmt::format("ingested {} of {} files, then: {}", done, files.size(), ec.message()));
    }
    return {};
  }

  Outcome export_to(std::FILE* out, const std::string& family) override {
    const auto now = postmaster::wall_seconds();
    std::string batch = export_header(now);
    for (const auto f : export_families_named(family).value_or(std::vector<storage::Family>{})) {
      ExportCursor cursor{f};
      while (!cursor.done) {
        if (auto ec = export_batch(*store_, cursor, now, batch)) return error(ec.message());
        if (std::fwrite(batch.data(), 1, batch.size(), out) != batch.size()) {
          return error("writing the export failed");
        }
        batch.clear();
      }
    }
    return {};
  }

 private:
  std::unique_ptr<storage::ReputationStore> store_;
  conf::ThrottleConfig throttle_;
};

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

// A running server, through its admin API.
class AdminBackend final : public Backend {
 public:
  AdminBackend(http::Client client, RepHooks::AdminCall call)
      : client_(std::move(client)), call_(std::move(call)) {
    if (!call_) {
      call_ = [this](beast::http::verb method, const std::string& target, const std::string& form) {
        return client_.request(method, target, form, "application/x-www-form-urlencoded",
                               kAdminTimeout);
      };
    }
  }
  AdminBackend(const AdminBackend&) = delete;
  AdminBackend& operator=(const AdminBackend&) = delete;

  Outcome get(const postmaster::RepTarget& target) override {
    return outcome(call_(beast::http::verb::get, path(target), {}));
  }

  Outcome set(const postmaster::RepTarget& target, const reputation::Listing& listing) override {
    const std::string form = fmt::format(
        "action={}&reason={}&expires={}&source={}", postmaster::action_name(listing.action),
        common::form_encode(listing.reason), listing.expires, common::form_encode(listing.source));
    return outcome(call_(beast::http::verb::put, path(target), form));
  }

  Outcome del(const postmaster::RepTarget& target) override {
    return outcome(call_(beast::http::verb::delete_, path(target), {}));
  }

  Outcome ingest(const std::vector<storage::BulkFile>& files) override {
    std::string body;
    for (const auto& file : files) {
      body += fmt::format("{} {}\n", storage::family_name(file.family), file.path.string());
    }
    auto reply = client_.request(beast::http::verb::post, std::string(kAdminIngestPath), body,
                                 "text/plain", kIngestTimeout);
    auto result = outcome(std::move(reply));
    if (result.status == Status::NotFound) result = error(result.text);  // not a record's 404
    if (result.ok()) result.text.clear();  // the import prints its own summary
    return result;
  }

  Outcome export_to(std::FILE* out, const std::string& family) override {
    const auto target = fmt::format("{}?family={}", kAdminExportPath, family);
    auto result = outcome(client_.fetch_to(target, out, kAdminTimeout));
    if (result.status == Status::NotFound) result = error(result.text);
    return result;
  }

 private:
  static std::string path(const postmaster::RepTarget& target) {
    return std::string(kAdminRepPath) + postmaster::target_text(target);
  }

  // 200 and 404 carry the text of rep_records.hpp, as the store backend makes it.
  Outcome outcome(http::ClientReply reply) const {
    if (!reply.error.empty()) {
      return error(fmt::format("admin API at {}: {}", client_.url(), reply.error));
    }
    if (reply.status == 200) return {Status::Ok, std::move(reply.body)};
    if (reply.status == 404) return {Status::NotFound, std::move(reply.body)};
    return error(fmt::format("admin API at {}: {} {}", client_.url(), reply.status,
                             trimmed(std::move(reply.body))));
  }

  http::Client client_;
  RepHooks::AdminCall call_;
};

int fail(const std::string& message) {
  fmt::print(stderr, "mxgate rep: {}\n", message);
  return 1;
}

// Prints what a get, set or del did. A get's NotFound is an answer ("no record"); a set's or
// del's is a failure ("no record for X, nothing deleted").
int finish(Outcome outcome, bool not_found_is_answer = false) {
  if (outcome.ok() || (outcome.status == Status::NotFound && not_found_is_answer)) {
    fmt::print("{}", outcome.text);
    return 0;
  }
  return fail(trimmed(std::move(outcome.text)));
}

// Why the tool will not open the store at `path`; empty when it may.
std::string refusal(const conf::Config& config, const std::filesystem::path& path, bool create) {
  if (create || storage::database_exists(path)) return {};
  return missing_text("reputation store", path, "storage.path", config.source) +
         "; start mxgate once to create it, or check -c" +
         " (`rep set` and `rep import` take --create to make one before the first start)";
}

// The store opened here, or the admin API of the running server that holds it; null after
// printing why neither is possible.
std::unique_ptr<Backend> open_backend(const conf::Config& config, storage::StoreOptions options,
                                      bool create, const RepHooks& hooks) {
  const std::filesystem::path path = config.storage.path;
  const auto in_use = hooks.store_in_use ? hooks.store_in_use : storage::store_in_use;
  if (!in_use(path)) {
    if (auto problem = refusal(config, path, create); !problem.empty()) {
      fail(problem);
      return nullptr;
    }
    options.create_if_missing = create;
    try {
      return std::make_unique<StoreBackend>(storage::ReputationStore::open(path, options),
                                            config.throttle);
    } catch (const std::exception& e) {
      if (!in_use(path)) {  // not a server that started meanwhile
        fail(e.what());
        return nullptr;
      }
    }
  }
  if (config.http.listen.port == 0) {
    fail(
        "a running mxgate holds the store and its HTTP listener is off (http.listen port 0); "
        "stop mxgate or enable the listener");
    return nullptr;
  }
  std::string problem;
  const auto token = read_admin_token(config, problem);
  if (!token) {
    fail("a running mxgate holds the store; " + problem);
    return nullptr;
  }
  http::Client client(config.http.listen, *token);
  fmt::print(stderr, "mxgate rep: a running mxgate holds the store; using its admin API at {}\n",
             client.url());
  return std::make_unique<AdminBackend>(std::move(client), hooks.admin);
}

std::optional<reputation::Listing> listing_from(const RepRequest& request, std::string& problem) {
  reputation::Listing listing;
  listing.action = request.clear   ? reputation::ListingAction::None
                   : request.block ? reputation::ListingAction::Block
                                   : reputation::ListingAction::Allow;
  listing.reason = request.reason;
  listing.source = kCliSource;
  listing.created = postmaster::wall_seconds();
  problem = postmaster::check_listing_text("--reason", request.reason);
  if (!problem.empty()) return std::nullopt;
  const auto expires = postmaster::parse_expiry(request.expires, listing.created, problem);
  if (!expires) {
    problem = "--expires: " + problem;
    return std::nullopt;
  }
  listing.expires = *expires;
  return listing;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int run_import(Backend& backend, const conf::Config& config, const storage::StoreOptions& options,
               const RepRequest& request) {
  const auto start = std::chrono::steady_clock::now();
  std::optional<WorkDir> work;
  try {
    work.emplace(std::filesystem::absolute(config.storage.path));
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  const std::string name =
      request.file == "-" ? "stdin" : std::filesystem::path(request.file).filename().string();
  const FeedOptions feed{options, postmaster::wall_seconds(),
                         request.source.empty() ? "import:" + name : request.source, work->path()};
  const auto report = read_feed(request.file, feed);
  if (!report.failure.empty()) return fail(report.failure);
  if (report.bad > 0) {
    for (const auto& line : report.errors) fmt::print(stderr, "{}\n", line);
    if (report.bad > report.errors.size()) {
      fmt::print(stderr, "... and {} more bad lines\n", report.bad - report.errors.size());
    }
    return fail(fmt::format("{} bad line{} in {}; nothing imported", report.bad,
                            report.bad == 1 ? "" : "s", request.file));
  }
  const double prepared = seconds_since(start);
  if (report.files.empty()) {  // a feed of comments and blank lines: nothing to ingest
    fmt::print("imported no listings: {} has none ({} lines)\n", request.file, report.lines);
    return 0;
  }
  if (auto outcome = backend.ingest(report.files); !outcome.ok()) return fail(outcome.text);
  const double total = seconds_since(start);
  fmt::print(
      "imported {} listings ({} keys) from {} lines of {} in {:.1f} s "
      "(reading, sorting and writing SST files {:.1f} s, ingesting {:.1f} s)\n",
      report.listings, report.written, report.lines, request.file, total, prepared,
      total - prepared);
  return 0;
}

}  // namespace

int run_rep(const conf::Config& config, const RepRequest& request, const RepHooks& hooks) {
  const auto options = policy::store_options(config);
  std::optional<postmaster::RepTarget> target;
  std::optional<reputation::Listing> listing;
  std::string problem;
  if (request.verb != RepRequest::Verb::Import && request.verb != RepRequest::Verb::Export) {
    target = postmaster::parse_target(request.target, options, problem);
    if (!target) return fail(problem);
  }
  if (request.verb == RepRequest::Verb::Set) {
    listing = listing_from(request, problem);
    if (!listing) return fail(problem);
  }
  // Before anything under storage.path is opened or made (store_access.hpp).
  if (auto denied = become_owner_of(config.storage.path); !denied.empty()) return fail(denied);
  const bool create = request.create && (request.verb == RepRequest::Verb::Set ||
                                         request.verb == RepRequest::Verb::Import);
  const auto backend = open_backend(config, options, create, hooks);
  if (!backend) return 1;
  switch (request.verb) {
    case RepRequest::Verb::Get:
      return finish(backend->get(*target), true);
    case RepRequest::Verb::Set:
      return finish(backend->set(*target, *listing));
    case RepRequest::Verb::Del:
      return finish(backend->del(*target));
    case RepRequest::Verb::Import:
      return run_import(*backend, config, options, request);
    case RepRequest::Verb::Export: {
      const auto outcome = backend->export_to(stdout, request.family);
      std::fflush(stdout);
      return finish(outcome);
    }
  }
  return 1;
}

namespace {

// What the rep commands parse into; their actions own it.
struct RepArgs {
  RepRequest request;
  bool allow = false;  // set --allow (--block is request.block)
};

int run_rep_command(const Cli& cli, RepArgs& args, RepRequest::Verb verb) {
  if (verb == RepRequest::Verb::Set && !args.request.block && !args.allow && !args.request.clear) {
    throw UsageError("rep set: give --block, --allow or --clear");
  }
  args.request.verb = verb;
  return run_rep(cli.load_config(), args.request);
}

}  // namespace

void add_rep_commands(Cli& cli) {
  auto& rep = *cli.app().add_subcommand(
      "rep", "Read and change reputation listings (in the store, or through a running mxgate)");
  rep.require_subcommand(1);
  const auto args = std::make_shared<RepArgs>();
  RepRequest& request = args->request;
  auto* get = rep.add_subcommand("get", "Show the record of an IP, a network or a domain");
  auto* set = rep.add_subcommand("set", "List an IP, a network or a domain as blocked or allowed");
  auto* del = rep.add_subcommand("del", "Delete the record of an IP, a network or a domain");
  for (auto* command : {get, set, del}) {
    command
        ->add_option("target", request.target,
                     "IP address, network (CIDR), domain:SENDER.DOMAIN or uri:LINKED.DOMAIN")
        ->required();
    cli.add_config_options(*command);
  }
  auto* block = set->add_flag(
      "--block", request.block,
      "Refuse it (554 5.7.1): an IP or network at connect, a domain: at MAIL, a uri: at end of "
      "data (mail that links to it)");
  auto* allow = set->add_flag(
      "--allow", args->allow,
      "Let it bypass score-based refusals (a uri: domain: skip its URI blocklist lookups)");
  auto* clear = set->add_flag("--clear", request.clear,
                              "Lift its block or allow; keep its counters and history");
  block->excludes(allow);
  auto* reason =
      set->add_option("--reason", request.reason, "Why (shown to the sender on the portal)");
  auto* expires =
      set->add_option("--expires", request.expires,
                      "Listing lifetime (7d, 12h) or end (2026-12-31T00:00:00Z, Unix seconds); "
                      "default: never");
  auto* create =
      set->add_flag("--create", request.create,
                    "Make the store when storage.path has none (listings before the first start)");
  for (auto* other : {block, allow, reason, expires, create}) clear->excludes(other);
  auto* import_csv = rep.add_subcommand(
      "import", "Load listings in bulk from CSV: ip_or_cidr,action,reason,expiry[,source]");
  import_csv->add_option("file", request.file, "CSV file, - for standard input")->required();
  // The first column takes every rep target: domain:example.com and uri:evil.example too.
  import_csv->add_option("--source", request.source,
                         "Source of the listings (default: import:<file name>)");
  import_csv->add_flag("--create", request.create,
                       "Make the store when storage.path has none (listings before the first "
                       "start)");
  cli.add_config_options(*import_csv);
  auto* export_csv = rep.add_subcommand("export", "Write the active listings as CSV to stdout");
  export_csv->add_option("--family", request.family, "ip, network, domain, uri or all")
      ->check(CLI::IsMember({"ip", "network", "domain", "uri", "all"}))
      ->capture_default_str();
  cli.add_config_options(*export_csv);

  using Verb = RepRequest::Verb;
  const std::pair<CLI::App*, Verb> commands[] = {{get, Verb::Get},
                                                 {set, Verb::Set},
                                                 {del, Verb::Del},
                                                 {import_csv, Verb::Import},
                                                 {export_csv, Verb::Export}};
  for (auto [command, verb] : commands) {
    cli.on(*command, [&cli, args, verb = verb] { return run_rep_command(cli, *args, verb); });
  }
}

}  // namespace mxgate::admin
