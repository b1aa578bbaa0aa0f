"""Jinja2 templates from discovery configs, run in a sandbox with a budget.

Home Assistant discovery lets whoever can publish on the broker hand the bridge a template
(``val_tpl``, ``cmd_tpl``…), so a template is untrusted code. Jinja's sandbox already stops
access to Python internals; on top of it every compilation and rendering gets a budget:

- ``max_operations``: Python line events while the template runs (its loops compile to Python
  code, so a loop of 10^10 iterations is stopped after this many steps);
- ``max_seconds``: wall time of one rendering;
- ``max_size``: the length of a string or list a ``*`` or ``**`` may build, and of the output.

A template that exceeds its budget raises TemplateBudgetExceeded and is not run again (the
bridge logs it once); the device's other messages and every other device go on working.
"""

from __future__ import annotations

import functools
import re
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from types import FrameType
from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment


@dataclass
class TemplateLimits:
    """The budget of one template rendering (documented in docs/device-bridge.md)."""

    max_operations: int = 200_000
    max_seconds: float = 0.25
    max_size: int = 65_536


LIMITS = TemplateLimits()


class TemplateBudgetExceeded(TemplateError):
    """A template ran out of its operation, time or size budget."""


class _BudgetedEnvironment(SandboxedEnvironment):
    # compiled as calls to call_binop, so they are checked, and never constant-folded at compile time
    intercepted_binops = frozenset({"*", "**", "//", "%"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        limit = LIMITS.max_size
        if operator == "*" and (isinstance(left, (str, list, tuple)) or isinstance(right, (str, list, tuple))):
            seq, count = (left, right) if isinstance(left, (str, list, tuple)) else (right, left)
            if isinstance(count, int) and len(seq) * max(count, 0) > limit:
                raise TemplateBudgetExceeded(f"the template builds a sequence longer than {limit}")
        if operator == "%" and isinstance(left, str) and _WIDE.search(left):
            raise TemplateBudgetExceeded("the template formats with a width beyond the size limit")
        if (operator == "**" and isinstance(left, (int, float)) and isinstance(right, (int, float))
                and abs(right) > 64 and abs(left) > 1):
            raise TemplateBudgetExceeded(f"the template raises {left} to the power {right}")
        return super().call_binop(context, operator, left, right)


    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _check_sizes(args, kwargs)  # 'x'.ljust(10**9) would allocate a gigabyte inside one C call
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Any:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None and _WIDE.search(value.__self__):
            raise TemplateBudgetExceeded("the template formats with a width beyond the size limit")
        return wrapped


_WIDE = re.compile(r"\d{6,}|\*")  # a width or precision of a million or more, or one taken from the arguments


def _check_sizes(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > LIMITS.max_size:
            raise TemplateBudgetExceeded(f"the template passes {value} where at most {LIMITS.max_size} is allowed")


def _guarded(fn: Any) -> Any:
    """A filter whose numeric arguments (widths, counts) are capped; the filtered value is not."""

    @functools.wraps(fn)
    def filter_(value: Any, *args: Any, **kwargs: Any) -> Any:
        _check_sizes(args, kwargs)
        return fn(value, *args, **kwargs)

    return filter_


_env = _BudgetedEnvironment(autoescape=False)
for _name, _filter in list(_env.filters.items()):
    if getattr(_filter, "jinja_pass_arg", None) is None:  # context/environment filters keep their signature
        _env.filters[_name] = _guarded(_filter)
_spent: OrderedDict[str, str] = OrderedDict()  # template source -> why it was stopped (most recent last)
_spent_lock = threading.Lock()


class _Budget:
    """A trace function that counts the Python steps of the traced thread."""

    def __init__(self) -> None:
        self.steps = 0
        self.deadline = time.monotonic() + LIMITS.max_seconds

    def __call__(self, frame: FrameType, event: str, arg: Any) -> Any:
        self.steps += 1
        if self.steps > LIMITS.max_operations:
            raise TemplateBudgetExceeded(f"the template took more than {LIMITS.max_operations} operations")
        if self.steps % 1024 == 0 and time.monotonic() > self.deadline:
            raise TemplateBudgetExceeded(f"the template ran longer than {LIMITS.max_seconds:g} s")
        return self


def _budgeted(fn: Any, *args: Any, **kwargs: Any) -> Any:
    previous = sys.gettrace()
    sys.settrace(_Budget())
    try:
        return fn(*args, **kwargs)
    finally:
        sys.settrace(previous)


@functools.lru_cache(maxsize=512)
def _compiled(source: str) -> Any:
    return _env.from_string(source)


def render(source: str, **context: Any) -> str:
    """Render ``source`` with ``context``; raises TemplateError (TemplateBudgetExceeded
    included) or TypeError/ValueError from the template's own operations."""
    with _spent_lock:
        why = _spent.get(source)
    if why is not None:
        raise TemplateBudgetExceeded(f"{why} before; it is no longer run")
    if len(source) > LIMITS.max_size:
        raise TemplateBudgetExceeded(f"the template is longer than {LIMITS.max_size} characters")
    template = _compiled(source)  # compiling is linear in the source; loops only run when rendering
    try:
        out = _budgeted(template.render, **context)
    except TemplateBudgetExceeded as exc:
        with _spent_lock:
            _spent[source] = str(exc)
            while len(_spent) > 256:
                _spent.popitem(last=False)
        raise
    if len(out) > LIMITS.max_size:
        raise TemplateBudgetExceeded(f"the template's output is longer than {LIMITS.max_size}")
    return str(out)
