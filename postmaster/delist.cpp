#include "postmaster/delist.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "common/text.hpp"
#include "storage/key_codec.hpp"
#include "storage/reputation_store.hpp"

namespace mxgate::postmaster {
namespace {

using boost::system::error_code;

constexpr char kVersion = 1;
constexpr std::string_view kRequestPrefix = "delist/";
constexpr std::string_view kApprovedPrefix = "delisted/";
constexpr std::string_view kQuotaPrefix = "delist-quota/";

void put_field(std::string& out, std::string_view field) {
  const auto n = static_cast<std::uint32_t>(field.size());
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(n >> (8 * i)));
  out.append(field);
}

std::optional<std::string_view> take_field(std::string_view& in) {
  if (in.size() < 4) return std::nullopt;
  std::uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= std::uint32_t{static_cast<unsigned char>(in[i])} << (8 * i);
  in.remove_prefix(4);
  if (in.size() < n) return std::nullopt;
  const auto field = in.substr(0, n);
  in.remove_prefix(n);
  return field;
}

std::optional<std::int64_t> to_int(std::string_view text) {
  std::int64_t v = 0;
  if (text.empty() || text.size() > 19) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// Zero what counts against the sender; keep what it delivered and when it was seen.
reputation::Record softened(reputation::Record record) {
  for (auto& day : record.days) {
    auto& c = day.counters;
    c.rejected = c.deferred = c.invalid_recipients = c.auth_failures = c.complaints = 0;
  }
  record.score = 0;
  return record;
}

}  // namespace

std::string_view delist_state_name(DelistRequest::State state) {
  switch (state) {
    case DelistRequest::State::Open:
      return "open";
    case DelistRequest::State::Approved:
      return "approved";
    case DelistRequest::State::Denied:
      return "denied";
  }
  return "open";
}

std::string encode_delist(const DelistRequest& r) {
  std::string out(1, kVersion);
  put_field(out, r.ip);
  put_field(out, r.contact);
  put_field(out, r.explanation);
  put_field(out, std::to_string(r.created));
  put_field(out, std::to_string(static_cast<int>(r.state)));
  put_field(out, std::to_string(r.decided));
  put_field(out, r.decided_by);
  put_field(out, r.note);
  return out;
}

std::optional<DelistRequest> decode_delist(std::string_view in) {
  if (in.empty() || in.front() != kVersion) return std::nullopt;
  in.remove_prefix(1);
  std::string_view f[8];
  for (auto& field : f) {
    const auto got = take_field(in);
    if (!got) return std::nullopt;
    field = *got;
  }
  const auto created = to_int(f[3]);
  const auto state = to_int(f[4]);
  const auto decided = to_int(f[5]);
  if (!in.empty() || !created || !state || *state > 2 || !decided) return std::nullopt;
  return DelistRequest{std::string(f[0]),
                       std::string(f[1]),
                       std::string(f[2]),
                       *created,
                       static_cast<DelistRequest::State>(*state),
                       *decided,
                       std::string(f[6]),
                       std::string(f[7])};
}

std::string check_contact(std::string_view contact) {
  const auto at = contact.rfind('@');
  if (contact.empty() || contact.size() > kMaxContact || at == std::string_view::npos || at == 0 ||
      contact.find('.', at) == std::string_view::npos || contact.back() == '.' ||
      std::any_of(contact.begin(), contact.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u <= ' ' || u == 0x7f || c == '<' || c == '>' || c == '"' || c == ',' || c == ';' ||
               c == '\\';
      })) {
    return "Give a mail address where we can reach you, like postmaster@example.com.";
  }
  return {};
}

std::string check_explanation(std::string_view explanation) {
  if (explanation.size() < kMinExplanation || explanation.size() > kMaxExplanation) {
    return fmt::format("Say what you fixed in {} to {} characters.", kMinExplanation,
                       kMaxExplanation);
  }
  const bool control = std::any_of(explanation.begin(), explanation.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < ' ' && c != '\n' && c != '\r' && c != '\t') || u == 0x7f;
  });
  if (control) return "The explanation has control characters; write plain text.";
  return {};
}

std::optional<DelistRequest> find_delist(storage::ReputationStore& store, std::string_view ip) {
  const auto bytes = store.get_doc(fmt::format("{}{}", kRequestPrefix, ip));
  return bytes ? decode_delist(*bytes) : std::nullopt;
}

std::vector<DelistRequest> list_delists(storage::ReputationStore& store,
                                        std::optional<DelistRequest::State> state) {
  std::vector<DelistRequest> out;
  store.for_each_doc(kRequestPrefix, [&](std::string_view, std::string_view value) {
    if (auto r = decode_delist(value); r && (!state || r->state == *state)) {
      out.push_back(std::move(*r));
    }
    return true;
  });
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.created > b.created; });
  return out;
}

bool take_quota(storage::ReputationStore& store, std::string_view contact, std::uint32_t per_day,
                std::int64_t now) {
  const auto key = fmt::format("{}{}/{}", kQuotaPrefix, now / 86400, common::ascii_lower(contact));
  const auto used = to_int(store.get_doc(key).value_or("0")).value_or(0);
  if (per_day != 0 && used >= per_day) return false;
  return !store.put_doc(key, std::to_string(used + 1));
}

std::int64_t last_delisted(storage::ReputationStore& store, std::string_view ip) {
  const auto at = store.get_doc(fmt::format("{}{}", kApprovedPrefix, ip));
  return at ? to_int(*at).value_or(0) : 0;
}

error_code save_delist(storage::ReputationStore& store, const DelistRequest& request) {
  return store.put_doc(fmt::format("{}{}", kRequestPrefix, request.ip), encode_delist(request));
}

error_code approve_delist(storage::ReputationStore& store, DelistRequest& request,
                          std::string decided_by, std::string note, bool clear_manual,
                          std::int64_t now) {
  const auto key = storage::key_from_text(storage::Family::Ip, request.ip);
  if (!key) return make_error_code(boost::system::errc::invalid_argument);
  if (auto record = store.get(storage::Family::Ip, *key)) {
    auto soft = softened(*record);
    if (soft.listing.action == reputation::ListingAction::Block &&
        (clear_manual || soft.listing.source.starts_with("auto"))) {
      soft.listing = reputation::Listing{};
    }
    if (auto ec = store.ingest(storage::Family::Ip, {{*key, soft}})) return ec;
  }
  if (auto ec =
          store.put_doc(fmt::format("{}{}", kApprovedPrefix, request.ip), std::to_string(now))) {
    return ec;
  }
  request.state = DelistRequest::State::Approved;
  request.decided = now;
  request.decided_by = std::move(decided_by);
  request.note = std::move(note);
  return save_delist(store, request);
}

error_code deny_delist(storage::ReputationStore& store, DelistRequest& request,
                       std::string decided_by, std::string note, std::int64_t now) {
  request.state = DelistRequest::State::Denied;
  request.decided = now;
  request.decided_by = std::move(decided_by);
  request.note = std::move(note);
  return save_delist(store, request);
}

}  // namespace mxgate::postmaster
