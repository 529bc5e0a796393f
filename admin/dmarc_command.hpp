// `mxgate dmarc report --dry-run`: the DMARC aggregate reports (issue 22, RFC 7489 §7.2) that the
// rows recorded so far would make, and where each would go, without sending anything. Reads the
// reputation store read-only beside a running server (what the server flushed: about the last
// second may be missing) and asks DNS (dns.servers) the §7.1 questions the server would ask.
// Output, per period with rows (the current one is marked "in progress"):
//   period <begin> .. <end> UTC [(in progress: sent after <end>)]
//     <policy domain> p=<p> messages=<n> rows=<n> xml=<bytes> gzip=<bytes>
//       <rua URI as written>  <queue|unauthorized|dns_error|too_large|bad_uri> [<address>]: <why>
//   and "no DMARC report rows recorded" when there are none.
// --xml DOMAIN prints that domain's XML report(s) instead. Exit 0; 1 when the store cannot be
// read; 2 without --dry-run (the server sends the reports itself).
#pragma once

namespace mxgate::admin {

class Cli;

void add_dmarc_commands(Cli& cli);

}  // namespace mxgate::admin
