"""Pydantic request/response models, one module per area.

A route or worker may name a model through `models()` instead of importing it: the model's module is then
imported (and its classes created) when a request first needs it, not at every cold start.
`resolve` turns what a route declared (a model, a `Lazy`, list[...] of either, or None) into the model.
"""

import importlib
from typing import Any, get_args, get_origin


class Lazy:
    """The model `name` of the first of chalicelib.schemas.<modules> that has it, imported on the first
    `resolve()`."""

    __slots__ = ("modules", "name", "_model")

    def __init__(self, modules: tuple[str, ...], name: str):
        self.modules, self.name, self._model = modules, name, None

    def resolve(self) -> Any:
        if self._model is None:
            for module in self.modules:
                found = getattr(importlib.import_module(f"{__name__}.{module}"), self.name, None)
                if found is not None:
                    self._model = found
                    break
            else:
                raise AttributeError(f"No model {self.name} in chalicelib.schemas {self.modules}")
        return self._model

    @property
    def __name__(self) -> str:  # noqa: PLW3201 - reads like the model's
        return self.name

    def __repr__(self) -> str:
        return f"Lazy({self.name})"


class _Models:
    def __init__(self, modules: tuple[str, ...]):
        self._modules = modules

    def __getattr__(self, name: str) -> Lazy:
        return Lazy(self._modules, name)


def models(*modules: str) -> _Models:
    """`schemas = models("exchange", "common")`, then `body=schemas.CreateCall`: the model by name, from
    the first of those modules that has it, imported when a request first needs it."""
    return _Models(modules)


def resolve(model: Any) -> Any:
    if isinstance(model, Lazy):
        return model.resolve()
    if get_origin(model) is list and isinstance(get_args(model)[0], Lazy):
        return list[get_args(model)[0].resolve()]
    return model
