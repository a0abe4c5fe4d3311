"""`starreid forget ID`: erase an identity from Redis, the streams and the running gallery's index."""
from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "forget", help="erase an identity everywhere (Redis keys, log and event streams, the gallery's index)",
        description="Erase an identity: its record, exemplars, sightings, tracklet markers, its entries in the "
                    "tracklet log and the event stream, and its vectors in the running gallery's index.")
    parser.add_argument("identity", metavar="ID", help="identity id (as listed by `starreid query`)")
    parser.add_argument("--config", required=True, metavar="FILE", help="deployment config (YAML)")
    parser.add_argument("--wait", type=float, default=10.0, metavar="SECONDS",
                        help="how long to wait for a running gallery to do the erasure (default 10)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from starreid.app.config import load_config

    cfg = load_config(args.config, kind="deployment")
    from starreid.app.verbs.gallery import gallery_redis
    from starreid.storage.query import forget

    with gallery_redis(cfg.redis) as (client, keys):
        known = bool(client.exists(keys.identity(args.identity)))
        result = forget(client, keys, args.identity, wait_s=args.wait)
    print(json.dumps({"identity": args.identity, "existed": known, **result}))
    return 0 if known else 3
