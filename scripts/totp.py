#!/usr/bin/env python3
"""The TOTP code (RFC 6238: HMAC-SHA-1, six digits, 30-second steps) of an admin's second factor.

    scripts/totp.py SECRET [UNIX_TIME]          the code of a base32 secret (now, or at UNIX_TIME)
    scripts/totp.py --demo USERNAME [UNIX_TIME] the code of a demo admin (`zhijian-dev seed-demo`
                                                enrols every demo manager with a secret derived
                                                from its username, see devtools/src/demo.rs)

Used by scripts/contract-tokens.sh and scripts/bench.sh to sign the demo manager in, and checked
against the server by the integration test `second_factor::the_python_snippet_computes_the_codes_the_server_accepts`.
"""
import base64
import hashlib
import hmac
import struct
import sys
import time


def demo_secret(username):
    digest = hashlib.sha256(b"zhijian demo totp secret:" + username.encode()).digest()
    return base64.b32encode(digest[:20]).decode()


def code(secret, at):
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--demo"] and len(args) in (2, 3):
        secret, rest = demo_secret(args[1]), args[2:]
    elif len(args) in (1, 2) and not args[0].startswith("-"):
        secret, rest = args[0], args[1:]
    else:
        sys.exit(__doc__)
    print(code(secret, int(rest[0]) if rest else time.time()))
