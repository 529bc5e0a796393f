"""The world of the realistic-traffic benchmark (realistic.py): sending domains, their clients,
their DNS records and their messages, written to a directory. Needs python3-dkim (Debian's
package: /usr/bin/python3) and python3-cryptography.

    world = build_world(directory, domains=200, clients_per_domain=20, key_pool=16)
    world.zones        {origin: master-file records} for tests/integration/dns_server.py
    world.dnsbl_toml   the [[dnsbl]] sections of mxgate's configuration
    world.sample       the connect_client --proxy file: one line per client,
                       "ADDRESS KIND HELO SENDER RECIPIENT MESSAGE_FILE", in a shuffled order
    world.probe        a file of one line: a good client kept out of the sample
    world.facts        counts and sizes, for the report

The clients: domain k (org-k.test) owns 198.18.0.0 + 32k + 1 .. + clients_per_domain, a /27,
and its SPF record is "v=spf1 ip4:<that /27> -all". Every client of the sample is one of:
  good     PTR mta-j.org-k.test -> A the client (forward-confirmed), HELO that name, MAIL FROM
           bounce@org-k.test, a message From org-k.test DKIM-signed by org-k.test (selector s1,
           RSA 2048), DMARC p=reject: everything passes
  dnsbl    the same, but the address is listed on the IP DNSBL bl.example (action reject)
  no-ptr   no PTR, HELO pc-i.home.test (does not exist), MAIL FROM a cheap-x.test whose SPF
           does not cover it (-all), an unsigned message: scores rdns_missing + helo_mismatch +
           spf_fail = 7 >= defer_at
  forged   PTR vps-i.hosting.test (forward-confirmed), MAIL FROM and From a good domain that is
           not its own: SPF fail, no DKIM signature, DMARC p=reject -> 550 at the end of data
  bad-link the same as good, but its message links to evil-x.test, listed on the URI
           blocklist uri.example ([[dnsbl]] type "uri", action reject)
The bad kinds take BAD_SHARE of the clients, in four equal parts, placed at random (seeded).

Messages: each domain has 10, chosen by the client's index j % 10, so the sizes are the same mix
for every kind: 0-5 about 4 KiB text/plain (quoted-printable, a few links), 6-8 about 20 KiB
multipart/alternative (text and HTML, quoted-printable, ~10 links), 9 about 100 KiB text/html
(quoted-printable, ~50 links to a handful of domains). 1, 4, 7 and 9 are bulk with RFC 8058
one-click unsubscribe (List-Unsubscribe https + mailto, List-Unsubscribe-Post, List-Id, all
signed); 5 is bulk with only a mailto List-Unsubscribe and Precedence: bulk (no one-click). The
DKIM signatures (relaxed/relaxed, rsa-sha256) cover From, To, Subject, Date, Message-ID,
MIME-Version, Content-Type and, on bulk mail, List-Unsubscribe, List-Unsubscribe-Post and
List-Id. Files are dot-stuffed and end with CRLF.CRLF, ready to send after DATA.

Keys: key_pool RSA 2048 keys are generated and domain k publishes key k % key_pool under its own
selector record (a receiver parses and caches each domain's record; generating 200 keys takes
minutes on a busy 2-core machine). python3-dkim signs with its own code but its pure-Python RSA
takes ~50 ms a signature; the RSA step is handed to OpenSSL (python3-cryptography), which gives
the same bytes (PKCS #1 v1.5 signatures are deterministic; checked on the first message).
"""

import email.utils
import ipaddress
import quopri
import random
import base64
from collections import namedtuple
from pathlib import Path

try:
    import dkim
    import dkim.crypto
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
except ImportError as e:  # pyenv's or a venv's python3 without Debian's packages
    raise SystemExit(f"realistic_world.py: {e}: run with /usr/bin/python3 "
                     "(apt-get install python3-dkim python3-cryptography)")

FIRST_CLIENT = int(ipaddress.ip_address("198.18.0.0"))
BLOCK = 32                   # addresses per domain: a /27
MESSAGES_PER_DOMAIN = 10     # j % 10: 0-5 small, 6-8 medium, 9 large
BULK_ONE_CLICK = {1, 4, 7, 9}
BULK_NO_ONE_CLICK = {5}
KINDS = ("good", "dnsbl", "no-ptr", "forged", "bad-link")
EVIL = [f"evil-{x}.test" for x in range(5)]
CHEAP = [f"cheap-{x}.test" for x in range(5)]
TRACKERS = [f"trk-{x}.test" for x in range(5)]
CDNS = [f"cdn-{x}.test" for x in range(3)]
SELECTOR = "s1"

World = namedtuple("World", "zones dnsbl_toml sample probe facts")

WORDS = ("the of and to in is you that it he was for on are as with his they at be this from "
         "have or by one had not but what all were when we there can an your which their said if "
         "do will each about how up out them then she many some so these would other into has "
         "more her two like him see time could no make than first been its who now people my "
         "made over did down only way find use may water long little very after words called "
         "just where most know get through back much before go good new write our used me man "
         "too any day same right look think also around another came come work three word must "
         "because does part even place well such here take why things help put years different "
         "away again off went old number great tell men say small every found still between "
         "name should home big give air line set own under read last never us left end along "
         "while might next sound below saw something thought both few those always looked show "
         "large often together asked house don't world going want school important until form "
         "food keep children feet land side without boy once animals life enough took sometimes "
         "four head above kind began almost live page got earth need far hand high year mother "
         "light parts country father let night following picture being study second eyes soon "
         "times story boys since white days ever paper hard near sentence better best across "
         "during today others however sure means knew it's try told young miles sun ways thing "
         "whole hear example heard several change answer room sea against top turned learn "
         "point city play toward five using himself usually café naïve résumé déjà").split()


def client_ip(domain, j):
    return ipaddress.ip_address(FIRST_CLIENT + domain * BLOCK + j + 1)


def domain_name(k):
    return f"org-{k}.test"


def txt_strings(value):
    """A TXT value as master-file character-strings of at most 255 octets (RFC 1035 §3.3)."""
    return " ".join(f'"{value[i:i + 255]}"' for i in range(0, len(value), 255))


class Signer:
    """python3-dkim with OpenSSL doing the RSA step (see the module's docstring)."""

    def __init__(self, count):
        self.keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048)
                     for _ in range(count)]
        self.pems = [k.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.TraditionalOpenSSL,
                                     serialization.NoEncryption()) for k in self.keys]
        self.by_modulus = {k.private_numbers().public_numbers.n: k for k in self.keys}
        self.checked = False

    def public_record(self, index):
        der = self.keys[index].public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"

    def _openssl_sign(self, hash_object, private_key):
        key = self.by_modulus[private_key["modulus"]]
        return key.sign(hash_object.digest(), padding.PKCS1v15(),
                        utils.Prehashed(hashes.SHA256()))

    def sign(self, message, domain, key_index, headers):
        args = dict(selector=SELECTOR.encode(), domain=domain.encode(),
                    privkey=self.pems[key_index], include_headers=[h.encode() for h in headers],
                    canonicalize=(b"relaxed", b"relaxed"))
        pure_python = dkim.RSASSA_PKCS1_v1_5_sign
        dkim.RSASSA_PKCS1_v1_5_sign = self._openssl_sign
        try:
            signature = dkim.sign(message, **args)
        finally:
            dkim.RSASSA_PKCS1_v1_5_sign = pure_python
        if not self.checked:  # once: OpenSSL's bytes are python3-dkim's own
            if dkim.sign(message, **args) != signature:
                raise SystemExit("realistic_world.py: OpenSSL's RSA signature differs from "
                                 "python3-dkim's")
            self.checked = True
        return signature + message


def prose(rng, octets):
    """Lines of words (at most 72 characters) adding up to about `octets`."""
    lines, size, line = [], 0, []
    while size < octets:
        word = rng.choice(WORDS)
        if sum(len(w) + 1 for w in line) + len(word) > 72:
            text = " ".join(line)
            lines.append(text)
            size += len(text) + 2
            line = []
        line.append(word)
    return lines


def links_for(k, count, rng, extra=()):
    """`count` URLs over a handful of registrable domains: the sender's, a click tracker, a CDN,
    and `extra` (a listed domain for bad-link messages)."""
    own = domain_name(k)
    hosts = [f"www.{own}", f"click.{TRACKERS[k % len(TRACKERS)]}", f"img.{own}",
             f"static.{CDNS[k % len(CDNS)]}", "social.test", *extra]
    urls = []
    for n in range(count):
        host = extra[n % len(extra)] if extra and n % 3 == 0 else hosts[n % len(hosts)]
        urls.append(f"https://{host}/c/{rng.randrange(10**9):09d}?u={n}&m={k}")
    return urls


def qp(text):
    return quopri.encodestring(text.encode("utf-8")).replace(b"\r\n", b"\n").replace(
        b"\n", b"\r\n")


def html_document(rng, octets, urls):
    parts = ["<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>News</title></head>",
             "<body><table width=\"600\" align=\"center\">"]
    size, n = 0, 0
    while size < octets or n < len(urls):
        paragraph = " ".join(prose(rng, 300))
        if n < len(urls):
            url = urls[n]
            n += 1
            paragraph += (f' <a href="{url}" style="color:#0066cc">read more</a>'
                          f'<img src="{url}&amp;img=1" width="1" height="1" alt="">')
        row = f"<tr><td style=\"font-family:Arial;font-size:14px\"><p>{paragraph}</p></td></tr>"
        parts.append(row)
        size += len(row)
    parts.append("</table></body></html>")
    return "\n".join(parts) + "\n"


def body_of(index, k, rng, extra_links):
    """(header lines, body bytes) of message `index` of domain k."""
    if index < 6:  # ~4 KiB text/plain
        urls = links_for(k, 3, rng, extra_links)
        text = "\n".join(prose(rng, 1400) + [""] + urls + [""] + prose(rng, 1300)) + "\n"
        return (["Content-Type: text/plain; charset=utf-8",
                 "Content-Transfer-Encoding: quoted-printable"], qp(text))
    if index < 9:  # ~20 KiB multipart/alternative
        urls = links_for(k, 10, rng, extra_links)
        boundary = f"=_alt_{rng.randrange(10**12):012d}"
        text = "\n".join(prose(rng, 5000) + urls) + "\n"
        html = html_document(rng, 12500, urls)
        body = (b"This is a multi-part message in MIME format.\r\n\r\n"
                + f"--{boundary}\r\n".encode()
                + b"Content-Type: text/plain; charset=utf-8\r\n"
                + b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + qp(text)
                + f"\r\n--{boundary}\r\n".encode()
                + b"Content-Type: text/html; charset=utf-8\r\n"
                + b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + qp(html)
                + f"\r\n--{boundary}--\r\n".encode())
        return ([f'Content-Type: multipart/alternative; boundary="{boundary}"'], body)
    urls = links_for(k, 50, rng, extra_links)  # ~100 KiB HTML
    return (["Content-Type: text/html; charset=utf-8",
             "Content-Transfer-Encoding: quoted-printable"], qp(html_document(rng, 93000, urls)))


def compose(index, k, rng, sender_domain, recipient, extra_links=()):
    """A message of domain k's kind `index` From `sender_domain` (unsigned)."""
    content_headers, body = body_of(index, k, rng, extra_links)
    subject = ("=?UTF-8?B?" + base64.b64encode("Résumé de la semaine".encode()).decode() + "?="
               if index == 3 else f"Update {rng.randrange(10**6)} from {sender_domain}")
    headers = [f'From: "{sender_domain} news" <news@{sender_domain}>',
               f"To: <{recipient}>", f"Subject: {subject}",
               f"Date: {email.utils.formatdate(localtime=False)}",
               f"Message-ID: <{rng.randrange(10**15)}.{index}@{sender_domain}>",
               "MIME-Version: 1.0", *content_headers]
    signed = ["From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"]
    token = rng.randrange(10**12)
    if index in BULK_ONE_CLICK:
        headers += [f"List-Unsubscribe: <https://www.{sender_domain}/unsubscribe/{token}>, "
                    f"<mailto:unsubscribe-{token}@{sender_domain}>",
                    "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
                    f"List-Id: News of {sender_domain} <news.{sender_domain}>"]
        signed += ["List-Unsubscribe", "List-Unsubscribe-Post", "List-Id"]
    elif index in BULK_NO_ONE_CLICK:
        headers += [f"List-Unsubscribe: <mailto:unsubscribe-{token}@{sender_domain}>",
                    "Precedence: bulk"]
        signed += ["List-Unsubscribe"]
    return "\r\n".join(headers).encode() + b"\r\n\r\n" + body, signed


def dot_stuffed(message):
    """The message as sent after DATA (RFC 5321 §4.5.2), ending with CRLF.CRLF."""
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    lines = message.split(b"\r\n")
    return b"\r\n".join(b"." + line if line.startswith(b".") else line
                        for line in lines[:-1]) + b"\r\n.\r\n"


class Builder:
    def __init__(self, directory, domains, clients_per_domain, key_pool, bad_share, seed):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.domains, self.per = domains, clients_per_domain
        self.rng = random.Random(seed)
        self.signer = Signer(key_pool)
        self.key_pool = key_pool
        self.bad_share = bad_share
        self.forward, self.reverse, self.listed = [], [], []
        self.sizes, self.signed, self.kinds = [], 0, {}
        self.good_files = {}  # (k, index) -> path

    def write(self, name, message):
        path = self.dir / name
        path.write_bytes(dot_stuffed(message))
        self.sizes.append(len(message))
        return path

    def domain_records(self, k):
        name = f"org-{k}"
        first = client_ip(k, -1)
        self.forward += [f"{name} MX 10 mx.{name}", f"mx.{name} A 192.0.2.{k % 250 + 1}",
                         f"{name} TXT \"v=spf1 ip4:{first}/27 -all\"",
                         f"{SELECTOR}._domainkey.{name} TXT "
                         + txt_strings(self.signer.public_record(k % self.key_pool)),
                         f"_dmarc.{name} TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@{name}.test\""]

    def good_message(self, k, index):
        key = (k, index)
        if key not in self.good_files:
            message, signed = compose(index, k, self.rng, domain_name(k),
                                      f"user{index}@example.com")
            signed_message = self.signer.sign(message, domain_name(k), k % self.key_pool, signed)
            self.signed += 1
            self.good_files[key] = self.write(f"m-{k}-{index}.eml", signed_message)
        return self.good_files[key]

    def client(self, k, j, kind):
        """The sample line of client j of domain k, and its DNS records."""
        ip = client_ip(k, j)
        i = k * self.per + j
        index = j % MESSAGES_PER_DOMAIN
        recipient = f"user{index}@example.com"
        own = domain_name(k)
        if kind in ("good", "dnsbl", "bad-link"):
            helo = f"mta-{j}.org-{k}"
            self.forward.append(f"{helo} A {ip}")
            self.reverse.append(f"{ip.reverse_pointer}. PTR {helo}.test.")
            if kind == "dnsbl":
                self.listed.append(f"{ip.reverse_pointer.removesuffix('.in-addr.arpa')} "
                                   "A 127.0.0.2")
            if kind == "bad-link":
                message, signed = compose(index, k, self.rng, own, recipient,
                                          (EVIL[i % len(EVIL)],))
                path = self.write(f"bad-link-{i}.eml",
                                  self.signer.sign(message, own, k % self.key_pool, signed))
                self.signed += 1
            else:
                path = self.good_message(k, index)
            return f"{ip} {kind} {helo}.test bounce@{own} {recipient} {path}"
        if kind == "no-ptr":
            cheap = CHEAP[i % len(CHEAP)]
            message, _ = compose(index, k, self.rng, cheap, recipient)
            path = self.write(f"no-ptr-{i}.eml", message)
            return f"{ip} {kind} pc-{i}.home.test info@{cheap} {recipient} {path}"
        # forged: a good domain that is not its own, unsigned
        victim = domain_name((k + 1) % self.domains)
        helo = f"vps-{i}.hosting"
        self.forward.append(f"{helo} A {ip}")
        self.reverse.append(f"{ip.reverse_pointer}. PTR {helo}.test.")
        message, _ = compose(index, k, self.rng, victim, recipient)
        path = self.write(f"forged-{i}.eml", message)
        return f"{ip} {kind} {helo}.test billing@{victim} {recipient} {path}"

    def kinds_of_clients(self):
        total = self.domains * self.per
        order = list(range(total))
        self.rng.shuffle(order)
        bad_each = round(total * self.bad_share / 4)
        kind = {}
        for n, i in enumerate(order):
            kind[i] = KINDS[1 + n // bad_each] if bad_each and n < 4 * bad_each else "good"
        return kind

    def build(self):
        kind = self.kinds_of_clients()
        lines = []
        for k in range(self.domains):
            self.domain_records(k)
            for j in range(self.per):
                line = self.client(k, j, kind[k * self.per + j])
                lines.append(line)
                self.kinds[line.split()[1]] = self.kinds.get(line.split()[1], 0) + 1
        for x, cheap in enumerate(CHEAP):
            self.forward += [f"{cheap.removesuffix('.test')} MX 10 mx.{cheap}.",
                             f"mx.{cheap.removesuffix('.test')} A 192.0.2.{200 + x}",
                             f"{cheap.removesuffix('.test')} TXT \"v=spf1 ip4:192.0.2.0/24 -all\""]
        self.rng.shuffle(lines)
        sample = self.dir / "sample.txt"
        sample.write_text("\n".join(lines) + "\n")
        return lines, sample

    def probe(self):
        """A good client of an extra domain, outside the sample's domains and addresses."""
        k = self.domains
        self.domain_records(k)
        line = self.client(k, 0, "good")
        probe = self.dir / "probe.txt"
        probe.write_text(line + "\n")
        return probe


def build_world(directory, domains=200, clients_per_domain=20, key_pool=16, bad_share=0.10,
                seed=17):
    if not 1 <= clients_per_domain <= BLOCK - 2:
        raise ValueError(f"clients per domain: 1..{BLOCK - 2}")
    if (domains + 1) * BLOCK > 65536:
        raise ValueError("too many domains for 198.18.0.0/16")
    b = Builder(directory, domains, clients_per_domain, key_pool, bad_share, seed)
    lines, sample = b.build()
    probe = b.probe()
    test_entries = ["2.0.0.127 A 127.0.0.2", '2.0.0.127 TXT "test entry"']
    zones = {
        "test": "\n".join(b.forward),
        "18.198.in-addr.arpa": "\n".join(b.reverse),
        "bl.example": "\n".join(test_entries + b.listed),
        "uri.example": "\n".join(test_entries + ["test A 127.0.0.2"]
                                 + [f"{d} A 127.0.1.2" for d in EVIL]),
    }
    dnsbl_toml = """
[[dnsbl]]
zone = "bl.example"
returns = ["127.0.0.[2..11]"]
action = "reject"

[[dnsbl]]
zone = "uri.example"
type = "uri"
action = "reject"
"""
    sizes = sorted(b.sizes)
    facts = {"domains": domains, "clients": len(lines), "kinds": b.kinds,
             "messages": len(sizes), "signed": b.signed, "key_pool": key_pool,
             "mean_size": sum(sizes) / len(sizes),
             "sample_mean_size": mean_sample_size(lines),
             "records": sum(z.count("\n") + 1 for z in zones.values())}
    return World(zones, dnsbl_toml, sample, probe, facts)


def mean_sample_size(lines):
    """Mean size of the messages as the sample sends them (one per line)."""
    sizes = {}
    total = 0
    for line in lines:
        path = line.split()[5]
        if path not in sizes:
            sizes[path] = Path(path).stat().st_size
        total += sizes[path]
    return total / len(lines)
