// The per-IP note of a linked-domain refusal (issue 17): when a message is refused because a
// domain it links to is listed (our "uri:" listing or a URI blocklist), the session writes what
// was listed against the client IP, so that the postmaster page of that IP can say which
// linked domain it was, by whom it was listed and when.
//
// Kept by ReputationStore in its own column family (kNotesFamilyName), key: the client's IP key
// (key_codec.hpp ip_key), value: the latest note only (a later refusal replaces it).
// Value layout (integers little-endian): u8 version (1) | i64 at | u16 len, domain
// | u16 len, listed_by | u16 len, reason. Texts are cut to their caps on encode (at a UTF-8
// character boundary). decode never throws on garbage: nullopt.
// Bounds: one value per IP, at most about 1.3 KB; the column family's compaction filter drops
// notes older than kLinkedDomainNoteSeconds, and readers ignore them (linked_domain_note_shown).
// Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mxgate::storage {

inline constexpr std::string_view kNotesFamilyName = "linked_domain_notes";
inline constexpr std::uint8_t kNoteVersion = 1;
inline constexpr std::int64_t kLinkedDomainNoteSeconds = 7 * 86400;  // shown for a week
inline constexpr std::size_t kMaxNoteDomain = 255;
inline constexpr std::size_t kMaxNoteText = 512;  // listed_by and reason

// How our own listings of linked domains are named (`mxgate rep set uri:evil.example`), and
// so a note's listed_by for one: kLinkedListingPrefix + the key (key_codec.hpp). Anything else
// in listed_by is a URI blocklist's zone.
inline constexpr std::string_view kLinkedListingPrefix = "uri:";

struct LinkedDomainNote {
  std::string domain;     // "evil.example", or an IP literal's text
  std::string listed_by;  // "uri:evil.example" (our listing) or the URI blocklist's zone
  std::string reason;     // the listing's reason, or the zone's answer
  std::int64_t at = 0;    // Unix seconds of the refusal
};

std::string encode_note(const LinkedDomainNote& note);
std::optional<LinkedDomainNote> decode_note(std::string_view bytes);

// The note is recent enough to show at `now` (at most kLinkedDomainNoteSeconds old, and not
// from the future by more than a day: a clock step must not make it eternal).
bool linked_domain_note_shown(const LinkedDomainNote& note, std::int64_t now);

}  // namespace mxgate::storage
