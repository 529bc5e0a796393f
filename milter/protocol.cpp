#include "milter/protocol.hpp"

#include <algorithm>
#include <cctype>

namespace mxgate::milter {

namespace {

void put_u32(std::string& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}

std::uint32_t get_u32(std::string_view bytes) {
  std::uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  return value;
}

// A packet's header: its length (the code octet and the data) and its code.
void begin(std::string& out, char code, std::size_t data_size) {
  put_u32(out, static_cast<std::uint32_t>(data_size + 1));
  out.push_back(code);
}

void put_string(std::string& out, std::string_view s) {
  out.append(s);
  out.push_back('\0');
}

// The data of a packet, read front to back.
struct DataReader {
  std::string_view rest;
  bool ok = true;

  std::string_view string() {  // up to the next NUL, which is consumed
    const auto nul = rest.find('\0');
    if (nul == std::string_view::npos) {
      ok = false;
      return {};
    }
    const auto s = rest.substr(0, nul);
    rest.remove_prefix(nul + 1);
    return s;
  }
  std::uint32_t u32() {
    if (rest.size() < 4) {
      ok = false;
      return 0;
    }
    const auto value = get_u32(rest);
    rest.remove_prefix(4);
    return value;
  }
  bool done() const { return ok && rest.empty(); }
};

void encode_path(std::string& out, Command command, std::string_view path,
                 std::span<const std::string_view> parameters) {
  std::size_t size = path.size() + 1;
  for (const auto p : parameters) size += p.size() + 1;
  begin(out, static_cast<char>(command), size);
  put_string(out, path);
  for (const auto p : parameters) put_string(out, p);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// "550 5.7.1 text" or, over several lines joined by CRLF, "550-5.7.1 one\r\n550 5.7.1 two".
// The code is 4xx or 5xx and the same on every line (RFC 5321 §4.2.1).
std::optional<ReplyCode> parse_reply_code(std::string_view text) {
  ReplyCode reply;
  std::string_view code;
  while (true) {
    const auto crlf = text.find("\r\n");
    const bool last = crlf == std::string_view::npos;
    const std::string_view line = last ? text : text.substr(0, crlf);
    if (line.size() < 3 || (line[0] != '4' && line[0] != '5') || !is_digit(line[1]) ||
        !is_digit(line[2])) {
      return std::nullopt;
    }
    if (code.empty()) code = line.substr(0, 3);
    if (line.substr(0, 3) != code) return std::nullopt;
    if (line.size() > 3 && line[3] != (last ? ' ' : '-')) return std::nullopt;
    if (!last && line.size() == 3) return std::nullopt;
    const std::string_view rest = line.size() > 4 ? line.substr(4) : std::string_view();
    if (std::any_of(rest.begin(), rest.end(), [](char c) { return c == '\r' || c == '\n'; })) {
      return std::nullopt;
    }
    reply.lines.emplace_back(rest);
    if (last) break;
    text.remove_prefix(crlf + 2);
  }
  reply.code = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
  return reply;
}

// A header field name (RFC 5322 §3.6.8: printable US-ASCII but colon).
bool is_field_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(),
                                      [](char c) { return c >= 33 && c <= 126 && c != ':'; });
}

}  // namespace

void encode_negotiation(std::string& out, std::uint32_t version, std::uint32_t actions,
                        std::uint32_t protocol) {
  begin(out, static_cast<char>(Command::OptionNegotiation), 12);
  put_u32(out, version);
  put_u32(out, actions);
  put_u32(out, protocol);
}

void encode_macros(std::string& out, Command command, std::span<const Macro> macros) {
  std::size_t size = 1;
  for (const auto& [name, value] : macros) size += name.size() + value.size() + 2;
  begin(out, static_cast<char>(Command::Macro), size);
  out.push_back(static_cast<char>(command));
  for (const auto& [name, value] : macros) {
    put_string(out, name);
    put_string(out, value);
  }
}

void encode_connect(std::string& out, std::string_view hostname, Family family, std::uint16_t port,
                    std::string_view address) {
  const bool unknown = family == Family::Unknown;
  begin(out, static_cast<char>(Command::Connect),
        hostname.size() + 2 + (unknown ? 0 : 2 + address.size() + 1));
  put_string(out, hostname);
  out.push_back(static_cast<char>(family));
  if (unknown) return;
  out.push_back(static_cast<char>(port >> 8));
  out.push_back(static_cast<char>(port & 0xff));
  put_string(out, address);
}

void encode_helo(std::string& out, std::string_view name) {
  begin(out, static_cast<char>(Command::Helo), name.size() + 1);
  put_string(out, name);
}

void encode_mail(std::string& out, std::string_view path,
                 std::span<const std::string_view> parameters) {
  encode_path(out, Command::Mail, path, parameters);
}

void encode_rcpt(std::string& out, std::string_view path,
                 std::span<const std::string_view> parameters) {
  encode_path(out, Command::Rcpt, path, parameters);
}

void encode_header(std::string& out, std::string_view name, std::string_view value) {
  begin(out, static_cast<char>(Command::Header), name.size() + value.size() + 2);
  put_string(out, name);
  put_string(out, value);
}

void encode_body(std::string& out, std::string_view chunk) {
  begin(out, static_cast<char>(Command::Body), chunk.size());
  out.append(chunk);
}

void encode_unknown(std::string& out, std::string_view line) {
  begin(out, static_cast<char>(Command::Unknown), line.size() + 1);
  put_string(out, line);
}

void encode_bare(std::string& out, Command command) { begin(out, static_cast<char>(command), 0); }

std::optional<Packet> PacketReader::next() {
  if (failed_) return std::nullopt;
  const std::string_view pending = std::string_view(buffer_).substr(consumed_);
  if (pending.size() < 4) return std::nullopt;
  const std::uint32_t length = get_u32(pending);
  if (length == 0 || length - 1 > max_data_) {
    failed_ = true;
    return std::nullopt;
  }
  if (pending.size() - 4 < length) return std::nullopt;
  Packet packet{pending[4], std::string(pending.substr(5, length - 1))};
  consumed_ += 4 + length;
  // Keep the buffer from growing: drop what was read once it is most of it.
  if (consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  } else if (consumed_ > 65536 && consumed_ * 2 > buffer_.size()) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  return packet;
}

std::optional<Negotiation> parse_negotiation(const Packet& packet) {
  if (packet.code != static_cast<char>(Command::OptionNegotiation)) return std::nullopt;
  DataReader in{packet.data};
  Negotiation negotiation;
  negotiation.version = in.u32();
  negotiation.actions = in.u32();
  negotiation.protocol = in.u32();
  if (!in.ok) return std::nullopt;
  // Then, with SMFIF_SETSYMLIST: (stage, "macro names separated by spaces") pairs.
  while (in.ok && !in.rest.empty()) {
    const std::uint32_t stage = in.u32();
    const std::string_view names = in.string();
    if (!in.ok || stage >= kMacroStages) return std::nullopt;
    negotiation.macros[stage] = std::string(names);
  }
  if (!in.done()) return std::nullopt;
  return negotiation;
}

namespace {

template <typename Bare>
std::optional<Response> bare(const Packet& packet) {
  if (!packet.data.empty()) return std::nullopt;
  return Response(Bare{});
}

std::optional<Response> header_response(const Packet& packet) {
  DataReader in{packet.data};
  std::uint32_t index = 0;
  if (packet.code != 'h') index = in.u32();
  const std::string name(in.string());
  const std::string value(in.string());
  if (!in.done() || !is_field_name(name)) return std::nullopt;
  switch (packet.code) {
    case 'h':
      return Response(AddHeader{name, value});
    case 'i':
      return Response(InsertHeader{index, name, value});
    default:
      return Response(ChangeHeader{index, name, value});
  }
}

// An address, then ESMTP parameters if `with_parameters` (and the data has them).
std::optional<std::pair<std::string, std::string>> address_response(const Packet& packet,
                                                                    bool with_parameters) {
  DataReader in{packet.data};
  std::pair<std::string, std::string> out;
  out.first = std::string(in.string());
  if (with_parameters && in.ok && !in.rest.empty()) out.second = std::string(in.string());
  if (!in.done() || out.first.empty()) return std::nullopt;
  return out;
}

}  // namespace

std::optional<Response> parse_response(const Packet& packet) {
  switch (packet.code) {
    case 'a':
      return bare<Accept>(packet);
    case 'c':
      return bare<Continue>(packet);
    case 'd':
      return bare<Discard>(packet);
    case 'r':
      return bare<Reject>(packet);
    case 't':
      return bare<Tempfail>(packet);
    case 's':
      return bare<Skip>(packet);
    case 'p':
      return bare<Progress>(packet);
    case 'f':
      return bare<ConnectionFail>(packet);
    case '4':
      return bare<Shutdown>(packet);
    case 'y': {
      DataReader in{packet.data};
      const std::string_view text = in.string();
      if (!in.done()) return std::nullopt;
      auto reply = parse_reply_code(text);
      if (!reply) return std::nullopt;
      return Response(std::move(*reply));
    }
    case 'h':
    case 'i':
    case 'm':
      return header_response(packet);
    case 'b':
      return Response(ReplaceBody{packet.data});
    case 'q': {
      DataReader in{packet.data};
      const std::string reason(in.string());
      if (!in.done()) return std::nullopt;
      return Response(Quarantine{reason});
    }
    case '+':
    case '2': {
      auto address = address_response(packet, packet.code == '2');
      if (!address) return std::nullopt;
      return Response(AddRcpt{std::move(address->first), std::move(address->second)});
    }
    case '-': {
      auto address = address_response(packet, false);
      if (!address) return std::nullopt;
      return Response(DeleteRcpt{std::move(address->first)});
    }
    case 'e': {
      auto address = address_response(packet, true);
      if (!address) return std::nullopt;
      return Response(ChangeFrom{std::move(address->first), std::move(address->second)});
    }
    default:
      return std::nullopt;
  }
}

bool ends_step(const Response& response) {
  return std::holds_alternative<Accept>(response) || std::holds_alternative<Continue>(response) ||
         std::holds_alternative<Discard>(response) || std::holds_alternative<Reject>(response) ||
         std::holds_alternative<Tempfail>(response) || std::holds_alternative<Skip>(response) ||
         std::holds_alternative<ConnectionFail>(response) ||
         std::holds_alternative<Shutdown>(response) || std::holds_alternative<ReplyCode>(response);
}

}  // namespace mxgate::milter
