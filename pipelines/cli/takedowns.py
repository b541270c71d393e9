"""``corpusfabriek takedown``: record a takedown or opt-out request that every later release honours."""

from __future__ import annotations

import argparse

from catalog.takedowns import TakedownError, list_takedowns, record_takedown
from pipelines.cli.common import CommandError, _storage


def cmd_takedown(args: argparse.Namespace) -> int:
    """Append one request to the root's takedown list (or list them with ``--list``)."""
    storage = _storage(args)
    if args.list:
        for request in list_takedowns(storage):
            requester = f" for {request.requester}" if request.requester else ""
            # what a request names is in the list in storage, not on the screen: a URL can name a person
            print(
                f"{request.id}  {request.recorded_at[:19]}  by {request.kind:<10} {request.reason}{requester}  "
                f"(recorded by {request.recorded_by})"
            )
        return 0
    kinds = {"doc_id": args.doc_id, "url": args.url, "url_prefix": args.url_prefix, "source": args.source}
    named = {kind: value for kind, value in kinds.items() if value is not None}
    if len(named) != 1:
        raise CommandError("name exactly one of --doc-id, --url, --url-prefix and --source")
    if not args.reason:
        raise CommandError("a takedown needs --reason")
    ((kind, value),) = named.items()
    try:
        request = record_takedown(storage, kind, value, args.reason, args.requester)
    except TakedownError as exc:
        raise CommandError(str(exc)) from None
    print(
        f"takedown {request.id} recorded ({kind}, {request.recorded_at}): the next release leaves its documents out, "
        "and so does every later one"
    )
    return 0
