"""Who an erasure or an access request is about, as the stores match them: the ids that
key rows (customer ids, visitor ids, the canonical customer) and the identifiers as
sent (addresses, phone numbers, cards), looked for inside free text."""

from __future__ import annotations

import json

from msgspec import Struct


class Subject(Struct, frozen=True, kw_only=True):
    """One person, every identifier of their cluster.

    ``ids`` match id columns exactly (``customer_id``, ``anonymous_id``, a decision's
    ``customer``, an exposure's ``unit``, a report fact's customer). ``texts`` are the
    identifiers as they were written (``ann@example.com``, ``+44 1234 567891``, a loyalty
    card number), found inside free text: a quarantined payload, an event's properties.
    An id is found inside free text only as a JSON string (``"c-42"``, quotes included),
    so that a short id does not match inside a longer one.
    """

    ids: tuple[str, ...] = ()
    texts: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.ids and not self.texts

    def needles(self) -> list[str]:
        """What to look for inside free text: each id as a JSON string, each text as is
        (and as a JSON string too, when writing it as one escapes anything).

        >>> Subject(ids=("c1",), texts=("ann@example.com",)).needles()
        ['"c1"', 'ann@example.com']
        """
        found = [json.dumps(i, ensure_ascii=False) for i in self.ids]
        for text in self.texts:
            found.append(text)
            quoted = json.dumps(text, ensure_ascii=False)[1:-1]
            if quoted != text:
                found.append(quoted)
        return list(dict.fromkeys(n for n in found if n))

    def mentioned_in(self, text: str) -> bool:
        """Whether ``text`` names the subject (see :meth:`needles`)."""
        return any(needle in text for needle in self.needles())

    def names(self, *values: str | None) -> bool:
        """Whether one of ``values`` is one of the subject's ids."""
        return any(v is not None and v in self.ids for v in values)
