"""The sync twin of an async resource method, typed from the async one.

`name = synced(AsyncResource.name)` in a sync resource: calling it runs the async method's
coroutine on the sync transport, whose coroutines never suspend, so it completes at once.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

P = ParamSpec("P")
R = TypeVar("R")


def drive(coroutine: Coroutine[Any, Any, R]) -> R:
    """Run a coroutine that never suspends; its result, or its exception."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise RuntimeError("a sync SDK call suspended: it was given an async transport")


class synced(Generic[P, R]):  # lower case: used like a decorator
    """A sync method made from an async one."""

    def __init__(self, method: Callable[Concatenate[Any, P], Coroutine[Any, Any, R]]) -> None:
        self.method = method
        # What `help()` and IDEs show: the async method's parameters without `self`.
        signature = inspect.signature(method)
        self.signature = signature.replace(parameters=list(signature.parameters.values())[1:])

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> synced[P, R]: ...
    @overload
    def __get__(self, instance: object, owner: type[Any]) -> Callable[P, R]: ...
    def __get__(self, instance: object | None, owner: type[Any]) -> Any:
        if instance is None:
            return self
        method = self.method

        @functools.wraps(method)
        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            return drive(method(instance, *args, **kwargs))

        call.__signature__ = self.signature  # type: ignore[attr-defined]
        return call
