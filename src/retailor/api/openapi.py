"""The OpenAPI 3.1 document, built from the endpoint table and the msgspec types it names."""

from __future__ import annotations

import re
import types
import typing
from typing import Any

import msgspec

from retailor import __version__
from retailor.api.endpoints import Endpoint

OPENAPI_PATH = "/openapi.json"
_PARAM = re.compile(r"{(\w+)(?::\w+)?}")

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
    "required": ["type", "title", "status", "detail"],
}


def _members(tp: Any) -> tuple[Any, ...]:
    """The members of a union type (msgspec documents untagged struct unions one by one)."""
    return typing.get_args(tp) if isinstance(tp, types.UnionType) else (tp,)


def build_openapi(endpoints: list[Endpoint]) -> dict[str, Any]:
    """The OpenAPI document of ``endpoints``."""
    types = [t for ep in endpoints for t in (ep.body, ep.response, ep.partial) if t is not None]
    members = [m for t in types for m in _members(t)]
    schemas, components = msgspec.json.schema_components(
        members, ref_template="#/components/schemas/{name}"
    )
    member_schema = dict(zip(map(id, members), schemas, strict=True))
    schema_of: dict[int, Any] = {}
    for t in types:
        parts = [member_schema[id(m)] for m in _members(t)]
        schema_of[id(t)] = parts[0] if len(parts) == 1 else {"oneOf": parts}
    components["Problem"] = PROBLEM_SCHEMA
    paths: dict[str, dict[str, Any]] = {}
    for ep in endpoints:
        path = _PARAM.sub(r"{\1}", ep.path)
        op: dict[str, Any] = {
            "operationId": ep.handler.__name__,
            "summary": ep.summary,
            "tags": [ep.tag],
            "description": ep.description,
            "responses": {},
        }
        params = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "string", "minLength": 1},
            }
            for name in _PARAM.findall(ep.path)
        ]
        params += [
            {
                "name": q.name,
                "in": "query",
                "required": q.required,
                "description": q.description,
                "schema": q.schema,
            }
            for q in ep.query
        ]
        if params:
            op["parameters"] = params
        if ep.body is not None:
            body_schema = {"schema": schema_of[id(ep.body)]}
            content = {"application/json": body_schema}
            if ep.yaml_body:  # a definition: YAML with its content type, JSON otherwise
                content["application/yaml"] = body_schema
            op["requestBody"] = {"required": True, "content": content}
        ok: dict[str, Any] = {"description": "Accepted" if ep.status == 202 else "OK"}
        if ep.status == 202:  # the work goes on: the answer says where to follow it
            ok["headers"] = {
                "Location": {"description": "where to follow it", "schema": {"type": "string"}}
            }
        if ep.response is not None:
            ok["content"] = {ep.media_type: {"schema": schema_of[id(ep.response)]}}
        elif ep.media_type != "application/json":
            ok["content"] = {ep.media_type: {"schema": {"type": "string"}}}
        if ep.method == "DELETE" and ep.response is None:
            op["responses"]["204"] = {"description": "Deleted"}
        else:
            op["responses"][str(ep.status)] = ok
        errors = set(ep.errors)
        if ep.scope is not None:
            op["security"] = [{"bearer": []}, {"basic": []}]
            errors |= {401, 403}
        if ep.body is not None:
            errors |= {400, 408, 413, 415, 422}
        for status in sorted(errors):
            problem: dict[str, Any] = {"$ref": "#/components/schemas/Problem"}
            if status == 422 and ep.partial is not None:
                # some of the request was refused, the rest kept: the report's fields too
                problem = {"allOf": [problem, schema_of[id(ep.partial)]]}
            op["responses"][str(status)] = {
                "description": "problem",
                "content": {"application/problem+json": {"schema": problem}},
            }
        paths.setdefault(path, {})[ep.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Retailor",
            "version": __version__,
            "description": "Real-time retail personalization: events in, decisions out.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {"type": "http", "scheme": "basic", "description": "key as user name"},
            },
        },
    }
