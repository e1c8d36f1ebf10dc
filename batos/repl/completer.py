"""Tab completion: names, the selectors a receiver understands, and meta commands.

For ``counter incr<TAB>`` the receiver is the name or literal just before the word
being typed. It is resolved WITHOUT running any code: a workspace variable, a
global (one lookup in the globals tree), or a literal's type. Its selectors are
its own and inherited slots (``Proto.slots()``) or, for Python values, the core
protocol (``batos.lang.primitives.selectors_for``). A receiver that only running
code could produce (``(a foo) ba<TAB>``) gets no selector completions. Any error
is logged to ``$XDG_STATE_HOME/batos/repl-debug.log`` and completes nothing.
"""
from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from pygments.token import Token

from batos.repl.lexer import BSTLexer

if TYPE_CHECKING:
    from batos.repl.session import ReplSession

__all__ = ["BSTCompleter", "resolve_receiver", "selectors_of", "debug_log"]

PSEUDO = ("self", "super", "true", "false", "nil", "thisContext")
_LEXER = BSTLexer()
_NOTHING = object()
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*:?$|$")


def debug_log() -> logging.Logger:
    """The REPL's debug logger, writing to ``$XDG_STATE_HOME/batos/repl-debug.log``
    (re-targeted when that directory changes)."""
    from batos.repl.config import state_dir
    logger = logging.getLogger("batos.repl")
    path = state_dir() / "repl-debug.log"
    if getattr(logger, "_batos_path", None) != path:
        for old in [h for h in logger.handlers if getattr(h, "_batos", False)]:
            logger.removeHandler(old)
            old.close()
        logger._batos_path = path  # type: ignore[attr-defined]
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler: logging.Handler = logging.FileHandler(path, delay=True)
        except OSError:
            handler = logging.NullHandler()
        handler._batos = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
    return logger


def _significant(source: str) -> list[tuple[Any, str]]:
    """Tokens without whitespace and comments; a string literal is one token."""
    out: list[tuple[Any, str]] = []
    in_string = False
    for t, v in _LEXER.get_tokens(source):
        plain_string = t in Token.String and t not in Token.String.Symbol \
            and t not in Token.String.Char
        if plain_string and in_string and out:
            out[-1] = (out[-1][0], out[-1][1] + v)
            in_string = v != "'"
            continue
        if plain_string and v == "'":
            out.append((t, v))
            in_string = True
            continue
        in_string = False
        if t not in Token.Text.Whitespace and t not in Token.Comment and v.strip():
            out.append((t, v))
    return out


def _inside_literal(source: str) -> bool:
    """True when the text ends inside a string or a comment."""
    from batos.repl.statements import scan
    return scan(source)[1] is not None


def _operand_end(token: Any, value: str) -> bool:
    """Whether a token can end an operand (so a word after it is a message)."""
    if value in (")", "]", "}"):
        return True
    if token in Token.Name.Function:       # keyword part: an argument comes next
        return False
    return (token in Token.Name or token in Token.Keyword.Constant or token in Token.Number
            or token in Token.String)


def _literal_value(token: Any, value: str) -> Any:
    """A sample value of a literal's type, built without evaluating anything."""
    if token in Token.Keyword.Constant:
        return {"true": True, "false": False, "nil": None}[value]
    if token in Token.Number:
        if "r" in value:
            base, _, digits = value.partition("r")
            return int(digits, int(base.lstrip("-")))
        return float(value.rstrip("sdeq")) if "." in value or "e" in value else 0
    if token in Token.String.Symbol:
        return _symbol(value.lstrip("#").strip("'"))
    if token in Token.String.Char:
        return _character(value[1:])
    if token in Token.String:
        return ""
    return _NOTHING


def _symbol(text: str) -> Any:
    try:
        from batos.lang.values import Symbol  # type: ignore[attr-defined]
        return Symbol(text)
    except Exception:
        return text


def _character(text: str) -> Any:
    try:
        from batos.lang.values import Character  # type: ignore[attr-defined]
        return Character(text)
    except Exception:
        return text


def _matching_open(tokens: list[tuple[Any, str]], close_index: int) -> int:
    """Index of the bracket opening the one at ``close_index`` (or -1)."""
    pairs = {")": "(", "]": "[", "}": "{"}
    want = pairs[tokens[close_index][1]]
    depth = 0
    for i in range(close_index, -1, -1):
        v = tokens[i][1]
        if v in pairs:
            depth += 1
        elif v == want or (want == "(" and v == "#("):
            depth -= 1
            if depth == 0:
                return i
    return -1


def _primary(session: "ReplSession", tokens: list[tuple[Any, str]], end: int) -> Any:
    """The value of the primary ending at ``tokens[end]`` when it is the receiver of the
    next word (not itself the result of a message); ``_NOTHING`` when unknown."""
    token, value = tokens[end]
    start = end
    sample: Any = None
    if value in ("]", "}", ")"):
        start = _matching_open(tokens, end)
        if start < 0:
            return _NOTHING
        sample = {"[": _block_sample, "{": list, "#(": list}.get(tokens[start][1])
        if sample is None:
            return _NOTHING            # (expression): only running it would tell
    if start > 0 and _operand_end(*tokens[start - 1]):
        return _NOTHING                # a message result, e.g. `3 factorial fa`
    if sample is not None:
        return sample()
    if token in Token.Name and token not in Token.Name.Function:
        return resolve_name(session, value)
    return _literal_value(token, value)


def _block_sample() -> Any:
    try:
        from batos.lang.block import Block
        return Block(lambda: None, 0)
    except Exception:
        return lambda: None


def resolve_name(session: "ReplSession", name: str) -> Any:
    """A variable's value: workspace, then globals; pseudo-variables by type."""
    if name in ("true", "false", "nil"):
        return {"true": True, "false": False, "nil": None}[name]
    workspace = session.image.workspace
    if name in workspace:
        return workspace[name]
    value = session.image.globals.get(name, _NOTHING)
    if value is _NOTHING:
        value = _builtins(session).get(name, _NOTHING)
    return value


def _builtins(session: "ReplSession") -> dict[str, Any]:
    """The language's built-in globals (``Transcript``, ``OrderedCollection``...)."""
    try:
        from batos.lang.runtime import builtins_for
    except ImportError:
        return {}
    return builtins_for(session.image)


def resolve_receiver(session: "ReplSession", before: str) -> Any:
    """The receiver of the message being typed after ``before`` (``_NOTHING`` if none
    can be found without running code)."""
    tokens = _significant(before)
    if not tokens:
        return _NOTHING
    if tokens[-1][1] == ";":
        return _cascade_receiver(session, tokens[:-1])
    if not _operand_end(*tokens[-1]):
        return _NOTHING
    return _primary(session, tokens, len(tokens) - 1)


def _keyword_message(tokens: list[tuple[Any, str]]) -> tuple[int, list[str]] | None:
    """Index of the receiver's last token and the keyword parts typed so far, when the
    tokens end inside a keyword message (``dict at: 1``); None otherwise."""
    depth, first = 0, None
    parts: list[str] = []
    for i in range(len(tokens) - 1, -1, -1):
        token, value = tokens[i]
        if value in (")", "]", "}"):
            depth += 1
        elif value in ("(", "[", "{", "#("):
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and value in (".", ";", ":=", "^"):
            break
        elif depth == 0 and token in Token.Name.Function:
            parts.insert(0, value)
            first = i
    if first is None or first == 0:
        return None
    return first - 1, parts


def _cascade_receiver(session: "ReplSession", tokens: list[tuple[Any, str]]) -> Any:
    """For ``Transcript show: 'a'; cr``: the first primary of the cascaded expression
    when the message before ``;`` was sent straight to it."""
    depth, start = 0, 0
    for i in range(len(tokens) - 1, -1, -1):
        v = tokens[i][1]
        if v in (")", "]", "}"):
            depth += 1
        elif v in ("(", "[", "{", "#("):
            if depth == 0:
                start = i + 1
                break
            depth -= 1
        elif depth == 0 and v in (".", ":=", "^", "|"):
            start = i + 1
            break
    part = tokens[start:]
    if len(part) >= 2 and (part[1][0] in Token.Name.Function or part[1][0] in Token.Operator
                           or (len(part) == 2 and part[1][0] in Token.Name)):
        if part[1][0] in Token.Operator and part[1][1] in (":=",):
            return _NOTHING
        return _primary(session, part, 0)
    return _NOTHING


def selectors_of(value: Any) -> list[tuple[str, str]]:
    """``(selector, meta)`` pairs a value understands: own slots first, then inherited
    (prototypes), or the core protocol of a Python value."""
    from batos.image.method import Method
    from batos.image.proto import Proto, is_parent_slot
    out: list[tuple[str, str]] = []
    if isinstance(value, Proto):
        for info in value.slots():  # loads ghost ancestors as it walks
            if is_parent_slot(info.name):
                continue
            owner = "" if not info.inherited else info.owner._display()
            if isinstance(info.value, Method):
                out.append((_method_selector(info.name, info.value), owner or "method"))
            else:
                out.append((info.name, owner or "data slot"))
                out.append((info.name + ":", owner or "data slot"))
    try:
        from batos.lang.primitives import selectors_for
    except ImportError:
        return out
    seen = {s for s, _ in out}
    for selector in _protocol(value, selectors_for):
        if selector not in seen:
            seen.add(selector)
            out.append((selector, "protocol" if isinstance(value, Proto) else _class_name(value)))
    return out


def _class_name(value: Any) -> str:
    try:
        from batos.lang.values import class_name_of
        return str(class_name_of(value))
    except Exception:
        return type(value).__name__


def _protocol(value: Any, selectors_for: Any) -> list[str]:
    """The core protocol of ``value``; for a prototype only the part every object
    understands (its slots are listed already, without loading each Method)."""
    from batos.image.proto import Proto
    if isinstance(value, Proto):
        try:
            from batos.lang.primitives import _object_table
            return sorted(_object_table())
        except ImportError:
            pass
    return list(selectors_for(value))


def _method_selector(name: str, method: Any) -> str:
    if not name.endswith("_") or name.count("_") == 1 or name == "doesNotUnderstand_":
        return name[:-1] + ":" if name.endswith("_") and name != "doesNotUnderstand_" else name
    return str(getattr(method, "selector", name))  # ambiguous name: read the Method


class BSTCompleter(Completer):
    """prompt-toolkit completer over a :class:`ReplSession`'s image."""

    def __init__(self, session: "ReplSession") -> None:
        self.session = session

    def get_completions(self, document: Document,
                        complete_event: CompleteEvent) -> Iterable[Completion]:
        try:
            yield from list(self._completions(document))
        except Exception:
            debug_log().exception("completion failed for %r", document.text_before_cursor)

    def _completions(self, document: Document) -> Iterator[Completion]:
        from batos.repl.statements import is_command
        before = document.text_before_cursor
        if is_command(document.text):
            yield from self._command_completions(before)
            return
        if _inside_literal(before):
            return
        word = _WORD.search(before).group(0)  # type: ignore[union-attr]
        head = before[: len(before) - len(word)]
        if head and head[-1] in "#$":
            return
        tokens = _significant(head)
        continuations: list[Completion] = []
        if tokens and _operand_end(*tokens[-1]):
            continuations = list(self._keyword_continuations(tokens, word))
            yield from continuations
        receiver = resolve_receiver(self.session, head)
        if receiver is not _NOTHING:
            yield from _matching(word, selectors_of(receiver), keyword=True,
                                 fuzzy=not continuations)
        elif not tokens or not _operand_end(*tokens[-1]):
            yield from _matching(word, self._names(document.text), keyword=False)

    def _keyword_continuations(self, tokens: list[tuple[Any, str]],
                               word: str) -> Iterator[Completion]:
        """For ``dict at: 1 pu``: the next keyword of the message being written (``put:``)."""
        found = _keyword_message(tokens)
        if found is None:
            return
        end, parts = found
        receiver = _primary(self.session, tokens, end)
        if receiver is _NOTHING:
            return
        typed = "".join(parts)
        for selector, meta in selectors_of(receiver):
            if selector.startswith(typed + word) and selector.count(":") > len(parts):
                nxt = selector[len(typed):].split(":", 1)[0] + ":"
                yield Completion(nxt + " ", -len(word), display=selector, display_meta=meta)

    def _names(self, text: str) -> list[tuple[str, str]]:
        image = self.session.image
        names = [(n, "variable") for n in sorted(image.workspace)]
        names += [(n, "temporary") for n in _temporaries(text)]
        names += [(n, "global") for n in image.globals]
        names += [(n, "pseudo-variable") for n in PSEUDO]
        names += [(n, "built-in") for n in sorted(_builtins(self.session))]
        return names

    def _command_completions(self, before: str) -> Iterator[Completion]:
        from batos.repl.commands import commands, find
        text = before.lstrip()[1:]
        if " " not in text:
            for each in commands():
                if each.name.startswith(text):
                    yield Completion(each.name, -len(text), display=":" + each.name,
                                     display_meta=each.help[:40])
            return
        name, _, rest = text.partition(" ")
        command = find(name)
        if command is None:
            return
        if command.name == "debug":
            yield from _matching(rest.strip(), [("on", ""), ("off", "")], keyword=False)
        elif command.name in ("inspect", "source", "audit"):
            yield from self._completions(Document(rest, len(rest)))


def _temporaries(text: str) -> list[str]:
    names: list[str] = []
    for decl in re.findall(r"\|([A-Za-z_0-9\s]*)\|", text):
        names += decl.split()
    names += re.findall(r"\[\s*(?::[A-Za-z_][A-Za-z0-9_]*\s*)*:([A-Za-z_][A-Za-z0-9_]*)", text)
    names += re.findall(r"(?<![:\w])([A-Za-z_][A-Za-z0-9_]*)\s*:=", text)
    return list(dict.fromkeys(names))


def _matching(word: str, candidates: list[tuple[str, str]], *, keyword: bool,
              fuzzy: bool = True) -> Iterator[Completion]:
    """Candidates starting with ``word`` (or, when none does and ``fuzzy``, containing it)."""
    seen: set[str] = set()
    lower = word.lower()
    ranked = [c for c in candidates if c[0].startswith(word)]
    if fuzzy and not ranked and len(word) >= 2:
        ranked += [c for c in candidates if lower in c[0].lower() and not c[0].startswith(word)]
    for selector, meta in ranked:
        if selector in seen or selector == word:
            continue
        seen.add(selector)
        insert = selector
        if keyword and selector.count(":") > 1:
            insert = selector.split(":", 1)[0] + ": "
        elif keyword and selector.endswith(":"):
            insert = selector + " "
        yield Completion(insert, -len(word), display=selector, display_meta=meta)
