"""Open an image the way the next batos process would, and describe it.

Run as ``python probe.py IMAGE [HEALTH_JSON [verify]]``; prints one JSON object:
``{"ok", "error", "digest": {path: text}, "health": {expr: [ok, printString]}}``;
HEALTH_JSON maps a BST expression to its expected printString, or to null when it
must fail with an ordinary "does not understand" error.

The digest is a read-only walk of the object graph from the ZODB root: every
persistent object once (breadth first, keys in sorted order, so each object is
named by its shortest path), each Proto as its name and slot names plus one
entry per slot (methods by selector, language, source hash and provenance), the
containers by their items.  Values of foreign types are described by their type
name only (no ``repr`` of an unknown object is ever called).  After the digest,
the health expressions are evaluated without committing (the image is open
read-only), as a user's next statements would.  With ``verify``, the image is then
closed and ``batos image verify`` runs in this same process (the CLI command itself,
saving a process start per attack): ``"verify": [exit code, output]``.
"""
from __future__ import annotations

import hashlib
import json
import sys
import traceback
from collections import deque
from typing import Any

MAX_TEXT = 240
ATOMS = (int, float, complex, bool, type(None), str, bytes)


def _short(text: str) -> str:
    if len(text) <= MAX_TEXT:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]
    return f"{text[:MAX_TEXT]}...<{len(text)} chars sha {digest}>"


class Walker:
    """Breadth-first, read-only description of everything reachable from the root."""

    def __init__(self) -> None:
        from persistent import Persistent
        self.persistent = Persistent
        self.names: dict[int, str] = {}     # id(persistent obj) -> path of first sight
        self.queue: deque[tuple[str, Any]] = deque()
        self.digest: dict[str, str] = {}

    def ref(self, obj: Any, path: str) -> str:
        key = id(obj)
        if key not in self.names:
            self.names[key] = path
            self.queue.append((path, obj))
        return f"@{self.names[key]}"

    def value(self, v: Any, path: str, depth: int = 0) -> str:
        """One value as stable text; persistent objects become references."""
        t = type(v)
        if isinstance(v, self.persistent):
            return self.ref(v, path)
        if t in ATOMS:
            return _short(f"{t.__name__}:{v!r}")
        if depth > 12:
            return "<too deep>"
        if t in (list, tuple, set, frozenset):
            items = list(v)
            if t in (set, frozenset):
                items = sorted(items, key=lambda x: repr(x) if type(x) in ATOMS else t.__name__)
            inner = ", ".join(self.value(x, f"{path}[{i}]", depth + 1) for i, x in enumerate(items[:200]))
            return _short(f"{t.__name__}[{inner}]")
        if t is dict:
            keys = sorted(v, key=repr)
            inner = ", ".join(f"{k!r}: {self.value(v[k], f'{path}[{k!r}]', depth + 1)}"
                              for k in keys[:200])
            return _short(f"dict{{{inner}}}")
        mod = getattr(t, "__module__", "?")
        name = getattr(t, "__qualname__", "?")
        if mod == "batos.lang.values" and name in ("Symbol", "Point", "Character"):
            try:
                state = v.__getstate__() if name == "Point" else str.__str__(v) if name == "Symbol" \
                    else getattr(v, "value", None)
                return _short(f"{name}:{self.value(state, path, depth + 1)}")
            except Exception as exc:  # noqa: BLE001
                return f"<{name} unreadable: {type(exc).__name__}>"
        if mod in ("fractions", "decimal", "datetime"):
            return _short(f"{name}:{str(v)}")
        return f"<foreign {mod}.{name}>"

    def visit(self, path: str, obj: Any) -> None:
        t = type(obj)
        tname = f"{t.__module__}.{t.__qualname__}"
        try:
            obj._p_activate()
        except Exception as exc:  # noqa: BLE001
            self.digest[path] = f"UNLOADABLE {tname}: {type(exc).__name__}: {exc}"[:MAX_TEXT]
            return
        if tname == "batos.image.proto.Proto":
            d = obj.__dict__
            slots = d.get("_slots")
            if type(slots) is not dict:
                self.digest[path] = f"CORRUPT Proto _slots is {type(slots).__name__}"
                return
            self.digest[path] = _short(f"Proto name={d.get('_name')!r} slots={list(slots)!r}")
            for key in slots:
                self.digest[f"{path}.{key}"] = self.value(slots[key], f"{path}.{key}")
            return
        if tname == "batos.image.method.Method":
            d = obj.__dict__
            source = d.get("source")
            src = source if isinstance(source, str) else repr(type(source))
            sha = hashlib.sha256(src.encode("utf-8", "replace")).hexdigest()[:16]
            prov = d.get("provenance")
            prov_text = self.value(dict(prov.items()) if hasattr(prov, "items") else prov,
                                   f"{path}.provenance")
            self.digest[path] = _short(
                f"Method #{d.get('selector')} {d.get('language')} sha={sha} "
                f"src={src[:60]!r} prov={prov_text} keys={sorted(k for k in d if not k.startswith('_p_'))}")
            return
        if hasattr(obj, "items") and callable(obj.items):
            try:
                items = list(obj.items())
            except Exception as exc:  # noqa: BLE001
                self.digest[path] = f"UNREADABLE {tname}: {type(exc).__name__}"
                return
            if not (t.__module__.startswith("BTrees")):
                items.sort(key=lambda kv: repr(kv[0]))
            parts = [f"{k!r}: {self.value(v, f'{path}/{k}')}" for k, v in items[:500]]
            self.digest[path] = _short(f"{tname}({len(items)}) {{{', '.join(parts)}}}")
            return
        data = getattr(obj, "data", None)
        if isinstance(data, (list, set, frozenset)) or t.__qualname__ in ("PersistentList",):
            seq = list(obj)
            parts = [self.value(v, f"{path}[{i}]") for i, v in enumerate(seq[:500])]
            self.digest[path] = _short(f"{tname}({len(seq)}) [{', '.join(parts)}]")
            return
        state = obj.__getstate__() if hasattr(obj, "__getstate__") else None
        self.digest[path] = _short(f"{tname} state={self.value(state, path + '~')}")

    def run(self, root: Any) -> dict[str, str]:
        self.ref(root, "root")
        while self.queue:
            path, obj = self.queue.popleft()
            self.visit(path, obj)
        return self.digest


def main(argv: list[str]) -> int:
    path = argv[1]
    health: dict[str, str | None] = json.loads(argv[2]) if len(argv) > 2 else {}
    out: dict[str, Any] = {"ok": False, "error": None, "digest": {}, "health": {}}
    try:
        import batos
        image = batos.open_image(path, read_only=True)
    except BaseException as exc:  # noqa: BLE001
        out["error"] = f"open: {type(exc).__name__}: {exc}"[:600]
        if len(argv) > 3 and argv[3] == "verify":
            out["verify"] = verify(path)
        print(json.dumps(out))
        return 0
    try:
        out["digest"] = Walker().run(image.root)
        for expr, expected in health.items():
            try:
                value = image.execute(lambda e=expr: image.evaluate(e), note="probe", save=False,
                                      timeout=5.0)
                text = image.print_string(value)
                out["health"][expr] = [text == expected, text[:300]]
            except BaseException as exc:  # noqa: BLE001
                message = f"{type(exc).__name__}: {exc}"
                # None: the expression must fail as an ordinary "does not understand"
                out["health"][expr] = [expected is None and "does not understand" in message,
                                       message[:300]]
        out["ok"] = True
    except BaseException as exc:  # noqa: BLE001
        out["error"] = f"walk: {type(exc).__name__}: {exc}\n{traceback.format_exc()[-600:]}"
    finally:
        try:
            image.close()
        except BaseException:  # noqa: BLE001
            pass
    if len(argv) > 3 and argv[3] == "verify":
        out["verify"] = verify(path)
    print(json.dumps(out))
    return 0


def verify(path: str) -> list:
    """``batos image verify -i PATH`` in-process: [exit code, its output]."""
    import contextlib
    import io
    buf = io.StringIO()
    code: object = 0
    try:
        from batos.cli.main import app
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            app(["image", "verify", "-i", path], standalone_mode=False)
    except SystemExit as exc:
        code = exc.code
    except BaseException as exc:  # noqa: BLE001
        code, _ = 1, buf.write(f"{type(exc).__name__}: {exc}")
    return [code if isinstance(code, int) else (0 if code is None else 1), buf.getvalue()[-800:]]


if __name__ == "__main__":
    sys.exit(main(sys.argv))
