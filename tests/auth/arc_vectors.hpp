// An ARC chain made by an independent implementation, Debian 12's python3-dkim 1.1.4 (dkimpy),
// for tests/auth/arc_test.cpp: two sets, as a mailing list and then a forwarder seal a message.
//
// How it was made (once; no Python at test time): two 1024-bit RSA keys (openssl genrsa), their
// records "v=DKIM1; k=rsa; p=<SubjectPublicKeyInfo>"; then, with /usr/bin/python3 and
// python3-authres, hop 1 prepends "Authentication-Results: lists.example.org; dkim=pass
// header.d=example.com header.s=sel; dmarc=pass header.from=example.com" to the message as
// the list sent it (kArcMessage below its ARC fields) and calls dkim.arc_sign(..., b"lists", b"lists.example.org", key, b"lists.example.org",
// include_headers=[from, to, subject, date, message-id], timestamp=1717408800); hop 2 prepends
// "Authentication-Results: forwarder.example.net; arc=pass; spf=fail
// smtp.mailfrom=list@lists.example.org" to that and signs as fwd/forwarder.example.net with
// include_headers=[from, to, subject], timestamp=1717409000. The Authentication-Results fields
// are not kept (no ARC signature covers them); dkim.arc_verify() said "pass" before the message
// was copied here.
#pragma once

#include <string_view>

namespace mxgate::auth::vectors {

inline constexpr std::string_view kArcMessage =
    "ARC-Seal: i=2; cv=pass; a=rsa-sha256; d=forwarder.example.net; s=fwd;\r\n"
    " t=1717409000;\r\n"
    " b=oCZgTWbkru0PTVVB3Of13Kk6asAjS0OdUTZHD6Lkss7cgTC+y0o9jHzrfYa3L7F0yKUxw\r\n"
    " 0X47dxTm5o+AYdA5t15Uv0ha+WX+qcqi0QBf3UWYfXtUeGaLw79LUG+2Dp7fy1zYMEKtf69\r\n"
    " 5hiHqH1KtOr7ayJLZvqW2a0UdZg5xjk=\r\n"
    "ARC-Message-Signature: i=2; a=rsa-sha256; c=relaxed/relaxed;\r\n"
    " d=forwarder.example.net; s=fwd; t=1717409000; h=from : to : subject;\r\n"
    " bh=41baI0I/Ngxb+CfNXB7VliZAb9ouSiRKbtsd5T8Gtmc=;\r\n"
    " b=xT7DS5/7AXuBjpLCenjtQ3v84V7lsCTyzfXJ5F/OduyVI2naQz8Wg7xmyH7xUACMMpLbB\r\n"
    " x0aLQCdqW3885JebU/l+Nn20gDEdGRDzOqOwU6PqG9SKLcURQ7LqJOAoyqPe6LP6rferyug\r\n"
    " rbrT51+cxPCEQyC6BvCbxbxT06Xwia4=\r\n"
    "ARC-Authentication-Results: i=2; forwarder.example.net; arc=pass;\r\n"
    "  spf=fail smtp.mailfrom=list@lists.example.org\r\n"
    "ARC-Seal: i=1; cv=none; a=rsa-sha256; d=lists.example.org; s=lists;\r\n"
    " t=1717408800;\r\n"
    " b=ljNT8Xf8gOktfZtfP3OXBuPMlCb2u5POGNlssW2kktxYquvGZX/tOqqtPGBb5OoeqD0f7\r\n"
    " B0Q9V8pXAPCVrmrCSV5UPd0kmMHp2Bp5PLISCi9BIwZXn3CEoj0HgMP5Yox16yC54dXIJtW\r\n"
    " bkQ5U/lBx73Qw+0LX4IhO7pNzdbEEIg=\r\n"
    "ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
    " d=lists.example.org; s=lists; t=1717408800; h=from : to : subject :\r\n"
    " date : message-id; bh=41baI0I/Ngxb+CfNXB7VliZAb9ouSiRKbtsd5T8Gtmc=;\r\n"
    " b=0pH5GpCR4lbfihiYvaPZimcYJEOIsz3yRMxzV/W+CSQ3n7VD0htnkY/55ySlZ6OYiyt6w\r\n"
    " flAkHp3Bb7hXqgLGduMMLbTvmLvrTlUhdknW+wHYx2++G/LkUOdR+6pw1bozoqGDRFZKXKm\r\n"
    " 7gOM6rAU8YoPko9YB145kt3s2GenoOQ=\r\n"
    "ARC-Authentication-Results: i=1; lists.example.org; dkim=pass header.d=example.com header.s=sel;\r\n"
    "  dmarc=pass header.from=example.com\r\n"
    "From: Alice <alice@example.com>\r\n"
    "To: list@lists.example.org\r\n"
    "Subject: [list] Quarterly report\r\n"
    "Date: Mon, 03 Jun 2024 10:00:00 +0000\r\n"
    "Message-ID: <arc1@example.com>\r\n"
    "\r\n"
    "Hello list,\r\n"
    "\r\n"
    "numbers attached.\r\n"
    "-- \r\n"
    "list footer\r\n";

// lists._domainkey.lists.example.org and fwd._domainkey.forwarder.example.net
inline constexpr std::string_view kArcListsRecord =
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDeW2G9UgBCeHapS1ina611cE"
    "59j7B953CXSRfgF7bgtr9Tb3apVHKzLfToan9Vq4uACinjxBkrFk5AJpOoV2MXrlEiKooAhvaaTOltAy"
    "Akigk384KwO0D7ERlXVlj/9qDdCPluHbqHrfwEVmZbh77DWLS2jXeq1hU2STwi0eGvYQIDAQAB";
inline constexpr std::string_view kArcForwarderRecord =
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDfK+hNtAEG6ROeYnj46h+kn5"
    "rOLKPq/q5bx6TTQh2SHn03aZtRBJqXfhZ8L406uPZDdbqkRn8pQn5rwEXlqP79oeZZcq3hmI9z/RcFrC"
    "lHJLUelF6qDkH44AcmqnWhS5p+cunaEp2ghhi9db2Pyn7VqdmI0RlDYxa3P5siP8P/LQIDAQAB";

}  // namespace mxgate::auth::vectors
