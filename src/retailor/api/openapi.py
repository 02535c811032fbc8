"""The OpenAPI 3.1 document, built from the endpoint table and the msgspec types it names."""

from __future__ import annotations

import re
import types
import typing
from typing import Any

import msgspec

from retailor import __version__
from retailor.api.endpoints import PATH_PARAMS, Endpoint, PartialAnswer
from retailor.api.problems import problem_type
from retailor.domain.ids import MAX_ID_LENGTH, DefinitionId, Identifier
from retailor.ingest.segment_messages import SegmentIdText

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
        "where": {
            "type": "string",
            "description": "the JSON path of the mistake, when the request body has one",
        },
    },
    "required": ["type", "title", "status", "detail"],
}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _partial_problem(partial: PartialAnswer, report_schema: dict[str, Any]) -> dict[str, Any]:
    """A 422 that is either the partial answer (its own problem type, with the report's
    members) or a plain problem (the whole request was refused)."""
    kind = problem_type(partial.title)
    return {
        "oneOf": [
            {"allOf": [PROBLEM_REF, {"properties": {"type": {"const": kind}}}, report_schema]},
            {"allOf": [PROBLEM_REF, {"properties": {"type": {"not": {"const": kind}}}}]},
        ]
    }


def _path_param(name: str) -> dict[str, Any]:
    param = PATH_PARAMS.get(name)
    if param is None:
        return {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH},
        }
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": param.description,
        "schema": msgspec.json.schema(param.type),
    }


def _members(tp: Any) -> tuple[Any, ...]:
    """The members of a union type (msgspec documents untagged struct unions one by one)."""
    return (
        typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, types.UnionType) else (tp,)
    )


#: Schemas used in many places, written once under their name (ids have long patterns).
SHARED_SCHEMAS = {
    "Identifier": msgspec.json.schema(Identifier),
    "DefinitionId": msgspec.json.schema(DefinitionId),
    "SegmentIdText": msgspec.json.schema(SegmentIdText),
}


def _shared(schema: Any) -> Any:
    """``schema`` with each copy of a :data:`SHARED_SCHEMAS` schema a reference to it."""
    if isinstance(schema, list):
        return [_shared(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    for name, shared in SHARED_SCHEMAS.items():
        if schema == shared:
            return {"$ref": f"#/components/schemas/{name}"}
    return {key: _shared(value) for key, value in schema.items()}


def _refs_alone(schema: Any) -> Any:
    """``schema`` with every ``$ref`` that has keywords beside it (msgspec writes an
    annotated struct so) turned into ``allOf`` of the reference and those keywords, which
    every OpenAPI tool reads."""
    if isinstance(schema, list):
        return [_refs_alone(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {key: _refs_alone(value) for key, value in schema.items()}
    if "$ref" in schema and len(schema) > 1:
        ref = {"$ref": schema.pop("$ref")}
        return {"allOf": [ref, schema]}
    return schema


def build_openapi(endpoints: list[Endpoint]) -> dict[str, Any]:
    """The OpenAPI document of ``endpoints``."""
    types = [
        t
        for ep in endpoints
        for t in (ep.body, ep.response, ep.partial.report if ep.partial else None)
        if t is not None
    ]
    members = [m for t in types for m in _members(t)]
    schemas, components = msgspec.json.schema_components(
        members, ref_template="#/components/schemas/{name}"
    )
    member_schema = dict(zip(map(id, members), schemas, strict=True))
    schema_of: dict[int, Any] = {}
    for t in types:
        parts = [member_schema[id(m)] for m in _members(t)]
        schema_of[id(t)] = parts[0] if len(parts) == 1 else {"oneOf": parts}
    components = _shared(components)
    components.update(SHARED_SCHEMAS, Problem=PROBLEM_SCHEMA)
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
        path_names = _PARAM.findall(ep.path)
        params = [_path_param(name) for name in path_names]
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
        for media_type in ep.alternatives:
            ok.setdefault("content", {})[media_type] = {"schema": {"type": "string"}}
        if ep.method == "DELETE" and ep.response is None:
            op["responses"]["204"] = {"description": "Deleted"}
        else:
            op["responses"][str(ep.status)] = ok
        errors = set(ep.errors) | {414}  # a path or query string past its length limit
        if ep.scope is not None:
            op["security"] = [{"bearer": []}, {"basic": []}]
            errors |= {401, 403, 429}  # no key, not its scope (or origin), its rate limit
        if ep.body is not None:
            errors |= {400, 408, 413, 415, 422}
        if path_names:
            errors.add(422)  # an id no resource can have, or one too long
        for status in sorted(errors):
            problem: dict[str, Any] = PROBLEM_REF
            if status == 422 and ep.partial is not None:
                problem = _partial_problem(ep.partial, schema_of[id(ep.partial.report)])
            op["responses"][str(status)] = {
                "description": "problem",
                "content": {"application/problem+json": {"schema": problem}},
            }
        paths.setdefault(path, {})[ep.method.lower()] = op
    document: dict[str, Any] = _refs_alone(
        {
            "openapi": "3.1.0",
            "info": {
                "title": "Retailor",
                "version": __version__,
                "description": "Real-time retail personalization: events in, decisions out.",
            },
            "paths": _shared(paths),
            "components": {
                "schemas": components,
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer"},
                    "basic": {"type": "http", "scheme": "basic", "description": "key as user name"},
                },
            },
        }
    )
    return document
