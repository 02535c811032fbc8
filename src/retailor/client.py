"""A Python client for a running Retailor server.

>>> client = Client("http://127.0.0.1:8000", api_key="rk_ingest_...")  # doctest: +SKIP
>>> client.send_events([{"event_id": "e1", "type": "product_viewed",
...                      "customer_id": "c1", "properties": {"item_id": "sku-1"}}])  # doctest: +SKIP
{'accepted': 1, 'duplicates': 0, 'rejected': []}
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import msgspec

from retailor.client_privacy import PrivacyCalls
from retailor.problem import RetailorError as RetailorError  # part of this module's API

#: The states in which a job has ended.
JOB_ENDED = ("succeeded", "failed")


def training_result(job: dict[str, Any]) -> dict[str, Any]:
    """The result of an ended training job (``{"models": [...]}``); ``RetailorError`` 409
    with the job's error when it failed."""
    if job["status"] != "succeeded":
        raise RetailorError(
            409,
            {"title": "Training failed", "detail": job.get("error"), "job_id": job["job_id"]},
        )
    return job["result"]  # type: ignore[no-any-return]


def _path_part(value: object) -> str:
    """One path segment, percent-encoded (an id may hold ``/``, ``?`` or ``#``)."""
    return quote(str(value), safe="")


def _answer(response: httpx.Response, partial_ok: bool) -> Any:
    """The decoded body of a success (or of a 422 that still reports ``accepted`` events
    when ``partial_ok``); otherwise a ``RetailorError`` carrying the problem document."""
    try:
        data = msgspec.json.decode(response.content) if response.content else {}
    except msgspec.DecodeError:
        text = response.content[:200].decode("utf-8", "replace")
        raise RetailorError(
            response.status_code,
            {"detail": f"the answer is not JSON (is this a Retailor server?): {text!r}"},
        ) from None
    if response.status_code < 400 or (
        partial_ok and response.status_code == 422 and "accepted" in data
    ):
        return data
    raise RetailorError(response.status_code, data if isinstance(data, dict) else {"detail": data})


class Client(PrivacyCalls):
    """Synchronous client: events, catalog, customers, segments, models, decisions,
    feedback, placements and offers."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 60.0) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        params: dict[str, Any] | None = None,
        partial_ok: bool = False,
    ) -> Any:
        try:
            response = self._http.request(
                method,
                path,
                content=body,
                params=params,
                headers={"Content-Type": "application/json"} if body is not None else None,
            )
        except httpx.HTTPError as exc:
            raise RetailorError(0, {"detail": f"cannot reach the server: {exc}"}) from None
        return _answer(response, partial_ok)

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/healthz")  # type: ignore[no-any-return]

    def send_events(self, events: Sequence[dict[str, Any]] | bytes) -> dict[str, Any]:
        """Send events (at most ``limits()``: 10,000 and 5 MB unless the server says
        otherwise; see ``retailor.ingest.bulk.client_sink`` for sending any number); returns ``{"accepted", "duplicates", "rejected"}``
        also when some were rejected (the others are stored)."""
        body = (
            events if isinstance(events, bytes) else msgspec.json.encode({"events": list(events)})
        )
        return self._call("POST", "/v1/events", body=body, partial_ok=True)  # type: ignore[no-any-return]

    def limits(self) -> dict[str, int]:
        """What one request may carry: ``max_body_bytes``, ``max_batch_events`` and
        ``max_batch_items`` (catalog items or quarantine records)."""
        return self.health()["limits"]  # type: ignore[no-any-return]

    def upsert_items(self, items: Sequence[dict[str, Any]] | bytes) -> dict[str, Any]:
        """Create or change catalog items; returns ``{"created", "updated", "rejected"}``."""
        body = items if isinstance(items, bytes) else msgspec.json.encode({"items": list(items)})
        return self._call("PUT", "/v1/catalog/items", body=body, partial_ok=True)  # type: ignore[no-any-return]

    def get_item(self, item_id: str) -> dict[str, Any]:
        return self._call("GET", f"/v1/catalog/items/{_path_part(item_id)}")  # type: ignore[no-any-return]

    def customer_events(self, customer_id: str, limit: int = 100) -> list[dict[str, Any]]:
        data = self._call(
            "GET", f"/v1/customers/{_path_part(customer_id)}/events", params={"limit": limit}
        )
        return data["events"]  # type: ignore[no-any-return]

    def quarantine(
        self, *, limit: int = 100, offset: int = 0, source: str | None = None
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if source:
            params["source"] = source
        return self._call("GET", "/v1/quarantine", params=params)  # type: ignore[no-any-return]

    def add_to_quarantine(self, records: Sequence[dict[str, Any]] | bytes) -> dict[str, Any]:
        """Keep records rejected elsewhere (e.g. by a bulk import) in the server's quarantine
        (``{"items": [...]}`` as bytes, or the records)."""
        body = (
            records if isinstance(records, bytes) else msgspec.json.encode({"items": list(records)})
        )
        return self._call("POST", "/v1/quarantine", body=body)  # type: ignore[no-any-return]

    def customer(self, identifier: str) -> dict[str, Any]:
        """The single customer view of any linked identifier."""
        return self._call("GET", f"/v1/customers/{_path_part(identifier)}")  # type: ignore[no-any-return]

    def start_training(self, names: Sequence[str] = ()) -> dict[str, Any]:
        """Start a training job (default: every default recommender; name ``clv`` to fit
        lifetime value too); returns the job (``job_id``, ``status``, ``progress``). While
        another job has not ended: ``RetailorError`` 409 whose problem carries its ``job_id``."""
        params = {"models": ",".join(names)} if names else None
        return self._call("POST", "/v1/models/train", params=params)  # type: ignore[no-any-return]

    def job(self, job_id: str) -> dict[str, Any]:
        """A job's state: ``status`` (queued, running, succeeded, failed), ``progress``
        (``done`` of ``total`` models, ``current``), ``result`` and ``error``."""
        return self._call("GET", f"/v1/jobs/{_path_part(job_id)}")  # type: ignore[no-any-return]

    def wait_for_job(
        self,
        job_id: str,
        *,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
        poll_seconds: float = 0.5,
    ) -> dict[str, Any]:
        """Follow a job until it has ended and return its last state; ``on_progress`` sees
        every state read. Each look is a short request: no timeout bounds the work itself."""
        while True:
            job = self.job(job_id)
            if on_progress is not None:
                on_progress(job)
            if job["status"] in JOB_ENDED:
                return job
            time.sleep(poll_seconds)

    def train_models(self, names: Sequence[str] = ()) -> dict[str, Any]:
        """Train on the server (default: every default recommender) and wait until done;
        returns ``{"models": [...]}``, the versions made and whether each was activated.
        Waits first for a job already under way; a failed job raises ``RetailorError``."""
        while True:
            try:
                job = self.start_training(names)
                break
            except RetailorError as exc:
                if exc.status != 409 or "job_id" not in exc.problem:
                    raise
                self.wait_for_job(exc.problem["job_id"])
        return training_result(self.wait_for_job(job["job_id"]))

    def train(self, name: str) -> dict[str, Any]:
        """Train model ``name`` on the server (see ``train_models``); returns the version
        made: ``{"name", "version", "activated", "gate", "metrics"}``."""
        return self.train_models([name])["models"][0]  # type: ignore[no-any-return]

    def model(self, name: str) -> dict[str, Any]:
        """The active version of model ``name``: parameters and metrics."""
        return self._call("GET", f"/v1/models/{_path_part(name)}")  # type: ignore[no-any-return]

    def recommendations(
        self,
        customer_id: str | None = None,
        *,
        anonymous_id: str | None = None,
        model: str = "blend",
        k: int = 10,
        items: Sequence[str] = (),
        session_items: Sequence[str] = (),
        exclude: Sequence[str] = (),
    ) -> dict[str, Any]:
        """A model's recommended items for a customer or visitor (cold start if unknown)."""
        params: dict[str, Any] = {"model": model, "k": k}
        for name, value in (("customer_id", customer_id), ("anonymous_id", anonymous_id)):
            if value:
                params[name] = value
        for name, values in (
            ("items", items),
            ("session_items", session_items),
            ("exclude", exclude),
        ):
            if values:
                params[name] = ",".join(values)
        return self._call("GET", "/v1/recommendations", params=params)  # type: ignore[no-any-return]

    def similar_items(
        self, item_id: str, *, model: str = "item_item", k: int = 10
    ) -> dict[str, Any]:
        """Items similar to ``item_id``."""
        return self._call(  # type: ignore[no-any-return]
            "GET", f"/v1/items/{_path_part(item_id)}/similar", params={"model": model, "k": k}
        )

    def segment_customers(
        self, segment_id: str, offset: int = 0, limit: int = 1000, purpose: str | None = None
    ) -> dict[str, Any]:
        """A page of the customers in a segment who may be contacted for ``purpose``
        (the server's default, ``marketing``, when not given), with their traits."""
        params: dict[str, Any] = {"segment": segment_id, "offset": offset, "limit": limit}
        if purpose is not None:
            params["purpose"] = purpose
        return self._call("GET", "/v1/customers", params=params)  # type: ignore[no-any-return]

    def put_segment(self, segment_id: str, definition: dict[str, Any]) -> dict[str, Any]:
        """Create or replace a segment; returns its definition and size."""
        body = msgspec.json.encode(definition)
        return self._call("PUT", f"/v1/segments/{_path_part(segment_id)}", body=body)  # type: ignore[no-any-return]

    # --- experiments -----------------------------------------------------------------

    def put_experiment(self, experiment_id: str, definition: dict[str, Any]) -> dict[str, Any]:
        """Create or replace an experiment; returns it as stored (phase included)."""
        body = msgspec.json.encode(definition)
        path = f"/v1/experiments/{_path_part(experiment_id)}"
        return self._call("PUT", path, body=body)["experiment"]  # type: ignore[no-any-return]

    def experiment(self, experiment_id: str) -> dict[str, Any]:
        """An experiment's definition, phase and status."""
        path = f"/v1/experiments/{_path_part(experiment_id)}"
        return self._call("GET", path)["experiment"]  # type: ignore[no-any-return]

    def experiments(self) -> list[dict[str, Any]]:
        """Every experiment, by id."""
        return self._call("GET", "/v1/experiments")["experiments"]  # type: ignore[no-any-return]

    def delete_experiment(self, experiment_id: str) -> None:
        """Remove an experiment (its exposures and the decision log stay)."""
        self._call("DELETE", f"/v1/experiments/{_path_part(experiment_id)}")

    # --- decisions -------------------------------------------------------------------

    def decide(
        self,
        placement: str,
        *,
        customer_id: str | None = None,
        anonymous_id: str | None = None,
        session_id: str | None = None,
        context: dict[str, Any] | None = None,
        k: int | None = None,
        offers: int | None = None,
        exclude: Sequence[str] = (),
        timestamp: str | None = None,
    ) -> dict[str, Any]:
        """Items and offers for ``placement``: ``{"decision_id", "items", "offers", ...}``
        (``"experiment"`` too when the placement runs one). ``timestamp`` (ISO 8601) makes
        the decision as of that time, for replays and simulations; default: now."""
        return self._call("POST", "/v1/decisions", body=_decision_body(  # type: ignore[no-any-return]
            placement, customer_id, anonymous_id, session_id, context, k, offers, exclude,
            timestamp,
        ))  # fmt: skip

    def rerank(
        self,
        items: Sequence[str],
        *,
        customer_id: str | None = None,
        anonymous_id: str | None = None,
        context: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Your search engine's ``items`` re-ordered for this customer."""
        body = _rerank_body(items, customer_id, anonymous_id, context)
        return self._call("POST", "/v1/rerank", body=body)  # type: ignore[no-any-return]

    def feedback(
        self,
        decision_id: str,
        type: str,
        *,
        item_id: str | None = None,
        offer_id: str | None = None,
        value: float | None = None,
    ) -> dict[str, Any]:
        """What happened to a decision's item or offer (viewed, clicked, redeemed, purchased).
        A redemption over the offer's budget raises ``RetailorError`` with status 409."""
        body = _feedback_body(decision_id, type, item_id, offer_id, value)
        return self._call("POST", "/v1/feedback", body=body)  # type: ignore[no-any-return]

    def decision(self, decision_id: str) -> dict[str, Any]:
        """A logged decision with its feedback."""
        return self._call("GET", f"/v1/decisions/{_path_part(decision_id)}")  # type: ignore[no-any-return]

    def put_placement(self, placement_id: str, definition: dict[str, Any]) -> dict[str, Any]:
        return self._call(  # type: ignore[no-any-return]
            "PUT",
            f"/v1/placements/{_path_part(placement_id)}",
            body=msgspec.json.encode(definition),
        )

    def placement(self, placement_id: str) -> dict[str, Any]:
        return self._call("GET", f"/v1/placements/{_path_part(placement_id)}")  # type: ignore[no-any-return]

    def put_offer(self, offer_id: str, definition: dict[str, Any]) -> dict[str, Any]:
        return self._call(  # type: ignore[no-any-return]
            "PUT", f"/v1/offers/{_path_part(offer_id)}", body=msgspec.json.encode(definition)
        )

    def offer(self, offer_id: str) -> dict[str, Any]:
        return self._call("GET", f"/v1/offers/{_path_part(offer_id)}")  # type: ignore[no-any-return]

    # --- measurement -----------------------------------------------------------------

    def experiment_results(self, experiment_id: str, **query: str) -> dict[str, Any]:
        """Units, summary statistics and comparisons per variant (see docs/measurement.md)."""
        return self._call(  # type: ignore[no-any-return]
            "GET", f"/v1/experiments/{_path_part(experiment_id)}/results", params=query or None
        )

    def report(self, params: dict[str, Any]) -> dict[str, Any]:
        """``GET /v1/reports`` with ``from``, ``to``, ``interval`` and ``by``."""
        return self._call("GET", "/v1/reports", params=params)  # type: ignore[no-any-return]

    def recompute_reports(self, start: str, end: str) -> dict[str, Any]:
        """Rebuild the report facts of ``[start, end)`` from the logs (waits for it)."""
        params = {"from": start, "to": end}
        return self._call("POST", "/v1/reports/recompute", params=params)  # type: ignore[no-any-return]

    def export_reports(self, name: str, start: str, end: str) -> dict[str, Any]:
        """Write the fact tables of ``[start, end)`` as Parquet in the server's data
        directory, under ``exports/<name>``; the answer names the directory."""
        params = {"name": name, "from": start, "to": end}
        return self._call("POST", "/v1/reports/export", params=params)  # type: ignore[no-any-return]


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _rerank_body(
    items: Sequence[str],
    customer_id: str | None,
    anonymous_id: str | None,
    context: dict[str, Any] | None,
) -> bytes:
    return msgspec.json.encode(
        _drop_none(
            {"items": list(items), "customer_id": customer_id, "anonymous_id": anonymous_id,
             "context": context}
        )
    )  # fmt: skip


def _feedback_body(
    decision_id: str, type: str, item_id: str | None, offer_id: str | None, value: float | None
) -> bytes:
    return msgspec.json.encode(
        _drop_none(
            {"decision_id": decision_id, "type": type, "item_id": item_id, "offer_id": offer_id,
             "value": value}
        )
    )  # fmt: skip


def _decision_body(
    placement: str,
    customer_id: str | None,
    anonymous_id: str | None,
    session_id: str | None,
    context: dict[str, Any] | None,
    k: int | None,
    offers: int | None,
    exclude: Sequence[str],
    timestamp: str | None = None,
) -> bytes:
    return msgspec.json.encode(
        _drop_none(
            {
                "placement": placement,
                "customer_id": customer_id,
                "anonymous_id": anonymous_id,
                "session_id": session_id,
                "context": context,
                "k": k,
                "offers": offers,
                "exclude": list(exclude) or None,
                "timestamp": timestamp,
            }
        )
    )


class AsyncClient:
    """Asynchronous client for the hot paths (events, decisions, re-ranking, feedback,
    customer profiles) and for what a simulation sets up (catalog, placements, offers,
    training) (``async with AsyncClient(url, key) as client: ...``)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 100,
    ) -> None:
        """``transport`` replaces the network, e.g. ``httpx.ASGITransport(app)`` to call an
        app in this process through the same HTTP API."""
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=max_connections),
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _call(
        self, method: str, path: str, *, body: bytes | None = None, partial_ok: bool = False
    ) -> Any:
        try:
            response = await self._http.request(
                method,
                path,
                content=body,
                headers={"Content-Type": "application/json"} if body is not None else None,
            )
        except httpx.HTTPError as exc:
            raise RetailorError(0, {"detail": f"cannot reach the server: {exc}"}) from None
        return _answer(response, partial_ok)

    async def health(self) -> dict[str, Any]:
        return await self._call("GET", "/healthz")  # type: ignore[no-any-return]

    async def send_events(self, events: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Send events; returns ``{"accepted", "duplicates", "rejected"}``."""
        body = msgspec.json.encode({"events": list(events)})
        return await self._call("POST", "/v1/events", body=body, partial_ok=True)  # type: ignore[no-any-return]

    async def upsert_items(self, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Create or change catalog items (see ``Client.upsert_items``)."""
        body = msgspec.json.encode({"items": list(items)})
        return await self._call("PUT", "/v1/catalog/items", body=body, partial_ok=True)  # type: ignore[no-any-return]

    async def train_models(
        self, names: Sequence[str] = (), *, poll_seconds: float = 0.5
    ) -> dict[str, Any]:
        """Train on the server and wait until done (see ``Client.train_models``)."""
        path = "/v1/models/train" + (f"?models={','.join(names)}" if names else "")
        while True:
            try:
                job = await self._call("POST", path)
                break
            except RetailorError as exc:
                if exc.status != 409 or "job_id" not in exc.problem:
                    raise
                await self._wait_for_job(exc.problem["job_id"], poll_seconds)
        return training_result(await self._wait_for_job(job["job_id"], poll_seconds))

    async def _wait_for_job(self, job_id: str, poll_seconds: float) -> dict[str, Any]:
        while True:
            job: dict[str, Any] = await self._call("GET", f"/v1/jobs/{_path_part(job_id)}")
            if job["status"] in JOB_ENDED:
                return job
            await asyncio.sleep(poll_seconds)

    async def put_placement(self, placement_id: str, definition: dict[str, Any]) -> dict[str, Any]:
        body = msgspec.json.encode(definition)
        return await self._call("PUT", f"/v1/placements/{_path_part(placement_id)}", body=body)  # type: ignore[no-any-return]

    async def put_offer(self, offer_id: str, definition: dict[str, Any]) -> dict[str, Any]:
        body = msgspec.json.encode(definition)
        return await self._call("PUT", f"/v1/offers/{_path_part(offer_id)}", body=body)  # type: ignore[no-any-return]

    async def put_experiment(
        self, experiment_id: str, definition: dict[str, Any]
    ) -> dict[str, Any]:
        body = msgspec.json.encode(definition)
        return await self._call("PUT", f"/v1/experiments/{_path_part(experiment_id)}", body=body)  # type: ignore[no-any-return]

    async def experiment_results(self, experiment_id: str, **query: str) -> dict[str, Any]:
        query_string = f"?{urlencode(query)}" if query else ""
        path = f"/v1/experiments/{_path_part(experiment_id)}/results{query_string}"
        return await self._call("GET", path)  # type: ignore[no-any-return]

    async def decide(
        self,
        placement: str,
        *,
        customer_id: str | None = None,
        anonymous_id: str | None = None,
        session_id: str | None = None,
        context: dict[str, Any] | None = None,
        k: int | None = None,
        offers: int | None = None,
        exclude: Sequence[str] = (),
        timestamp: str | None = None,
    ) -> dict[str, Any]:
        """Items and offers for ``placement`` (see ``Client.decide``)."""
        body = _decision_body(
            placement,
            customer_id,
            anonymous_id,
            session_id,
            context,
            k,
            offers,
            exclude,
            timestamp,
        )
        return await self._call("POST", "/v1/decisions", body=body)  # type: ignore[no-any-return]

    async def rerank(
        self,
        items: Sequence[str],
        *,
        customer_id: str | None = None,
        anonymous_id: str | None = None,
        context: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        body = _rerank_body(items, customer_id, anonymous_id, context)
        return await self._call("POST", "/v1/rerank", body=body)  # type: ignore[no-any-return]

    async def feedback(
        self,
        decision_id: str,
        type: str,
        *,
        item_id: str | None = None,
        offer_id: str | None = None,
        value: float | None = None,
    ) -> dict[str, Any]:
        body = _feedback_body(decision_id, type, item_id, offer_id, value)
        return await self._call("POST", "/v1/feedback", body=body)  # type: ignore[no-any-return]

    async def customer(self, identifier: str) -> dict[str, Any]:
        """The single customer view of any linked identifier."""
        return await self._call("GET", f"/v1/customers/{_path_part(identifier)}")  # type: ignore[no-any-return]
