#include "relay/recipient_log.hpp"

#include <fmt/format.h>

#include "common/log.hpp"

namespace mxgate::relay {

std::string dsn_of(const smtp::Reply& reply) {
  if (!reply.enhanced.empty()) return reply.enhanced;
  return fmt::format("{}.0.0", reply.klass());
}

std::string recipient_line(const RecipientOutcome& outcome) {
  std::string line = "recipient";
  common::append_kv(line, "id", outcome.id);
  common::append_kv(line, "to", fmt::format("<{}>", outcome.address));
  common::append_kv(line, "relay", outcome.relay.empty() ? "none" : outcome.relay);
  common::append_kv(line, "delay", fmt::format("{:.3f}", outcome.delay));
  common::append_kv(line, "dsn", dsn_of(outcome.reply));
  common::append_kv(line, "status", outcome.status);
  const smtp::Reply& reply = outcome.reply;
  common::append_kv(line, "reply",
                    fmt::format("{}{}{} {}", reply.code, reply.enhanced.empty() ? "" : " ",
                                reply.enhanced, reply.text()));
  return line;
}

}  // namespace mxgate::relay
