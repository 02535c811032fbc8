"""What asking for a model can fail with: a name no family has, or a known model with no
fitted version loaded yet."""

from __future__ import annotations


class UnknownModelError(ValueError):
    """No model configuration has this name."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"unknown model {name!r}; known: {', '.join(known)}")
        self.name = name


class NotTrainedError(LookupError):
    """The model is known but has not been trained (or loaded) yet, nor has any model it
    falls back to."""

    def __init__(self, name: str) -> None:
        super().__init__(f"model {name!r} has not been trained yet")
        self.name = name
