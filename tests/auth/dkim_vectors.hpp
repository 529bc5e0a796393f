// DKIM test vectors: messages signed by an independent implementation, Debian 12's
// python3-dkim 1.1.4 (dkimpy), for tests/auth/dkim_interop_test.cpp and benchmarks/micro.
//
// How the vectors were made (once; no Python at test time):
//   /usr/bin/dknewkey rsa2048                  # 2048-bit RSA key, rsa2048.dns is the record
//   /usr/bin/dknewkey --ktype ed25519 ed       # Ed25519 key, ed.dns is the record
//   then, with /usr/bin/python3, for (key, c) in {rsa2048, ed} x {relaxed, simple}, plus ed
//   relaxed with length=True:
//     sig = dkim.sign(kUnsignedMessage, selector, b"example.org", key,
//                     canonicalize=(c, c), signature_algorithm=b"rsa-sha256" or
//                     b"ed25519-sha256", identity=b"alice@mail.example.org", length=...,
//                     include_headers=[from, to, subject, date, message-id, mime-version,
//                                      content-type, from, subject, reply-to])
//   and each signed message (sig + kUnsignedMessage; the l= one with kFooter appended after
//   signing) was checked with dkim.verify() before being copied here. h= oversigns From and
//   Subject and names the absent Reply-To; the message has folded, tabbed and trailing white
//   space in a header and the body, and empty lines at the end of the body.
#pragma once

#include <string_view>

namespace mxgate::auth::vectors {

inline constexpr std::string_view kUnsignedMessage =
    "From: Alice Example <alice@example.org>\r\n"
    "To: Bob <bob@example.net>\r\n"
    "Subject: Quarterly  report,\r\n"
    "\tfolded   with\ttabs  \r\n"
    "Date: Mon, 03 Jun 2024 10:00:00 +0000\r\n"
    "Message-ID: <vec1@example.org>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "Hello Bob,\r\n"
    "\r\n"
    "  Numbers:\t 1  2\t\t3   \r\n"
    "trailing tab\t\r\n"
    "\r\n"
    "-- \r\n"
    "Alice\r\n"
    "\r\n"
    "\r\n";
// rsa2048_relaxed
inline constexpr std::string_view kRsa2048RelaxedSignature =
    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org;\r\n"
    " i=alice@mail.example.org; q=dns/txt; s=rsa2048; t=1795908033; h=from :\r\n"
    " to : subject : date : message-id : mime-version : content-type : from\r\n"
    " : subject : reply-to; bh=X4n6aqodu6miE6EqpWAaluY8GiGejANQOCiDp1dyNho=;\r\n"
    " b=0liOO+QzZPnZw7GtaR9Sk38E4ZeAZT6V6bdYGkPe/Z+0GwrVs1DAMJTzfBDc7Yiha03HC\r\n"
    " vBAoL+H5/3/pJC6u/TxqIu+QoLoCpCnD1sfaMaOIanuDwryShwHi2UeyBSYepLo6DXKbhhT\r\n"
    " Wm8xMDmV22y0fgzjRKbwzCBYD5qVMzqtOD6ryY9TEpY8y87n462yNUYmGWUTn6JWCxiyAXo\r\n"
    " axlKauM6Y9OsJ/jXGA84Bvxp5tZnr4QPQ+k4UQpQWTL0Cjq7+1co/IADeBwq+SHHVhOUIWU\r\n"
    " zmNvKDvpimn75aHqSq0lgnS4eg0XdCsJAuQ7mkIjTHf2gM7cisg+8oMOW3UQ==\r\n";
// rsa2048_simple
inline constexpr std::string_view kRsa2048SimpleSignature =
    "DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; d=example.org;\r\n"
    " i=alice@mail.example.org; q=dns/txt; s=rsa2048; t=1795908034; h=from :\r\n"
    " to : subject : date : message-id : mime-version : content-type : from\r\n"
    " : subject : reply-to; bh=wnsKfEcxgTNWKsYUQK63Qnht2FGrRfUWyDkEGhadfuo=;\r\n"
    " b=pKas80YAyWHHJgilYonr9dcH517b0pHJYizFb0TP6HNELgBDEDoBK0q5gUhUTYC4AoNCx\r\n"
    " iOkrbXKVYhVZ/rOSpkQ8/1Xxvh5qXSkZci0xR3rU20CZky2FRVv8OcDAjwKZJgAl5/i/dgr\r\n"
    " mbyr8kGq8ibDuDHR9Slq16jYnb0n5GCrpGdKrAbzw8D7b9XRW8EdzMkNrhlbFrqMtlX523W\r\n"
    " qB4PQqPTsCtuHg+oyfhNcgw+LDP8a435Qt1xCG84zFp7Xm6sR4N6HPV0jE9H7MVZcHTtq6Z\r\n"
    " xQvIRFOgW0kOQ19gnrMxFfR60LhhWKHC7i008z4SNxfmIPDHMf3p3Nr5KEmA==\r\n";
// ed_relaxed
inline constexpr std::string_view kEdRelaxedSignature =
    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.org;\r\n"
    " i=alice@mail.example.org; q=dns/txt; s=ed; t=1795908034; h=from : to :\r\n"
    " subject : date : message-id : mime-version : content-type : from :\r\n"
    " subject : reply-to; bh=X4n6aqodu6miE6EqpWAaluY8GiGejANQOCiDp1dyNho=;\r\n"
    " b=Ia+XOirc8bkmtAg5JqGEhhaHDdYyryAA/UxMEEdD/5Y4WpCYMETXEoJudhil48LV+CJsG\r\n"
    " 873TsLEhwLaLhhaCQ==\r\n";
// ed_simple
inline constexpr std::string_view kEdSimpleSignature =
    "DKIM-Signature: v=1; a=ed25519-sha256; c=simple/simple; d=example.org;\r\n"
    " i=alice@mail.example.org; q=dns/txt; s=ed; t=1795908034; h=from : to :\r\n"
    " subject : date : message-id : mime-version : content-type : from :\r\n"
    " subject : reply-to; bh=wnsKfEcxgTNWKsYUQK63Qnht2FGrRfUWyDkEGhadfuo=;\r\n"
    " b=rBlIEC66CEH4eGx3mlKkrOEUrY0fRg9/Vk3x9scXiVZu3MrrlazQAN2f7NWdIQltF9UWJ\r\n"
    " Doake4WONQhFyotBw==\r\n";
// ed_relaxed_l
inline constexpr std::string_view kEdRelaxedLSignature =
    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.org;\r\n"
    " i=alice@mail.example.org; l=58; q=dns/txt; s=ed; t=1795908034; h=from\r\n"
    " : to : subject : date : message-id : mime-version : content-type :\r\n"
    " from : subject : reply-to;\r\n"
    " bh=X4n6aqodu6miE6EqpWAaluY8GiGejANQOCiDp1dyNho=;\r\n"
    " b=GVO+ucVYVdwkc9sc+Whcy8f+xyRX8/9esVNfXBkJcL0IGsxgid+KPlJIpVNExaL7XuU4O\r\n"
    " ivKiZJ2RIhWIwOODw==\r\n";
inline constexpr std::string_view kRsaRecord =
    "v=DKIM1; k=rsa; h=sha256; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA6oIy/R4vjg/JnShnz1"
    "PMR8ccXOTSVX6/ZL1ArzxNUP5kzMLpKObCgAreeHIeiGrPXZsiRngdm+2QYidQFyRsqbitJozIWtkK8Auo+lvglXm/"
    "1oimaudLC2Ux6JzzaY14CWKW4tEg6lU6plcCY5Tw4tDnJjkXqaBRVu/2xAhCbYg4iUXgUda+LmuXBFodJZL4Mp6NWN"
    "WfIJibtnI46lYuQJzyFgPwPaQfponyow2HF6FeJy74Y3Xjtx8/rCgyi5wmvs4xNvA5tolqY2rebAclOHEBcnpI69qt"
    "HUFFlpBvN4vKmR4kbwr9yozjmtAf/fJgWgJ2hcg6Xr8ld8mPTeha0QIDAQAB";
inline constexpr std::string_view kEdRecord =
    "v=DKIM1; k=ed25519; p=XfWlVR70wx6yl9D12RAh0mqvrpbzJVdWJeHqL5ZHPvE=";
// Appended after the l= signature was made: not covered by it.
inline constexpr std::string_view kFooter = "Unsigned footer added later.\r\n";

}  // namespace mxgate::auth::vectors
