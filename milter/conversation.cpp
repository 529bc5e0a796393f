#include "milter/conversation.hpp"

#include <algorithm>
#include <array>

namespace mxgate::milter {

namespace {

struct StepFlags {
  std::uint32_t no_send;
  std::uint32_t no_reply;
  std::uint32_t since_version;  // the first protocol version that has the step
};

StepFlags flags_of(Step step) {
  switch (step) {
    case Step::Connect:
      return {protocol::kNoConnect, protocol::kNoReplyConnect, 2};
    case Step::Helo:
      return {protocol::kNoHelo, protocol::kNoReplyHelo, 2};
    case Step::Mail:
      return {protocol::kNoMail, protocol::kNoReplyMail, 2};
    case Step::Rcpt:
      return {protocol::kNoRcpt, protocol::kNoReplyRcpt, 2};
    case Step::Data:
      return {protocol::kNoData, protocol::kNoReplyData, 4};
    case Step::Header:
      return {protocol::kNoHeaders, protocol::kNoReplyHeader, 2};
    case Step::EndOfHeader:
      return {protocol::kNoEndOfHeader, protocol::kNoReplyEndOfHeader, 2};
    case Step::Body:
      return {protocol::kNoBody, protocol::kNoReplyBody, 2};
    case Step::EndOfBody:
      return {0, 0, 2};
  }
  return {0, 0, 2};
}

// The protocol bits each version defines (Postfix's milter8.c: MILTER8_V*_PROTO_MASK).
std::uint32_t protocol_of_version(std::uint32_t version) {
  constexpr std::uint32_t v2 = protocol::kNoConnect | protocol::kNoHelo | protocol::kNoMail |
                               protocol::kNoRcpt | protocol::kNoBody | protocol::kNoHeaders |
                               protocol::kNoEndOfHeader;
  if (version < 3) return v2;
  if (version < 4) return v2 | protocol::kNoUnknown;
  if (version < 6) return v2 | protocol::kNoUnknown | protocol::kNoData;
  return protocol::kAll;
}

}  // namespace

const char* step_name(Step step) {
  static constexpr std::array<const char*, 9> kNames = {
      "connect", "helo", "mail", "rcpt", "data", "header", "end_of_header", "body", "end_of_body"};
  return kNames[static_cast<std::size_t>(step)];
}

const char* kind_name(Answer::Kind kind) {
  static constexpr std::array<const char*, 7> kNames = {
      "continue", "accept", "reject", "tempfail", "discard", "connection_fail", "skip"};
  return kNames[static_cast<std::size_t>(kind)];
}

bool Agreement::sends(Step step) const {
  const auto f = flags_of(step);
  return version >= f.since_version && (protocol & f.no_send) == 0;
}

bool Agreement::replies(Step step) const {
  const auto f = flags_of(step);
  return (protocol & f.no_reply) == 0;
}

std::optional<Agreement> agree(const Offer& offer, const Negotiation& answer, std::string& why) {
  if (answer.version < 2) {
    why = "protocol version " + std::to_string(answer.version) + " (2 to 6 are spoken)";
    return std::nullopt;
  }
  Agreement agreement;
  agreement.version = std::min(answer.version, kProtocolVersion);
  const std::uint32_t allowed = offer.protocol & protocol_of_version(agreement.version);
  if ((answer.protocol & ~allowed) != 0) {
    why = "it wants protocol steps that were not offered (" + std::to_string(answer.protocol) + ")";
    return std::nullopt;
  }
  // Actions beyond the offer are not granted (Rspamd asks for all six v2 actions whatever it
  // is offered); a change that was not granted is a protocol error when it comes.
  agreement.actions = answer.actions & offer.actions;
  agreement.protocol = answer.protocol;
  agreement.macros = answer.macros;
  return agreement;
}

AnswerReader::AnswerReader(Step step, const Agreement& agreement, std::uint64_t max_body)
    : step_(step), agreement_(agreement), max_body_(max_body) {}

AnswerReader::Status AnswerReader::fail(std::string why) {
  error_ = std::move(why);
  return Status::Error;
}

AnswerReader::Status AnswerReader::take(Response response) {
  using Kind = Answer::Kind;
  const auto done = [this](Kind kind) {
    answer_.kind = kind;
    return Status::Done;
  };
  if (std::holds_alternative<Progress>(response)) return Status::Progress;
  if (std::holds_alternative<Continue>(response)) return done(Kind::Continue);
  if (std::holds_alternative<Accept>(response)) return done(Kind::Accept);
  if (std::holds_alternative<Reject>(response)) return done(Kind::Reject);
  if (std::holds_alternative<Tempfail>(response)) return done(Kind::Tempfail);
  if (std::holds_alternative<Discard>(response)) return done(Kind::Discard);
  if (std::holds_alternative<ConnectionFail>(response) ||
      std::holds_alternative<Shutdown>(response)) {
    return done(Kind::ConnectionFail);
  }
  if (std::holds_alternative<Skip>(response)) {
    if (step_ != Step::Body || (agreement_.protocol & protocol::kSkip) == 0) {
      return fail(std::string("skip at ") + step_name(step_));
    }
    return done(Kind::Skip);
  }
  if (auto* reply = std::get_if<ReplyCode>(&response)) {
    answer_.reply = std::move(*reply);
    return done(answer_.reply->code >= 500 ? Kind::Reject : Kind::Tempfail);
  }
  return modification(response);
}

// A change to the message: only at the end of the body, and only one that was agreed.
AnswerReader::Status AnswerReader::modification(Response& response) {
  if (step_ != Step::EndOfBody) {
    return fail(std::string("a message change at ") + step_name(step_));
  }
  const auto allowed = [this](std::uint32_t action) { return (agreement_.actions & action) != 0; };
  if (auto* add = std::get_if<AddHeader>(&response)) {
    if (!allowed(actions::kAddHeaders)) return fail("add header without SMFIF_ADDHDRS");
    answer_.header_changes.emplace_back(std::move(*add));
  } else if (auto* insert = std::get_if<InsertHeader>(&response)) {
    if (!allowed(actions::kAddHeaders)) return fail("insert header without SMFIF_ADDHDRS");
    answer_.header_changes.emplace_back(std::move(*insert));
  } else if (auto* change = std::get_if<ChangeHeader>(&response)) {
    if (!allowed(actions::kChangeHeaders)) return fail("change header without SMFIF_CHGHDRS");
    answer_.header_changes.emplace_back(std::move(*change));
  } else if (auto* body = std::get_if<ReplaceBody>(&response)) {
    if (!allowed(actions::kChangeBody)) return fail("replace body without SMFIF_CHGBODY");
    if (!answer_.new_body) answer_.new_body.emplace();
    if (answer_.new_body->size() + body->chunk.size() > max_body_) {
      return fail("a replaced body over the message size limit");
    }
    answer_.new_body->append(body->chunk);
  } else if (auto* quarantine = std::get_if<Quarantine>(&response)) {
    if (!allowed(actions::kQuarantine)) return fail("quarantine without SMFIF_QUARANTINE");
    answer_.quarantine = std::move(quarantine->reason);
  } else {
    return fail("a recipient or sender change, which was not offered");
  }
  return Status::More;
}

}  // namespace mxgate::milter
