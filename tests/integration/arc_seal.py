"""Seals a message as a mailing list does (RFC 8617 §5.1), with Debian's python3-dkim: reads the
message (CRLF line endings, with the list's own Authentication-Results field on top) on standard
input and writes the new ARC set followed by the message. For tests/integration/test_arc.py,
which runs it with /usr/bin/python3 (the Python that python3-dkim is installed for).
Usage: arc_seal.py SELECTOR DOMAIN PRIVATE_KEY_FILE AUTHSERV_ID"""

import sys

try:
    import dkim
    import authres  # noqa: F401  dkim.arc_sign needs it (Debian: python3-authres)
except ImportError as e:
    sys.exit(f"arc_seal.py: {e}: install python3-dkim and python3-authres")


def main():
    selector, domain, key_file, authserv_id = sys.argv[1:5]
    message = sys.stdin.buffer.read()
    with open(key_file, "rb") as f:
        key = f.read()
    arc_set = dkim.arc_sign(message, selector.encode(), domain.encode(), key, authserv_id.encode(),
                            include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    if not arc_set:
        sys.exit("arc_seal.py: dkim.arc_sign made no ARC set (no Authentication-Results field "
                 f"of {authserv_id}?)")
    sys.stdout.buffer.write(b"".join(arc_set) + message)


if __name__ == "__main__":
    main()
