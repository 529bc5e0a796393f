// Admin API: routes of /admin/, the listing operations behind them, and the streamed export.
// See api.hpp for the contract.
#include "admin/api.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "admin/queue_command.hpp"
#include "admin/rep_bulk.hpp"
#include "admin/rep_records.hpp"
#include "admin/token.hpp"
#include "common/cidr.hpp"
#include "common/log.hpp"
#include "common/text.hpp"
#include "io/blocking.hpp"
#include "policy/throttling.hpp"
#include "postmaster/arf.hpp"
#include "postmaster/delist.hpp"
#include "postmaster/metrics.hpp"
#include "postmaster/record_text.hpp"

namespace mxgate::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kTextType = "text/plain; charset=utf-8";
constexpr std::string_view kCsvType = "text/csv; charset=utf-8";
constexpr std::string_view kServerHeader = "mxgate";
constexpr std::string_view kDefaultSource = "admin-api";
constexpr std::size_t kExportChunkBytes = 64 * 1024;  // export text gathered per HTTP chunk

http::Response text(beast::http::status status, std::string body) {
  http::Response res{status, 11};
  res.set(beast::http::field::server, kServerHeader);
  res.set(beast::http::field::content_type, kTextType);
  res.body() = std::move(body);
  return res;
}

// The reply that carries a record operation's text (rep_records.hpp).
http::Response reply(RepResult result) {
  switch (result.status) {
    case RepResult::Status::Ok:
      return text(beast::http::status::ok, std::move(result.text));
    case RepResult::Status::NotFound:
      return text(beast::http::status::not_found, std::move(result.text));
    case RepResult::Status::Error:
      break;
  }
  return text(beast::http::status::internal_server_error, std::move(result.text));
}

std::string_view result_name(RepResult::Status status) {
  return status == RepResult::Status::Ok         ? "ok"
         : status == RepResult::Status::NotFound ? "not_found"
                                                 : "error";
}

http::Response not_allowed(std::string_view allow) {
  auto res = text(beast::http::status::method_not_allowed, "method not allowed\n");
  res.set(beast::http::field::allow, allow);
  return res;
}

std::pair<std::string_view, std::string_view> split_target(std::string_view target) {
  const std::size_t q = std::min(target.find('?'), target.size());
  return {target.substr(0, q), target.substr(std::min(q + 1, target.size()))};
}

// The families of ?family= (rep_bulk.hpp's names; default all); nullopt for anything else.
std::optional<std::vector<storage::Family>> export_families(std::string_view query) {
  auto families = export_families_named("all");
  const auto fields = common::parse_form(query);
  if (!fields) return std::nullopt;
  for (const auto& [name, value] : *fields) {
    if (name != "family") return std::nullopt;
    families = export_families_named(value);
    if (!families) return std::nullopt;
  }
  return families;
}

// The PUT form as a listing; `error` set on a bad or unknown field.
std::optional<reputation::Listing> listing_from_form(std::string_view body, std::int64_t now,
                                                     std::string& error) {
  const auto fields = common::parse_form(body);
  if (!fields) {
    error = "bad percent-encoding in the form";
    return std::nullopt;
  }
  reputation::Listing listing;
  listing.created = now;
  listing.source = kDefaultSource;
  bool has_action = false;
  for (const auto& [name, value] : *fields) {
    if (name == "action") {
      const auto action = postmaster::parse_action(value);
      if (!action) error = fmt::format("action '{}': expected block, allow or none", value);
      has_action = action.has_value();
      listing.action = action.value_or(reputation::ListingAction::None);
    } else if (name == "reason" || name == "source") {
      error = postmaster::check_listing_text(name, value);
      (name == "reason" ? listing.reason : listing.source) = value;
    } else if (name == "expires") {
      listing.expires = postmaster::parse_expiry(value, now, error).value_or(0);
    } else {
      error = fmt::format("unknown field '{}' (action, reason, expires, source)", name);
    }
    if (!error.empty()) return std::nullopt;
  }
  if (!has_action) {
    error = "the form needs action=block, allow or none";
    return std::nullopt;
  }
  return listing;
}

// "ip /path/a.sst\nnetwork /path/b.sst\n" as files; `error` set when a line is not one.
std::optional<std::vector<storage::BulkFile>> files_from_body(std::string_view body,
                                                              std::string& error) {
  std::vector<storage::BulkFile> files;
  for (std::size_t line_no = 1; !body.empty(); ++line_no) {
    const std::size_t nl = std::min(body.find('\n'), body.size());
    std::string_view line = body.substr(0, nl);
    body.remove_prefix(std::min(nl + 1, body.size()));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const std::size_t space = line.find(' ');
    const std::string_view family = line.substr(0, space);
    const std::filesystem::path path(std::string(line.substr(std::min(space + 1, line.size()))));
    const auto named = ingest_family_named(family);
    if (space == std::string_view::npos || !named || !path.is_absolute()) {
      error = fmt::format(
          "line {}: expected \"ip|network|sender_domain|linked_domain /absolute/path.sst\"",
          line_no);
      return std::nullopt;
    }
    files.push_back({*named, path, 0});
  }
  if (files.empty()) error = "no files to ingest";
  if (files.empty()) return std::nullopt;
  return files;
}

struct IngestOutcome {
  boost::system::error_code ec;
  std::size_t ingested = 0;
};

// Runs on the blocking executor: ingestion copies whole files.
asio::awaitable<IngestOutcome> ingest_files(storage::ReputationStore& store,
                                            std::vector<storage::BulkFile> files) {
  IngestOutcome outcome;
  outcome.ec = ingest_bulk_files(store, files, storage::IngestMode::Copy, outcome.ingested);
  co_return outcome;
}

}  // namespace

Api::Api(storage::ReputationStore& store, asio::any_io_executor blocking)
    : store_(store), blocking_(std::move(blocking)) {}

bool Api::handles(std::string_view target) { return target.starts_with(kAdminPrefix); }

bool Api::allowed_peer(const asio::ip::address& peer) {
  if (peer.is_v4()) return peer.to_v4().is_loopback();
  const auto v6 = peer.to_v6();
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).is_loopback();
  return v6.is_loopback();
}

// The ramp of a new IP or network, with today's count, from the running throttle.
std::optional<postmaster::RampShown> Api::live_ramp(const postmaster::RepTarget& target,
                                                    const reputation::Record* record,
                                                    std::int64_t now) const {
  if (throttling_ == nullptr ||
      (target.family != storage::Family::Ip && target.family != storage::Family::Network)) {
    return std::nullopt;
  }
  static const reputation::Record kNeverSeen;
  const auto history = throttle::history_of(record ? *record : kNeverSeen, now, 1);
  const auto ramp = throttling_->rules().ramp(target.key, history, now * 1'000'000);
  if (!ramp) return std::nullopt;
  return postmaster::RampShown{ramp->allowance, ramp->used};
}

http::Response Api::record_request(const http::Request& request, std::string_view target,
                                   std::int64_t now) {
  std::string error;
  const auto parsed = postmaster::parse_target(target, store_.options(), error);
  if (!parsed) return text(beast::http::status::bad_request, error + "\n");
  const std::string name = postmaster::target_text(*parsed);
  switch (request.method()) {
    case beast::http::verb::get:
      return reply(rep_get(store_, *parsed, now, [&](const reputation::Record* record) {
        return live_ramp(*parsed, record, now);
      }));
    case beast::http::verb::put: {
      const auto listing = listing_from_form(request.body(), now, error);
      if (!listing) return text(beast::http::status::bad_request, error + "\n");
      auto result = rep_set(store_, *parsed, *listing);
      spdlog::info("admin_rep op=set target={} action={} expires={} source={} result={}", name,
                   postmaster::action_name(listing->action), listing->expires,
                   common::escape(listing->source), result_name(result.status));
      return reply(std::move(result));
    }
    case beast::http::verb::delete_: {
      auto result = rep_del(store_, *parsed);
      spdlog::info("admin_rep op=delete target={} result={}", name, result_name(result.status));
      return reply(std::move(result));
    }
    default:
      return not_allowed("GET, PUT, DELETE");
  }
}

http::Response Api::answer(const http::Request& request, std::int64_t now) {
  const auto [raw_path, query] = split_target(request.target());
  const auto path = common::percent_decode(raw_path, false);
  if (!path) return text(beast::http::status::bad_request, "bad percent-encoding in the path\n");
  if (*path == kAdminExportPath) {
    if (request.method() != beast::http::verb::get) return not_allowed("GET");
    if (!export_families(query)) {
      return text(beast::http::status::bad_request,
                  fmt::format("expected ?family={}\n", kExportFamilyNames));
    }
    return text(beast::http::status::internal_server_error, "an export is streamed by serve()\n");
  }
  if (*path == kAdminIngestPath) {
    if (request.method() != beast::http::verb::post) return not_allowed("POST");
    return text(beast::http::status::internal_server_error, "an ingestion runs in serve()\n");
  }
  if (path->starts_with(kAdminRepPath) && path->size() > kAdminRepPath.size()) {
    return record_request(request, std::string_view(*path).substr(kAdminRepPath.size()), now);
  }
  if (path->starts_with(kAdminQueuePath)) return queue_request(request, *path);
  if (path->starts_with(kAdminDelistPath)) return delist_request(request, *path, now);
  if (*path == kAdminArfPath) {
    if (request.method() != beast::http::verb::post) return not_allowed("POST");
    return arf_request(request, now);
  }
  if (*path == kAdminReloadPath || *path == kAdminDrainPath) {
    return control_request(request, *path);
  }
  return text(beast::http::status::not_found, "not found\n");
}

http::Response Api::delist_request(const http::Request& request, std::string_view path,
                                   std::int64_t now) {
  if (path == kAdminDelistPath) {
    if (request.method() != beast::http::verb::get) return not_allowed("GET");
    const auto fields = common::parse_form(split_target(request.target()).second);
    if (!fields)
      return text(beast::http::status::bad_request, "bad percent-encoding in the query\n");
    std::optional<postmaster::DelistRequest::State> state = postmaster::DelistRequest::State::Open;
    for (const auto& [name, value] : *fields) {
      if (name != "state")
        return text(beast::http::status::bad_request, "unknown field " + name + "\n");
      if (value == "all") {
        state.reset();
      } else if (value == "approved") {
        state = postmaster::DelistRequest::State::Approved;
      } else if (value == "denied") {
        state = postmaster::DelistRequest::State::Denied;
      } else if (value != "open") {
        return text(beast::http::status::bad_request, "state: open, approved, denied or all\n");
      }
    }
    std::string out;
    for (const auto& r : postmaster::list_delists(store_, state)) {
      std::string explanation;
      for (const char c : r.explanation) {
        if (c == '\n') {
          explanation += "\\n";
        } else if (c != '\r') {
          explanation.push_back(c == '\t' ? ' ' : c);
        }
      }
      out += fmt::format("{}\t{}\t{}\t{}\t{}\t{}\n", r.ip, postmaster::delist_state_name(r.state),
                         postmaster::format_time(r.created), r.contact,
                         r.decided_by.empty() ? "-" : r.decided_by, explanation);
    }
    return text(beast::http::status::ok, std::move(out));
  }
  // /admin/delist/<ip>/approve or /deny
  std::string_view rest = path.substr(kAdminDelistPath.size());
  const bool approve = rest.ends_with("/approve");
  if (!rest.starts_with("/") || (!approve && !rest.ends_with("/deny"))) {
    return text(beast::http::status::not_found, "not found\n");
  }
  if (request.method() != beast::http::verb::post) return not_allowed("POST");
  rest.remove_prefix(1);
  rest.remove_suffix(approve ? std::string_view("/approve").size()
                             : std::string_view("/deny").size());
  const auto ip = common::parse_ip(rest);
  if (!ip) return text(beast::http::status::bad_request, "not an IP address\n");
  std::string note;
  if (const auto fields = common::parse_form(request.body())) {
    for (const auto& [name, value] : *fields) {
      if (name == "note") note = value;
    }
  }
  if (auto problem = postmaster::check_listing_text("note", note); !problem.empty()) {
    return text(beast::http::status::bad_request, problem + "\n");
  }
  auto found = postmaster::find_delist(store_, common::ip_text(*ip));
  if (!found)
    return text(beast::http::status::not_found, "no delisting request for that address\n");
  if (found->state != postmaster::DelistRequest::State::Open) {
    return text(
        beast::http::status::conflict,
        fmt::format("the request is {} already\n", postmaster::delist_state_name(found->state)));
  }
  const auto ec = approve ? postmaster::approve_delist(store_, *found, "admin", note, true, now)
                          : postmaster::deny_delist(store_, *found, "admin", note, now);
  spdlog::info("admin_delist ip={} decision={} error={}", found->ip, approve ? "approve" : "deny",
               ec ? common::escape(ec.message()) : "none");
  if (ec) return text(beast::http::status::internal_server_error, ec.message() + "\n");
  if (metrics_ != nullptr) {
    (approve ? metrics_->delist_approved_by_admin : metrics_->delist_denied_by_admin).Increment();
  }
  std::string answer = fmt::format("{} {}\n", found->ip, approve ? "approved" : "denied");
  if (approve) answer += network_still_blocked(found->ip, now);
  return text(beast::http::status::ok, std::move(answer));
}

// An approval lifts the address's own listing only: say so when a network's block still refuses
// it at connect (the most specific listed network decides, as in policy/history_checks.cpp).
std::string Api::network_still_blocked(const std::string& ip, std::int64_t now) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(ip, ec);
  if (ec) return {};
  const auto lookup = store_.get_connect(address);
  for (auto it = lookup.networks.rbegin(); it != lookup.networks.rend(); ++it) {
    if (it->state != storage::Lookup::Found || !it->record.listing.active(now)) continue;
    if (it->record.listing.action != reputation::ListingAction::Block) return {};
    const auto network = postmaster::target_text({storage::Family::Network, it->key});
    return fmt::format(
        "note: the network {} is still blocked, so {} is still refused; lift that listing with "
        "`mxgate rep set {} --clear` if the approval is meant for the network too\n",
        network, ip, network);
  }
  return {};
}

std::size_t Api::body_limit() const { return postmaster::kMaxArfBytes; }

http::Response Api::arf_request(const http::Request& request, std::int64_t now) {
  std::string error;
  const auto report = postmaster::parse_arf(request.body(), error);
  if (!report) return text(beast::http::status::bad_request, error + "\n");
  auto counted = postmaster::count_complaint(store_, *report, now, error);
  if (!counted) return text(beast::http::status::bad_request, error + "\n");
  spdlog::info("complaint source=admin_api feedback_type={} {}", report->feedback_type, *counted);
  if (metrics_ != nullptr) metrics_->complaints_api.Increment();
  return text(beast::http::status::ok, "counted " + *counted + "\n");
}

http::Response Api::control_request(const http::Request& request, std::string_view path) {
  if (request.method() != beast::http::verb::post) return not_allowed("POST");
  if (path == kAdminReloadPath) {
    if (!control_.reload) return text(beast::http::status::not_found, "not found\n");
    const auto problem = control_.reload();
    if (!problem.empty()) {
      return text(beast::http::status::internal_server_error,
                  "the configuration was not reloaded: " + problem + "\n");
    }
    return text(beast::http::status::ok, "reloaded\n");
  }
  if (!control_.drain) return text(beast::http::status::not_found, "not found\n");
  return text(beast::http::status::accepted, "draining\n");  // serve() drains once this is sent
}

http::Response Api::queue_request(const http::Request& request, std::string_view path) {
  std::string error;
  const auto operation = queue_request_from(request.method(), path, error);
  if (!operation) {
    if (error == "not found") return text(beast::http::status::not_found, "not found\n");
    if (error == "method not allowed") {
      const bool one_message =
          !path.ends_with("/stats") && path.size() > kAdminQueuePath.size() + 1;
      return not_allowed(path.ends_with("/retry") ? "POST" : one_message ? "GET, DELETE" : "GET");
    }
    return text(beast::http::status::bad_request, error + "\n");
  }
  if (spool_ == nullptr) {
    return text(beast::http::status::not_found,
                "mxgate queue: queue mode is off in the running mxgate (relay.mode = "
                "\"inline\"); there is no queue\n");
  }
  auto outcome = queue_operation(*spool_, *operation, claims_);
  switch (outcome.status) {
    case QueueOutcome::Status::Ok:
      if (request.method() != beast::http::verb::get) {
        spdlog::info("admin_queue op={} id={}", request.method_string(),
                     operation->all ? "all" : operation->id);
      }
      return text(beast::http::status::ok, std::move(outcome.out));
    case QueueOutcome::Status::UnknownId:
      return text(beast::http::status::not_found, std::move(outcome.err));
    case QueueOutcome::Status::BeingDelivered:
      return text(beast::http::status::conflict, std::move(outcome.err));
    case QueueOutcome::Status::Error:
      break;
  }
  return text(beast::http::status::internal_server_error, std::move(outcome.err));
}

asio::awaitable<http::Response> Api::ingest(const http::Request& request) {
  std::string error;
  auto files = files_from_body(request.body(), error);
  if (!files) co_return text(beast::http::status::bad_request, error + "\n");
  const std::size_t count = files->size();
  IngestOutcome outcome;
  if (blocking_) {
    outcome = co_await asio::co_spawn(blocking_, ingest_files(store_, std::move(*files)),
                                      asio::use_awaitable);
  } else {
    outcome.ec = ingest_bulk_files(store_, *files, storage::IngestMode::Copy, outcome.ingested);
  }
  spdlog::info("admin_rep op=ingest files={} ingested={} error={}", count, outcome.ingested,
               outcome.ec ? common::escape(outcome.ec.message()) : "none");
  if (outcome.ec) {
    co_return text(beast::http::status::internal_server_error,
                   fmt::format("ingested {} of {} files, then: {}\n", outcome.ingested, count,
                               outcome.ec.message()));
  }
  co_return text(beast::http::status::ok, fmt::format("ingested {} files\n", count));
}

asio::awaitable<bool> Api::stream_export(beast::tcp_stream& stream, const http::Request& request,
                                         std::chrono::milliseconds timeout) {
  const auto families = *export_families(split_target(request.target()).second);
  const std::int64_t now = postmaster::wall_seconds();
  beast::http::response<beast::http::empty_body> head{beast::http::status::ok, request.version()};
  head.set(beast::http::field::server, kServerHeader);
  head.set(beast::http::field::content_type, kCsvType);
  head.keep_alive(request.keep_alive());
  head.chunked(true);
  beast::http::response_serializer<beast::http::empty_body> serializer{head};
  stream.expires_after(timeout);
  auto [ec, n] = co_await beast::http::async_write_header(stream, serializer, kUseTuple);
  if (ec) co_return false;
  std::string batch = export_header(now);
  std::uint64_t lines = 0;
  for (const storage::Family family : families) {
    ExportCursor cursor{family};
    while (!cursor.done) {
      if (auto store_ec = export_batch(store_, cursor, now, batch)) {
        spdlog::warn("admin_rep op=export error={}", common::escape(store_ec.message()));
        co_return false;  // no last chunk: the client sees an incomplete export
      }
      if (cursor.done) lines += cursor.lines;
      if (batch.empty() || (batch.size() < kExportChunkBytes && !cursor.done)) continue;
      stream.expires_after(timeout);
      std::tie(ec, n) = co_await asio::async_write(
          stream, beast::http::make_chunk(asio::buffer(batch)), kUseTuple);
      if (ec) co_return false;
      batch.clear();
    }
  }
  stream.expires_after(timeout);
  std::tie(ec, n) = co_await asio::async_write(stream, beast::http::make_chunk_last(), kUseTuple);
  spdlog::info("admin_rep op=export lines={}", lines);
  co_return !ec && head.keep_alive();
}

asio::awaitable<bool> Api::serve(beast::tcp_stream& stream, http::Request request,
                                 asio::ip::address peer, std::chrono::milliseconds timeout) {
  const std::string_view path = split_target(request.target()).first;
  http::Response res;
  const auto authorization = request[beast::http::field::authorization];
  constexpr std::string_view kBearer = "Bearer ";
  const bool authorized =
      token_.empty() || (authorization.starts_with(kBearer) &&
                         same_token(authorization.substr(kBearer.size()), token_));
  if (!allowed_peer(peer)) {
    res = text(beast::http::status::forbidden, "the admin API answers loopback peers only\n");
  } else if (!authorized) {
    res = text(beast::http::status::unauthorized,
               "the admin API needs \"Authorization: Bearer <token>\" (admin.token_file)\n");
    res.set(beast::http::field::www_authenticate, "Bearer realm=\"mxgate-admin\"");
  } else if (path == kAdminExportPath && request.method() == beast::http::verb::get &&
             export_families(split_target(request.target()).second)) {
    const bool keep = co_await stream_export(stream, request, timeout);
    co_return keep;
  } else if (path == kAdminIngestPath && request.method() == beast::http::verb::post) {
    res = co_await ingest(request);
  } else if ((path.starts_with(kAdminQueuePath) || path.starts_with(kAdminDelistPath)) &&
             blocking_) {
    const std::int64_t now = postmaster::wall_seconds();
    res = co_await io::run_blocking(blocking_, [&] { return answer(request, now); });
  } else {
    res = answer(request, postmaster::wall_seconds());
  }
  // A drain closes this listener: it starts only after its own reply has been sent.
  const bool drain = res.result() == beast::http::status::accepted && path == kAdminDrainPath;
  res.version(request.version());
  res.keep_alive(request.keep_alive() && !drain);
  res.prepare_payload();
  stream.expires_after(timeout);
  auto [ec, n] = co_await beast::http::async_write(stream, res, kUseTuple);
  if (drain) control_.drain();
  co_return !ec && res.keep_alive();
}

}  // namespace mxgate::admin
