"""What the image asks of its language: hooks that ``import batos.lang`` installs.

The image layer sits below the language (``errors → guardian → llm → image → lang →
…``), so :meth:`Image.evaluate`, :meth:`Image.print_string`, a BST method's compile and
the ``--dry-run`` change report reach BST through this table, never by importing it.
``batos.lang`` installs itself when imported (``batos.open_image`` and the CLI import
it); a process that opens an image some other way gets the default language loaded by
name the first time it is asked, the way awakening steps and primitives are.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable

#: the package that installs the default language when none has been installed
DEFAULT = "batos.lang"

_HOOKS: dict[str, Callable[..., Any]] = {}
_COMPILERS: dict[str, Callable[..., Any]] = {}


def install(*, evaluate: Callable[..., Any], print_string: Callable[[Any], str],
            send: Callable[..., Any], article: Callable[[str], str] | None = None) -> None:
    """Install the language's ``evaluate(image, source, workspace=, filename=)``,
    ``print_string(value)`` and ``send(receiver, selector, args)`` (any value, Python
    ones included), and ``article(class_name)`` ("an Adapter")."""
    _HOOKS["evaluate"] = evaluate
    _HOOKS["print_string"] = print_string
    _HOOKS["send"] = send
    if article is not None:
        _HOOKS["article"] = article


def register_compiler(language: str, compile_fn: Callable[..., Any]) -> None:
    """``compile_fn(source, selector=...)`` compiles stored methods of ``language``."""
    _COMPILERS[language] = compile_fn


def _hook(name: str) -> Callable[..., Any]:
    fn = _HOOKS.get(name)
    if fn is None:
        importlib.import_module(DEFAULT)  # installs itself on import
        fn = _HOOKS[name]
    return fn


def evaluate(image: Any, source: str, **kw: Any) -> Any:
    """Evaluate ``source`` in ``image`` with the installed language."""
    return _hook("evaluate")(image, source, **kw)


def print_string(value: Any) -> str:
    """The installed language's printString of ``value``."""
    return _hook("print_string")(value)


def send(receiver: Any, selector: str, args: tuple[Any, ...] = ()) -> Any:
    """Send ``selector`` to any value (a Python value answers the language's protocol)."""
    return _hook("send")(receiver, selector, args)


def article(name: str) -> str:
    """``a Set`` / ``an Adapter``: the language's article for a class name."""
    fn = _HOOKS.get("article") or (_hook("print_string") and _HOOKS.get("article"))
    if fn is None:
        return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"
    return fn(name)


def compiler(language: str) -> Callable[..., Any] | None:
    """The compiler registered for ``language`` (loading the default language once)."""
    fn = _COMPILERS.get(language)
    if fn is None and language != "python":
        importlib.import_module(DEFAULT)
        fn = _COMPILERS.get(language)
    return fn


__all__ = ["install", "register_compiler", "evaluate", "print_string", "send", "article",
           "compiler", "DEFAULT"]
