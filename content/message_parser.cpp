#include "content/message_parser.hpp"

// Placeholder until the parser lands: finds nothing.
namespace mxgate::content {

struct MessageParser::State {
  ParseOptions options;
  std::vector<HeaderField> header;
  BulkFacts bulk;
  std::vector<FindingDetail> findings;
  std::vector<LinkedDomain> domains;
  bool header_done = false;
};

MessageParser::MessageParser(ParseOptions options) : state_(std::make_unique<State>()) {
  state_->options = options;
}
MessageParser::~MessageParser() = default;
void MessageParser::feed(std::string_view) {}
void MessageParser::finish() { state_->header_done = true; }
bool MessageParser::header_done() const { return state_->header_done; }
const std::vector<HeaderField>& MessageParser::header() const { return state_->header; }
const HeaderField* MessageParser::field(std::string_view) const { return nullptr; }
std::size_t MessageParser::field_count(std::string_view) const { return 0; }
const BulkFacts& MessageParser::bulk() const { return state_->bulk; }
const std::vector<FindingDetail>& MessageParser::findings() const { return state_->findings; }
const std::vector<LinkedDomain>& MessageParser::linked_domains() const { return state_->domains; }
std::size_t MessageParser::linked_domains_dropped() const { return 0; }
std::size_t MessageParser::parts() const { return 1; }
std::uint64_t MessageParser::decoded_bytes() const { return 0; }
std::string decode_header_value(std::string_view value) { return std::string(value); }
std::string registrable_domain(std::string_view host) { return std::string(host); }

}  // namespace mxgate::content
