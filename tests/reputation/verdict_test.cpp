#include "reputation/verdict.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace mxgate::reputation {
namespace {

// Names are stable: config files, dashboards and stored records use them.
TEST(Signal, NamesAreTheDocumentedSnakeCaseNames) {
  const std::vector<std::pair<Signal, std::string>> cases = {
      {Signal::None, "none"},
      {Signal::ManualBlock, "manual_block"},
      {Signal::ManualAllow, "manual_allow"},
      {Signal::ReputationPoor, "reputation_poor"},
      {Signal::RejectRatio, "reject_ratio"},
      {Signal::ComplaintRate, "complaint_rate"},
      {Signal::InvalidRecipients, "invalid_recipients"},
      {Signal::FirstSeenRecently, "first_seen_recently"},
      {Signal::CheckError, "check_error"},
      {Signal::Timeout, "timeout"},
      {Signal::DnsblListed, "dnsbl_listed"},
      {Signal::DnsblAllowlisted, "dnsbl_allowlisted"},
      {Signal::RdnsMissing, "rdns_missing"},
      {Signal::RdnsMismatch, "rdns_mismatch"},
      {Signal::RdnsGeneric, "rdns_generic"},
      {Signal::HeloInvalid, "helo_invalid"},
      {Signal::HeloMismatch, "helo_mismatch"},
      {Signal::SenderDomainInvalid, "sender_domain_invalid"},
      {Signal::SenderDomainNullMx, "sender_domain_null_mx"},
      {Signal::SpfFail, "spf_fail"},
      {Signal::SpfSoftfail, "spf_softfail"},
      {Signal::DkimFail, "dkim_fail"},
      {Signal::DmarcFail, "dmarc_fail"},
      {Signal::RateLimited, "rate_limited"},
      {Signal::NewIpRamp, "new_ip_ramp"},
      {Signal::Anomaly, "anomaly"},
      {Signal::Pregreet, "pregreet"},
      {Signal::Unauthenticated, "unauthenticated"},
      {Signal::DkimUnsignedContent, "dkim_unsigned_content"},
      {Signal::DateMissing, "date_missing"},
      {Signal::DateDuplicate, "date_duplicate"},
      {Signal::FromMissing, "from_missing"},
      {Signal::FromDuplicate, "from_duplicate"},
      {Signal::MessageIdMissing, "message_id_missing"},
      {Signal::HeaderNoColon, "header_no_colon"},
      {Signal::HeaderBadName, "header_bad_name"},
      {Signal::Header8bit, "header_8bit"},
      {Signal::MimeNoBoundary, "mime_no_boundary"},
      {Signal::MimeUnterminated, "mime_unterminated"},
      {Signal::MimeBoundaryUnseen, "mime_boundary_unseen"},
      {Signal::MimeBadEncoding, "mime_bad_encoding"},
      {Signal::MimeBadBase64, "mime_bad_base64"},
      {Signal::MimeOverLimit, "mime_over_limit"},
      {Signal::UriListed, "uri_listed"},
      {Signal::UriDnsblListed, "uri_dnsbl_listed"},
      {Signal::BulkNoOneClick, "bulk_no_one_click"},
      {Signal::MilterReject, "milter_reject"},
      {Signal::MilterTempfail, "milter_tempfail"},
  };
  ASSERT_EQ(cases.size(), kSignalCount);
  for (const auto& [signal, name] : cases) {
    EXPECT_EQ(signal_name(signal), name);
    EXPECT_EQ(parse_signal(name), signal) << name;
  }
}

TEST(Signal, EverySignalHasAUniqueNameAndADescription) {
  std::set<std::string_view> names;
  ASSERT_EQ(all_signals().size(), kSignalCount);
  for (const Signal signal : all_signals()) {
    EXPECT_TRUE(names.insert(signal_name(signal)).second) << signal_name(signal);
    EXPECT_FALSE(signal_description(signal).empty()) << signal_name(signal);
  }
}

TEST(Signal, UnknownOrMiscasedNamesDoNotParse) {
  for (const std::string name : {"", "Manual_Block", "manual-block", "manual_block ", "bogus"}) {
    EXPECT_FALSE(parse_signal(name).has_value()) << name;
  }
}

TEST(Verdict, FactoriesSetTheActionScoreAndSignal) {
  EXPECT_EQ(Verdict::cont(2.5, Signal::RdnsMissing, "no PTR"),
            (Verdict{Action::Continue, 2.5, Signal::RdnsMissing, "no PTR"}));
  EXPECT_EQ(Verdict::reject(Signal::ManualBlock, "r").action, Action::Reject);
  EXPECT_EQ(Verdict::defer(Signal::RateLimited, "r", 1).score, 1);
  EXPECT_EQ(Verdict::drop(Signal::Pregreet, "r").action, Action::Drop);
  EXPECT_EQ(Verdict::accept(Signal::ManualAllow, "r").action, Action::Accept);
  EXPECT_EQ(Verdict::quarantine(Signal::Anomaly, "r").action, Action::Quarantine);
  EXPECT_EQ(stage_name(Stage::EndOfData), "end_of_data");
  EXPECT_EQ(action_name(Action::Quarantine), "quarantine");
}

}  // namespace
}  // namespace mxgate::reputation
