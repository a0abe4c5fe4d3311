"""`starreid query`: list identities, or show one identity's sightings and nearest neighbours."""
from __future__ import annotations

import argparse
import json
import sys
import time


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "query", help="list identities, or one identity's sightings and nearest neighbours",
        description="Read the gallery in Redis: without ID, list identities (most recently seen first); with "
                    "ID, show its sightings (camera, time, modality) and its nearest identities.")
    parser.add_argument("identity", nargs="?", metavar="ID", help="identity id to show")
    parser.add_argument("--config", required=True, metavar="FILE", help="deployment config (YAML)")
    parser.add_argument("--limit", type=int, default=50, help="identities or sightings to list (default 50)")
    parser.add_argument("--neighbours", type=int, default=5, metavar="K", help="nearest identities (default 5)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts)) + "Z"


def run(args: argparse.Namespace) -> int:
    from starreid.app.config import load_config

    cfg = load_config(args.config, kind="deployment")
    from starreid.app.verbs.gallery import gallery_redis
    from starreid.storage import query

    with gallery_redis(cfg.redis) as (client, keys):
        if args.identity is None:
            rows = query.list_identities(client, keys, args.limit)
            for r in rows:  # on the cameras' clock, like the sightings (last_seen is the gallery's)
                latest = query.sightings(client, keys, r["id"], 1)
                r["last_sighting"] = latest[0]["end"] if latest else None
            if args.json:
                print(json.dumps(rows))
            else:
                print(f"{'identity':<18} {'last sighting (UTC)':<21} {'sightings':>9}  cameras")
                for r in rows:
                    seen = _when(r["last_sighting"]) if r["last_sighting"] is not None else "-"
                    print(f"{r['id']:<18} {seen:<21} {r['sightings']:>9}  {','.join(r['cameras'])}")
            return 0
        if not client.exists(keys.identity(args.identity)):
            print(f"no identity {args.identity!r}", file=sys.stderr)
            return 3
        seen = query.sightings(client, keys, args.identity, args.limit)
        near = query.neighbours(client, keys, args.identity, args.neighbours)
    if args.json:
        print(json.dumps({"identity": args.identity, "sightings": seen, "neighbours": near}))
        return 0
    print(f"identity {args.identity}: {len(seen)} sightings (latest first; times UTC on the cameras' clock: a "
          f"sighting's last frame)")
    for s in seen:
        print(f"  {_when(s['end'])}  {s['camera']:<16} {s['modality']:<3} {s['kind']:<7} {s['score']:.3f}  {s['tid']}")
    print("nearest identities:")
    for n in near:
        print(f"  {n['id']:<18} {n['score']:.3f}")
    return 0
