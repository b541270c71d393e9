"""``corpusfabriek key``: show or rotate the storage root's anonymisation key (never printing the key)."""

from __future__ import annotations

import argparse
import json
import os

from pipelines.cli.common import CommandError, _holding_lease, _storage


def cmd_key_show(args: argparse.Namespace) -> int:
    """Print where the storage root's anonymisation key comes from and its record (never the key)."""
    from anonymisation.operators import check_key
    from catalog.keys import key_status
    from catalog.settings import KEY_ENV

    status = key_status(_storage(args), check=check_key)
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    print(f"storage root   {status['storage']}")
    if status["origin"] == "environment":
        also = f" (it takes precedence over the key file {status['key_file']})" if status["key_file_exists"] else ""
        print(f"key from       environment variable {KEY_ENV}{also}")
    elif status["origin"] == "file":
        print(f"key from       key file {status['key_file']} (mode {status['key_file_mode']})")
    elif status["key_file"] and not status["problem"]:
        print(f"key from       none yet: the first `corpusfabriek run` generates {status['key_file']}")
    elif status["key_file"]:
        print("key from       none")
    else:
        print(f"key from       none: set {KEY_ENV} (an S3 storage root keeps no key file)")
    if status["problem"]:
        print(f"problem        {status['problem']}")
    recorded = status["recorded"]
    if recorded is None:
        print("recorded       no key yet: the first run that anonymises with a key records its fingerprint")
        return 0
    if status["matches_record"] is True:
        print(f"key id         {recorded['key_id']} (matches this root's record)")
    elif status["matches_record"] is False:
        print(
            f"key id         {status['key_id']}: differs from this root's recorded key {recorded['key_id']}; runs are "
            "refused (use the recorded key, or `corpusfabriek key rotate --yes`)"
        )
    rotated = f"rotated {recorded['rotated_at']}" if recorded["rotated_at"] else "never rotated"
    first = f"first key {recorded['created_at']}"
    print(f"recorded       key {recorded['key_id']} since {recorded['since']} ({rotated}; {first})")
    for entry in recorded["earlier"]:
        kept = f", kept in {entry['retired_key_file']}" if entry.get("retired_key_file") else ""
        print(f"earlier key    {entry['key_id']}: {entry['since']} to {entry['until']}{kept}")
    stale = status["stale_sources"]
    print(f"stale sources  {', '.join(stale) + ': anonymised with a previous key; re-run them' if stale else 'none'}")
    return 0


def cmd_key_rotate(args: argparse.Namespace) -> int:
    """Make a new anonymisation key the storage root's key (explicitly: with --yes)."""
    from anonymisation.operators import check_key
    from catalog.keys import RECORD, key_file_path, rotate
    from catalog.settings import KEY_ENV

    storage = _storage(args)
    path = key_file_path(storage)
    if os.environ.get(KEY_ENV):
        source = f"take the new key from {KEY_ENV}" + (
            f" (and retire the key file {path}, kept as {path.name}.<time>.old)" if path and path.exists() else ""
        )
    elif path is not None:
        source = f"generate a new key in {path}, keeping the current one as {path.name}.<time>.old"
    else:
        source = f"take the new key from {KEY_ENV}, which is not set: set it to the new key first"
    if not args.yes:
        print(f"corpusfabriek key rotate would, for {storage.url()}:")
        print(f"  - {source}")
        print(f"  - record its fingerprint in {RECORD} (earlier fingerprints stay in its history)")
        print(
            "  - leave every source anonymised with the current key out of releases until it is re-anonymised: "
            "the next `corpusfabriek run` re-anonymises every source (new surrogates)"
        )
        raise CommandError("the key was not rotated: confirm with `corpusfabriek key rotate --yes`")
    # Not while a run anonymises with the current key: it would finish a source with a key no longer the root's.
    with _holding_lease(storage, "corpusfabriek key rotate"):
        rotation = rotate(storage, check=check_key)
    previous = f", replacing {rotation.previous_key_id}" if rotation.previous_key_id else ""
    print(f"rotated the anonymisation key of {storage.url()}: key {rotation.key_id}{previous}")
    if rotation.key_file:
        print(f"new key file   {rotation.key_file} (readable only by you): back it up")
    else:
        print(f"new key        from {KEY_ENV}: keep setting it to this key")
    if rotation.retired_key_file:
        print(f"previous key   kept in {rotation.retired_key_file} (to reproduce earlier releases)")
    print(
        "next: `corpusfabriek run` re-anonymises every source with the new key; until then a release leaves out "
        "the sources anonymised with the previous one"
    )
    return 0
