"""`starreid keys --out DIR --name NAME`: a CURVE key pair for the gallery or a camera host."""
from __future__ import annotations

import argparse
import re


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "keys", help="make a CURVE key pair (the gallery's, or a camera host's) for encrypted ZeroMQ",
        description="Write a ZeroMQ CURVE key pair: DIR/NAME.key (the public key: copy it where it is needed) and "
                    "DIR/NAME.key_secret (public and secret key, readable by its owner only: it never leaves "
                    "its host). The gallery's pair goes in zmq.curve.server_secret_key (gallery host) and "
                    "zmq.curve.server_public_key (camera hosts); each camera host's NAME.key goes into the "
                    "gallery's zmq.curve.authorized_clients folder. See docs/deployment.md.")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder to write the key files into")
    parser.add_argument("--name", required=True, metavar="NAME", help="name of the pair (e.g. gallery, cam-host-1)")
    parser.add_argument("--force", action="store_true", help="replace an existing pair of that name")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os
    import sys
    from pathlib import Path

    import zmq
    import zmq.auth

    if not re.fullmatch(r"[A-Za-z0-9_.-]+", args.name):
        print(f"starreid keys: --name must be letters, digits, '_', '.' or '-', got {args.name!r}", file=sys.stderr)
        return 2
    if not zmq.has("curve"):
        print("starreid keys: this libzmq has no CURVE support (install pyzmq's wheel)", file=sys.stderr)
        return 1
    out = Path(args.out)
    public, secret = out / f"{args.name}.key", out / f"{args.name}.key_secret"
    if not args.force and (public.exists() or secret.exists()):
        print(f"starreid keys: {public} or {secret} exists already (--force replaces the pair)", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    old = os.umask(0o077)  # the secret file is never readable by others, not even for a moment
    try:
        public_path, secret_path = zmq.auth.create_certificates(str(out), args.name)
    finally:
        os.umask(old)
    os.chmod(secret_path, 0o600)
    os.chmod(public_path, 0o644)
    key, _ = zmq.auth.load_certificate(public_path)
    print(f"public key {key.decode()}\n  {public_path}  (public: the gallery's goes to camera hosts, a camera "
          f"host's to the gallery's authorized_clients folder)\n  {secret_path}  (secret: keep it on this host)")
    return 0
