"""Pages of a read model, so that no reply grows with the fleet.

A service answers a collection query one page at a time: at most `limit` documents, at most
`max_bytes` of them (a NATS message has a maximum payload), scanning at most `budget` rows
when a filter skips some. The page ends with `next_after`, an opaque position (None on the
last page) that the caller sends back as `after` to continue. Documents are ordered by the
`sort` key their projection gave them (then by key), so positions stay valid while the
collection changes: a document inserted behind the position is simply not seen again.

How a service adopts it (see `registry.listing` for the agents):
1. its projection puts the documents with `scope` (what a query lists, e.g. a workspace) and
   `sort` (their order, e.g. the creation time in UTC ISO form);
2. its query contract extends `contracts.paging.PageQuery` (after, limit) and its answer has
   `next_after`;
3. its use case calls `scan(tx, kind, scope, after=query.after, limit=query.limit, …)`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from agentplane.contracts.errors import invalid
from agentplane.eventstore.views import Doc, ViewTx

# Rows read from the store per query while filling a page.
_BATCH_MAX = 2000


def sort_key(at: datetime | str | None) -> str:
    """A time as a sort key: UTC, fixed width, so text order is time order."""
    if at is None:
        return ""
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    if moment.year < 1000:  # strftime does not pad %Y to four digits; isoformat does
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # The same text as strftime at a third of its cost (every view write of a time-ordered
    # document asks this): isoformat without its "+00:00", and the fraction it leaves out
    # when there is none.
    text = moment.isoformat()[:-6]
    return text + (".000000Z" if moment.microsecond == 0 else "Z")


def position_token(sort: str, key: str) -> str:
    """The opaque `after` of a position."""
    return json.dumps([sort, key], separators=(",", ":"))


def parse_position(after: str | None) -> tuple[str, str] | None:
    """The position an `after` names; a malformed one is the caller's error."""
    if after is None:
        return None
    try:
        sort, key = json.loads(after)
    except (ValueError, TypeError):
        raise invalid("Invalid cursor", field="cursor") from None
    if not isinstance(sort, str) or not isinstance(key, str):
        raise invalid("Invalid cursor", field="cursor")
    return sort, key


@dataclass
class Scanned:
    """One page: the documents' stored JSON, and where the next page starts (None: this was
    the last). A service may splice `texts` into its answer as they are (`encoded_page`)
    when its contract model has the documents' shape, or decode them (`docs`)."""

    texts: list[str] = field(default_factory=list)
    next_after: str | None = None
    decoded: list[Doc] | None = None

    @property
    def docs(self) -> list[Doc]:
        if self.decoded is None:
            self.decoded = [json.loads(text) for text in self.texts]
        return self.decoded


def encoded_page(field_name: str, texts: list[str], next_after: str | None) -> bytes:
    """`{"<field_name>": [<texts>], "next_after": …}` without decoding the texts."""
    head = '{"' + field_name + '":['
    return (head + ",".join(texts) + '],"next_after":' + json.dumps(next_after) + "}").encode()


def scan(
    tx: ViewTx,
    kind: str,
    scope: str,
    *,
    after: str | None,
    limit: int,
    max_bytes: int,
    keep: Callable[[Doc], bool] | None = None,
    until: str | None = None,
    descending: bool = False,
    budget: int | None = None,
) -> Scanned:
    """Up to `limit` documents of `scope` after `after` that `keep` accepts, whose stored JSON
    adds up to at most `max_bytes` (always at least one), reading at most `budget` rows
    (default: 20 times `limit`, at least 2,000). Without `keep` nothing is decoded."""
    position = parse_position(after)
    budget = budget if budget is not None else max(20 * limit, 2000)
    page = Scanned(decoded=[] if keep is not None else None)
    size = scanned = 0
    last = position
    while True:
        batch = min(max(limit - len(page.texts) + 1, 2), _BATCH_MAX)
        rows = tx.page(kind, scope, batch, after=last, until=until, descending=descending)
        for sort, key, text in rows:
            if len(page.texts) >= limit or scanned >= budget:
                # A row is left: the caller continues from the last one handled.
                page.next_after = position_token(*last) if last else None
                return page
            doc = json.loads(text) if keep is not None else None
            if keep is None or (doc is not None and keep(doc)):
                if page.texts and size + len(text) > max_bytes:
                    page.next_after = position_token(*last) if last else None
                    return page
                page.texts.append(text)
                if page.decoded is not None and doc is not None:
                    page.decoded.append(doc)
                size += len(text)
            scanned += 1
            last = (sort, key)
        if len(rows) < batch:
            return page
