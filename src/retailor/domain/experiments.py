"""Experiments and the global holdout as data: what a marketer declares to compare ways of
deciding, and the first exposure of each unit that the exposure store keeps.

An :class:`Experiment` runs on one or more placements and splits its units (customers,
else visitors) among :class:`Variant` s by weight. A variant changes what Retailor does
on those placements: a ``placement`` override merged onto the placement's definition, a
``models`` substitution of candidate sources, an ``offer_policy``, ``personalized: false``
(the answer a shopper without personalization consent gets), and free ``parameters``
returned to the client for what it renders itself. Changing the weights or the set of
variants starts a new ``phase``: assignment is reshuffled and results count per phase.

The :class:`Holdout` is a share of units that never get personalization, on any placement.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from retailor.domain import numbers
from retailor.domain.ids import definition_id_problem
from retailor.domain.placements import (
    DefinitionError,
    Diversity,
    ReadOnlyText,
    ReadOnlyTimestamp,
    Rule,
    Source,
    check_raw,
    convert_definition,
    parse_placement,
)

ExperimentStatus = Literal["draft", "running", "stopped"]
#: How far the weights of an experiment's variants may sum away from 1.
WEIGHT_TOLERANCE = 1e-9
#: The largest share of units a global holdout may keep from personalization.
MAX_HOLDOUT_SHARE = 0.5
#: The experiment id the holdout's assignments are kept under in the exposure store
#: (refused as the id of an experiment).
HOLDOUT_ID = "holdout"
#: The holdout's two groups, as variants of its assignments.
HELD_OUT, PERSONALIZED = "holdout", "personalized"
#: The offer policies a variant may name (``vowpal``: the learned contextual bandit).
OFFER_POLICIES = ("uniform", "vowpal")

ReadOnlyInt = Annotated[int, Meta(ge=1, extra_json_schema={"readOnly": True})]
Weight = Annotated[float, Meta(ge=0, le=1)]
VariantId = Annotated[
    str, Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]


class PlacementOverride(Struct, kw_only=True, forbid_unknown_fields=True):
    """The parts of a placement's definition a variant replaces (absent: unchanged)."""

    sources: Annotated[list[Source], Meta(min_length=1)] | None = None
    rules: list[Rule] | None = None
    k: Annotated[int, Meta(ge=1, le=100)] | None = None
    fallback: list[str] | None = None
    diversity: Diversity | None = None
    offers: Annotated[int, Meta(ge=0, le=10)] | None = None

    def given(self) -> dict[str, Any]:
        """The fields this override sets, by name."""
        return {
            name: value
            for name in self.__struct_fields__
            if (value := getattr(self, name)) is not None
        }


class Variant(Struct, kw_only=True, forbid_unknown_fields=True):
    """One arm of an experiment: its share of units and what it changes."""

    id: VariantId
    weight: Weight
    placement: PlacementOverride | None = None
    #: candidate sources replaced by others on the experiment's placements, e.g.
    #: ``{"personal": "als"}`` (a model's name is a source)
    models: dict[str, str] = msgspec.field(default_factory=dict)
    offer_policy: Literal["uniform", "vowpal"] | None = None
    personalized: bool = True
    #: returned to the client with the decision, for variants the client renders
    parameters: dict[str, Any] = msgspec.field(default_factory=dict)


class Experiment(Struct, kw_only=True, forbid_unknown_fields=True):
    """An experiment (see the module docstring). ``phase`` and the times are the
    server's: a definition may repeat them as read back, they are not taken from it."""

    experiment_id: ReadOnlyText = ""
    name: str = ""
    description: str = ""
    placements: Annotated[
        list[str],
        Meta(
            min_length=1,
            description="placements that exist (a default or a defined one), each once; "
            "no other running experiment may have one of them",
        ),
    ]
    variants: Annotated[
        list[Variant],
        Meta(min_length=2, description="variants with distinct ids whose weights sum to 1"),
    ]
    control: Annotated[str, Meta(description="the id of one of the variants")]
    status: ExperimentStatus = "running"
    phase: ReadOnlyInt = 1
    phase_started_at: ReadOnlyTimestamp | None = None
    created_at: ReadOnlyTimestamp | None = None
    updated_at: ReadOnlyTimestamp | None = None

    def variant(self, variant_id: str) -> Variant | None:
        return next((v for v in self.variants if v.id == variant_id), None)

    def split(self) -> list[tuple[str, float]]:
        """The variants' ids and weights in order: what a change of starts a new phase."""
        return [(v.id, v.weight) for v in self.variants]


class Holdout(Struct, kw_only=True, forbid_unknown_fields=True):
    """The global holdout: ``share`` of units (0..0.5) never get personalization. A change
    of share starts a new phase, as for an experiment."""

    share: Annotated[float, Meta(ge=0, le=MAX_HOLDOUT_SHARE)]
    phase: ReadOnlyInt = 1
    phase_started_at: ReadOnlyTimestamp | None = None
    updated_at: ReadOnlyTimestamp | None = None


class Assignment(Struct, frozen=True, kw_only=True):
    """A unit's first exposure to an experiment in one phase, and the variant it got.
    ``unit`` is a canonical customer id, or ``a:`` and a visitor id."""

    experiment_id: str
    phase: int
    unit: str
    variant: str
    first_exposure_at: datetime


def parse_experiment(raw: Any, experiment_id: str) -> Experiment:
    """Decode an experiment definition and check it; :class:`DefinitionError` says where.

    >>> parse_experiment({"placements": ["home"], "control": "a", "variants": [
    ...     {"id": "a", "weight": 0.5}, {"id": "b", "weight": 0.5}]}, "x").status
    'running'
    """
    problem = definition_id_problem("experiment", experiment_id)
    if problem is not None:
        raise DefinitionError(problem)
    if experiment_id == HOLDOUT_ID:
        raise DefinitionError(f"{HOLDOUT_ID!r} is reserved for the global holdout; pick another id")
    experiment = convert_definition(raw, Experiment, "experiment_id", experiment_id)
    seen: set[str] = set()
    for i, variant in enumerate(experiment.variants):
        if variant.id in seen:
            raise DefinitionError(
                f"variant id {variant.id!r} appears twice - at `$.variants[{i}].id`"
            )
        seen.add(variant.id)
        if variant.placement is not None:
            _check_override(variant.placement, f"$.variants[{i}].placement")
    total = math.fsum(v.weight for v in experiment.variants)
    if abs(total - 1.0) > WEIGHT_TOLERANCE:
        raise DefinitionError(f"the variants' weights sum to {total!r}, not 1 - at `$.variants`")
    if experiment.control not in seen:
        raise DefinitionError(
            f"control {experiment.control!r} is not one of the variants "
            f"({', '.join(sorted(seen))}) - at `$.control`"
        )
    if len(set(experiment.placements)) != len(experiment.placements):
        raise DefinitionError("a placement is listed twice - at `$.placements`")
    return experiment


def _check_override(override: PlacementOverride, where: str) -> None:
    """Check the override's rules as a placement's own (channels, hours, matches)."""
    probe: dict[str, Any] = {"sources": [{"source": "popular"}]}
    for name, value in override.given().items():
        probe[name] = msgspec.to_builtins(value)
    try:
        parse_placement(probe, "override")
    except DefinitionError as exc:
        message = str(exc).replace("at `$", f"at `{where}")
        raise DefinitionError(message) from None


def parse_holdout(raw: Any) -> Holdout:
    """Decode the global holdout's definition (``{"share": 0.05}``)."""
    check_raw(raw)
    try:
        return numbers.convert(raw, Holdout)
    except msgspec.ValidationError as exc:
        raise DefinitionError(str(exc)) from None
