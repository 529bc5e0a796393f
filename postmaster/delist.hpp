// Self-service delisting (issue 8): POST /postmaster/delist on the portal. A sender asks for
// its IP to be delisted, giving a contact address and what it fixed.
// - The input is validated (an IP; a plausible mail address; an explanation of 10 to 2000
//   characters without control characters).
// - A contact may ask portal.delist_requests_per_day times a day (429 beyond); an IP has at
//   most one open request (409 while one is open).
// - What a request leads to is decide_delist() (ip_report.hpp), which the lookup page shows
//   before its form: approved at once when the listing was automatic (a score, or a listing
//   of the IP whose source starts with "auto"), reverse DNS passes (it names the server,
//   confirms forward, does not look generic) and the IP was not delisted in the last 30 days;
//   otherwise (an operator's or a feed's listing, a network's listing, failing reverse DNS, a
//   second listing within 30 days) it waits for an operator (the admin API). A throttle
//   deferral (it ends by itself) and an outside blocklist take no request.
// - Approving clears an automatic listing and softens the IP's history: its refusal, deferral,
//   invalid-recipient, authentication-failure and complaint counts and its score are zeroed (the
//   volume it delivered stays), so that the next message does not list it again at once.
// Requests live in the reputation store's "docs" family:
//   delist/<ip>                the IP's latest request (any state)
//   delisted/<ip>              Unix seconds of its last approval
//   delist-quota/<day>/<contact>  requests made by that contact that day
// Threading: the functions that take a store block on it (the portal runs them on the
// blocking pool). Failure: store errors come back as error_code.
#pragma once

#include <boost/system/error_code.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mxgate::storage {
class ReputationStore;
}

namespace mxgate::postmaster {

inline constexpr std::int64_t kRelistWindowSeconds = 30 * 86400;
inline constexpr std::size_t kMaxExplanation = 2000;
inline constexpr std::size_t kMinExplanation = 10;
inline constexpr std::size_t kMaxContact = 254;

struct DelistRequest {
  enum class State { Open, Approved, Denied };
  std::string ip;  // canonical text
  std::string contact;
  std::string explanation;
  std::int64_t created = 0;
  State state = State::Open;
  std::int64_t decided = 0;
  std::string decided_by;  // "policy", or the operator's word through the admin API
  std::string note;        // why (the operator's, or the policy's)
};

std::string_view delist_state_name(DelistRequest::State state);  // "open", "approved", "denied"
std::string encode_delist(const DelistRequest& request);
std::optional<DelistRequest> decode_delist(std::string_view bytes);

// "" when fine, else what is wrong, in words for the sender.
std::string check_contact(std::string_view contact);
std::string check_explanation(std::string_view explanation);

// The request stored for `ip` (any state).
std::optional<DelistRequest> find_delist(storage::ReputationStore& store, std::string_view ip);
// Every stored request, newest first; `state` filters when given.
std::vector<DelistRequest> list_delists(storage::ReputationStore& store,
                                        std::optional<DelistRequest::State> state);
// Counts one request of `contact` today; false when it had its `per_day` already.
bool take_quota(storage::ReputationStore& store, std::string_view contact, std::uint32_t per_day,
                std::int64_t now);
// Unix seconds of the last approval of a request for `ip`, 0 for never (a request within
// kRelistWindowSeconds of it goes to an operator: ip_report.hpp, decide_delist).
std::int64_t last_delisted(storage::ReputationStore& store, std::string_view ip);

boost::system::error_code save_delist(storage::ReputationStore& store,
                                      const DelistRequest& request);
// Approves: clears an automatic listing of the IP (or any listing, `clear_manual`), softens
// its history, records the approval. The request is saved as approved.
boost::system::error_code approve_delist(storage::ReputationStore& store, DelistRequest& request,
                                         std::string decided_by, std::string note,
                                         bool clear_manual, std::int64_t now);
boost::system::error_code deny_delist(storage::ReputationStore& store, DelistRequest& request,
                                      std::string decided_by, std::string note, std::int64_t now);

}  // namespace mxgate::postmaster
