"""Small helpers the route modules share: bodies, query parameters, JSON answers."""

from __future__ import annotations

import re
import zlib
from typing import Any

import msgspec
import yaml
from starlette.requests import Request
from starlette.responses import Response

from retailor.api.problems import EVENTS_REJECTED, ProblemError, problem_response
from retailor.domain.nesting import walk
from retailor.domain.placements import DefinitionError, NestedTooDeepError, check_raw
from retailor.ingest.service import IngestReport

_encoder = msgspec.json.Encoder()


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Encode ``value`` (msgspec types included) as a JSON response."""
    return Response(
        _encoder.encode(value), status_code=status, media_type="application/json", headers=headers
    )


#: A body refused unread leaves the rest of it on the connection: the answer closes it, so
#: the client sends its next request on a fresh one.
_CLOSE = {"Connection": "close"}


async def read_body(request: Request, limit: int, advice: str = "Split it into batches.") -> bytes:
    """The request body, gunzipped when sent gzipped; 413 (with ``advice``) when it exceeds
    ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ProblemError(
            413,
            f"the body has {declared} bytes; the limit is {limit} bytes. {advice}",
            headers=_CLOSE,
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ProblemError(
                413, f"the body exceeds the limit of {limit} bytes. {advice}", headers=_CLOSE
            )
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "").lower()
    if encoding in ("gzip", "deflate"):
        return inflate(body, encoding, limit)
    if encoding not in ("", "identity"):
        raise ProblemError(415, f"unsupported Content-Encoding {encoding!r}; use gzip or none")
    return body


def inflate(body: bytes, encoding: str, limit: int) -> bytes:
    """``body`` decompressed: every member of a gzip stream (``cat a.gz b.gz`` is one valid
    gzip body), or one zlib stream for ``deflate``. 413 past ``limit`` bytes, however few
    the compressed bytes (nothing beyond the limit is ever inflated); 400 for a stream that
    is broken, cut short, or followed by anything but further gzip members."""
    parts: list[bytes] = []
    size = 0
    rest = body
    while True:
        inflater = zlib.decompressobj(wbits=31 if encoding == "gzip" else 15)
        try:
            part = inflater.decompress(rest, limit + 1 - size)
        except zlib.error as exc:
            raise ProblemError(400, f"the body is not valid {encoding}: {exc}") from None
        size += len(part)
        if size > limit:
            raise ProblemError(413, f"the decompressed body exceeds the limit of {limit} bytes")
        parts.append(part)
        if not inflater.eof:
            raise ProblemError(400, f"the {encoding} body ends before its compressed stream does")
        rest = inflater.unused_data
        if not rest:
            return b"".join(parts)
        if encoding != "gzip":
            raise ProblemError(400, "the deflate body goes on after its compressed stream ends")


_TOO_DEEP = "the definition is nested too deeply"
_SURROGATE = re.compile("[\ud800-\udfff]")


class AliasRefusedError(yaml.YAMLError):  # type: ignore[misc]  # yaml has no stubs
    """A YAML alias (``*name``) in a definition: refused, so no small body can expand into
    a huge document (a "billion laughs")."""


class _DefinitionLoader(yaml.SafeLoader):  # type: ignore[misc]  # yaml has no stubs
    """``yaml.SafeLoader`` that refuses aliases (anchors alone are harmless)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise AliasRefusedError("YAML aliases (*name) are not accepted in definitions")
        return super().compose_node(parent, index)


class NotUnicodeError(yaml.YAMLError):  # type: ignore[misc]  # yaml has no stubs
    """A YAML escape of a lone surrogate (``"\\ud800"``): not a character, as in JSON."""


def load_yaml_definition(body: bytes | str) -> Any:
    """Parse one YAML document like ``yaml.safe_load``, but refusing aliases
    (:class:`AliasRefusedError`) and text holding lone surrogates (:class:`NotUnicodeError`)."""
    loader = _DefinitionLoader(body)
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    for value, path, _ in walk(data):
        texts = (
            [value] if isinstance(value, str) else list(value) if isinstance(value, dict) else []
        )
        for text in texts:
            if isinstance(text, str) and _SURROGATE.search(text):
                raise NotUnicodeError(f"a lone surrogate escape is not a character - at `{path}`")
    return data


async def read_definition(
    request: Request, limit: int, advice: str = "Split it into batches."
) -> Any:
    """A definition sent as JSON, or YAML with ``Content-Type: application/yaml``; 413 above
    ``limit`` bytes, 400 when it does not parse, nests too deeply or uses YAML aliases, 422
    (saying where) when it holds a number that is not finite."""
    body = await read_body(request, limit, advice)
    try:
        if "yaml" in request.headers.get("content-type", ""):
            raw = load_yaml_definition(body)
        else:
            raw = msgspec.json.decode(body)
    except AliasRefusedError as exc:
        raise ProblemError(400, str(exc), title="Malformed definition") from None
    except RecursionError:
        raise ProblemError(400, _TOO_DEEP, title="Malformed definition") from None
    except (msgspec.DecodeError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ProblemError(
            400, f"the definition does not parse: {exc}", title="Malformed definition"
        ) from None
    try:
        check_raw(raw)
    except NestedTooDeepError as exc:
        raise ProblemError(400, str(exc), title="Malformed definition") from None
    except DefinitionError as exc:
        raise ProblemError(422, str(exc), title="Invalid definition") from None
    return raw


#: The largest offset a page may start at (the document's ``maximum`` of every offset).
MAX_OFFSET = 2**62


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within ``[low, high]``; 422 otherwise."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ProblemError(422, f"query parameter {name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ProblemError(
            422, f"query parameter {name} must be between {low} and {high}, got {value}"
        )
    return value


def ingest_response(report: IngestReport, sent: int) -> Response:
    """200 with the report when every event was stored or a duplicate; otherwise a 422
    problem that still carries the report (the good events of the request are stored)."""
    if not report.rejected:
        return json_response(report)
    stored = sent - len(report.rejected)
    first = report.rejected[0]
    return problem_response(
        422,
        f"{len(report.rejected)} of {sent} events were rejected and quarantined; the other "
        f"{stored} were accepted or duplicates. First: event {first.index}: {first.reason}",
        title=EVENTS_REJECTED,
        accepted=report.accepted,
        duplicates=report.duplicates,
        rejected=msgspec.to_builtins(report.rejected),
    )
