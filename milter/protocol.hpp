// The Sendmail/Postfix milter protocol, version 6 (libmilter's mfdef.h of Sendmail 8.14+; what
// Postfix's milter8.c speaks), as a codec with no I/O: the MTA (client) side. Issue 18.
//
// Every packet is a 4-octet big-endian length, then one command or response octet, then
// length - 1 octets of data. Strings in the data end with NUL.
//   - Encoders append one packet (or a macro packet) to a buffer.
//   - PacketReader cuts the filter's bytes into packets, fed in arbitrary pieces, and refuses a
//     length of 0 or over its limit (so a hostile or broken filter cannot make us hold more).
//   - parse_negotiation() and parse_response() read the filter's packets into values; data that
//     does not match its response's layout is nullopt (a protocol error), never an exception.
// Pure: no Asio, no allocation beyond the returned values. Thread-compatible.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace mxgate::milter {

inline constexpr std::uint32_t kProtocolVersion = 6;
// The largest body chunk a filter must accept (MILTER_CHUNK_SIZE).
inline constexpr std::size_t kMaxBodyChunk = 65535;

// Commands, MTA to filter.
enum class Command : char {
  Abort = 'A',              // the current message is abandoned; the connection stays
  Body = 'B',               // a body chunk
  Connect = 'C',            // the SMTP client's host name, family, port and address
  Macro = 'D',              // macros for the command that follows
  EndOfBody = 'E',          // the end of the message: modifications, then the verdict
  Helo = 'H',               // HELO/EHLO argument
  QuitNewConnection = 'K',  // this SMTP session ended; the next one reuses the connection
  Header = 'L',             // one header field: name, value
  Mail = 'M',               // MAIL FROM: the address in <>, then ESMTP parameters
  EndOfHeader = 'N',        // the end of the header section
  OptionNegotiation = 'O',
  Quit = 'Q',     // the connection ends
  Rcpt = 'R',     // RCPT TO
  Data = 'T',     // DATA
  Unknown = 'U',  // an SMTP command the MTA does not know
};

// Action flags (SMFIF_*): what a filter may do at the end of the body.
namespace actions {
inline constexpr std::uint32_t kAddHeaders = 1u << 0;
inline constexpr std::uint32_t kChangeBody = 1u << 1;
inline constexpr std::uint32_t kAddRcpt = 1u << 2;
inline constexpr std::uint32_t kDeleteRcpt = 1u << 3;
inline constexpr std::uint32_t kChangeHeaders = 1u << 4;
inline constexpr std::uint32_t kQuarantine = 1u << 5;
inline constexpr std::uint32_t kChangeFrom = 1u << 6;
inline constexpr std::uint32_t kAddRcptWithArgs = 1u << 7;
inline constexpr std::uint32_t kSetSymbolList = 1u << 8;
}  // namespace actions

// Protocol flags (SMFIP_*): steps the filter does not want, and steps it will not answer.
namespace protocol {
inline constexpr std::uint32_t kNoConnect = 1u << 0;
inline constexpr std::uint32_t kNoHelo = 1u << 1;
inline constexpr std::uint32_t kNoMail = 1u << 2;
inline constexpr std::uint32_t kNoRcpt = 1u << 3;
inline constexpr std::uint32_t kNoBody = 1u << 4;
inline constexpr std::uint32_t kNoHeaders = 1u << 5;
inline constexpr std::uint32_t kNoEndOfHeader = 1u << 6;
inline constexpr std::uint32_t kNoReplyHeader = 1u << 7;
inline constexpr std::uint32_t kNoUnknown = 1u << 8;
inline constexpr std::uint32_t kNoData = 1u << 9;
inline constexpr std::uint32_t kSkip = 1u << 10;  // the MTA understands SMFIR_SKIP
inline constexpr std::uint32_t kRejectedRcpt = 1u << 11;
inline constexpr std::uint32_t kNoReplyConnect = 1u << 12;
inline constexpr std::uint32_t kNoReplyHelo = 1u << 13;
inline constexpr std::uint32_t kNoReplyMail = 1u << 14;
inline constexpr std::uint32_t kNoReplyRcpt = 1u << 15;
inline constexpr std::uint32_t kNoReplyData = 1u << 16;
inline constexpr std::uint32_t kNoReplyUnknown = 1u << 17;
inline constexpr std::uint32_t kNoReplyEndOfHeader = 1u << 18;
inline constexpr std::uint32_t kNoReplyBody = 1u << 19;
inline constexpr std::uint32_t kHeaderLeadingSpace = 1u << 20;
// Everything version 6 defines.
inline constexpr std::uint32_t kAll = (1u << 21) - 1;
}  // namespace protocol

// Where a filter's list of wanted macros applies (SMFIM_*), in the order of the stages.
enum class MacroStage : std::uint32_t {
  Connect = 0,
  Helo = 1,
  Mail = 2,
  Rcpt = 3,
  Data = 4,
  EndOfMessage = 5,
  EndOfHeader = 6,
};
inline constexpr std::size_t kMacroStages = 7;

// The client's address family in a Connect packet.
enum class Family : char { Unknown = 'U', Unix = 'L', Inet = '4', Inet6 = '6' };

using Macro = std::pair<std::string_view, std::string_view>;  // name ("j", "{client_addr}"), value

// Encoders: each appends one packet to `out`. Strings must not contain NUL (the caller's
// values come from SMTP, where NUL is refused); a body chunk is at most kMaxBodyChunk octets.
void encode_negotiation(std::string& out, std::uint32_t version, std::uint32_t actions,
                        std::uint32_t protocol);
void encode_macros(std::string& out, Command command, std::span<const Macro> macros);
void encode_connect(std::string& out, std::string_view hostname, Family family, std::uint16_t port,
                    std::string_view address);
void encode_helo(std::string& out, std::string_view name);
// `path` is "<address>" as on the SMTP line; `parameters` the ESMTP ones ("SIZE=1000").
void encode_mail(std::string& out, std::string_view path,
                 std::span<const std::string_view> parameters = {});
void encode_rcpt(std::string& out, std::string_view path,
                 std::span<const std::string_view> parameters = {});
void encode_header(std::string& out, std::string_view name, std::string_view value);
void encode_body(std::string& out, std::string_view chunk);
void encode_unknown(std::string& out, std::string_view line);
// Abort, Data, EndOfHeader, EndOfBody, Quit, QuitNewConnection: no data.
void encode_bare(std::string& out, Command command);

struct Packet {
  char code = 0;
  std::string data;
  bool operator==(const Packet&) const = default;
};

// Cuts a byte stream into packets.
class PacketReader {
 public:
  // `max_data`: the largest data a packet may carry (a filter sends body replacements in
  // chunks of at most 64 KiB, and a negotiation with macro lists is small).
  explicit PacketReader(std::size_t max_data = 1 << 20) : max_data_(max_data) {}
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  // The next whole packet, or nullopt when more bytes are needed or the stream is broken
  // (failed() then says so, for good).
  std::optional<Packet> next();
  bool failed() const { return failed_; }
  std::size_t buffered() const { return buffer_.size() - consumed_; }

 private:
  std::string buffer_;
  std::size_t consumed_ = 0;
  std::size_t max_data_;
  bool failed_ = false;
};

// The filter's answer to OptionNegotiation: its version, the actions it wants, the steps it
// does not want, and for each stage the macros it asks for (empty: the MTA's defaults).
struct Negotiation {
  std::uint32_t version = 0;
  std::uint32_t actions = 0;
  std::uint32_t protocol = 0;
  std::array<std::string, kMacroStages> macros;
  bool operator==(const Negotiation&) const = default;
};
std::optional<Negotiation> parse_negotiation(const Packet& packet);

// The filter's responses.
struct Accept {};          // the rest of this message (or connection) needs no filtering
struct Continue {};        // go on
struct Discard {};         // accept the message and drop it
struct Reject {};          // 5xx, the MTA's text
struct Tempfail {};        // 4xx, the MTA's text
struct Skip {};            // no more body chunks
struct Progress {};        // still working: restart the timeout
struct ConnectionFail {};  // drop the SMTP connection (421)
struct Shutdown {};        // 421, the filter is going away
// The reply the filter chose: every line, with its code ("550" or "451") and text
// ("5.7.1 Spam message rejected"). The code is 4xx or 5xx; a multi-line reply keeps one code.
struct ReplyCode {
  int code = 0;
  std::vector<std::string> lines;
  bool operator==(const ReplyCode&) const = default;
};
struct AddHeader {
  std::string name, value;
  bool operator==(const AddHeader&) const = default;
};
// Inserted before the header field at `index` (0: first).
struct InsertHeader {
  std::uint32_t index = 0;
  std::string name, value;
  bool operator==(const InsertHeader&) const = default;
};
// The `index`th (from 1) field named `name`; an empty value deletes it.
struct ChangeHeader {
  std::uint32_t index = 0;
  std::string name, value;
  bool operator==(const ChangeHeader&) const = default;
};
struct ReplaceBody {
  std::string chunk;
  bool operator==(const ReplaceBody&) const = default;
};
struct Quarantine {
  std::string reason;
  bool operator==(const Quarantine&) const = default;
};
struct AddRcpt {
  std::string address, parameters;
  bool operator==(const AddRcpt&) const = default;
};
struct DeleteRcpt {
  std::string address;
  bool operator==(const DeleteRcpt&) const = default;
};
struct ChangeFrom {
  std::string address, parameters;
  bool operator==(const ChangeFrom&) const = default;
};
using Response =
    std::variant<Accept, Continue, Discard, Reject, Tempfail, Skip, Progress, ConnectionFail,
                 Shutdown, ReplyCode, AddHeader, InsertHeader, ChangeHeader, ReplaceBody,
                 Quarantine, AddRcpt, DeleteRcpt, ChangeFrom>;
// nullopt: an unknown code, or data that does not fit the code's layout.
std::optional<Response> parse_response(const Packet& packet);

// Whether `response` ends the step it answers (accept, continue, a verdict), as opposed to a
// modification or progress, which come before the step's answer.
bool ends_step(const Response& response);

}  // namespace mxgate::milter
