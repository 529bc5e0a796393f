// The rules of one conversation with a filter, MTA side, with no I/O (issue 18):
//   - agree(): what mxgate offered and the filter's answer to the negotiation become the
//     Agreement both keep to: actions the filter asks for beyond the offer are not granted, a
//     protocol change that was not offered is refused, and an older protocol version gets no
//     step it does not define.
//   - Which steps the filter wants (SMFIP_NO*) and which it answers (SMFIP_NR_*).
//   - AnswerReader: the responses to one step, up to the one that ends it, as one Answer.
//     Modifications come only at the end of the body, and only those negotiated; anything
//     else is a protocol error, which the caller treats like a filter that is down.
// Pure. Thread-compatible.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "milter/protocol.hpp"

namespace mxgate::milter {

// The SMTP steps a filter hears about, in order.
enum class Step { Connect, Helo, Mail, Rcpt, Data, Header, EndOfHeader, Body, EndOfBody };
const char* step_name(Step step);  // "connect", "helo", ..., "end_of_body"

// What mxgate offers: every action it can apply, and the protocol features it understands.
struct Offer {
  std::uint32_t actions = actions::kAddHeaders | actions::kChangeHeaders | actions::kChangeBody |
                          actions::kQuarantine | actions::kSetSymbolList;
  std::uint32_t protocol = protocol::kAll;
  bool operator==(const Offer&) const = default;
};

struct Agreement {
  std::uint32_t version = kProtocolVersion;
  std::uint32_t actions = 0;
  std::uint32_t protocol = 0;
  std::array<std::string, kMacroStages> macros;  // names the filter asked for, per stage

  bool sends(Step step) const;    // the filter wants to hear it
  bool replies(Step step) const;  // the filter answers it
};

// nullopt (with `why`): the filter asked for protocol changes that were not offered, or speaks
// a version before 2.
std::optional<Agreement> agree(const Offer& offer, const Negotiation& answer, std::string& why);

// The end of a step.
struct Answer {
  enum class Kind { Continue, Accept, Reject, Tempfail, Discard, ConnectionFail, Skip };
  Kind kind = Kind::Continue;
  std::optional<ReplyCode> reply;  // the filter's own reply (Reject: 5xx, Tempfail: 4xx)
  // At the end of the body only: header changes in the order the filter sent them, the new
  // body if it replaced it, and the quarantine reason if it asked for one.
  std::vector<std::variant<AddHeader, InsertHeader, ChangeHeader>> header_changes;
  std::optional<std::string> new_body;
  std::optional<std::string> quarantine;
};
const char* kind_name(Answer::Kind kind);  // "continue", "accept", "reject", ...

class AnswerReader {
 public:
  // `max_body`: the largest replaced body taken (the server's max_message_size).
  AnswerReader(Step step, const Agreement& agreement, std::uint64_t max_body);

  enum class Status { More, Progress, Done, Error };
  // One response of the filter. Progress: still working (the step's deadline starts again).
  Status take(Response response);
  const Answer& answer() const { return answer_; }
  const std::string& error() const { return error_; }

 private:
  Status fail(std::string why);
  Status modification(Response& response);

  Step step_;
  const Agreement& agreement_;
  std::uint64_t max_body_;
  Answer answer_;
  std::string error_;
};

}  // namespace mxgate::milter
