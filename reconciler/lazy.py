"""Import a module on first attribute access (keeps `gatewayctl validate` start-up fast)."""

from __future__ import annotations

import importlib
import types


class _Lazy(types.ModuleType):
    def __init__(self, name: str):
        super().__init__(name)
        self.__dict__["_target"] = name

    def __getattr__(self, attr: str):
        module = importlib.import_module(self.__dict__["_target"])
        return getattr(module, attr)


def lazy(name: str) -> types.ModuleType:
    return _Lazy(name)
