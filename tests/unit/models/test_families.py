"""Model configurations by name: an unknown name is an error of its own, apart from a
known model that is not trained yet."""

from __future__ import annotations

import pytest

from retailor.models.errors import UnknownModelError
from retailor.models.families import create, load


def test_an_unknown_model_name_is_its_own_error() -> None:
    for make in (lambda: create("nope"), lambda: load("nope", b"")):
        with pytest.raises(UnknownModelError, match="unknown model 'nope'; known: popularity, "):
            make()
    assert issubclass(UnknownModelError, ValueError)
    assert not issubclass(UnknownModelError, LookupError)  # nor a model not trained yet
