"""The method source in a model's answer: the pre-filled ``def`` line plus what the model
wrote, cut where the function ends, with the needless statements the guardian would
reject taken out (only removed, never added: the audit then sees what is left)."""
from __future__ import annotations

import ast


def extract_code(prefix: str, completion: str) -> str:
    """The method source from the pre-filled start plus the model's continuation.

    Drops a closing fence and anything after the function body (usage examples,
    prose); keeps a trailing newline.
    """
    text = prefix.split("```python\n", 1)[-1] + completion
    text = text.split("```", 1)[0]
    lines = text.splitlines()
    kept: list[str] = []
    for i, line in enumerate(lines):
        if i > 0 and line.strip() and not line[:1].isspace():
            break  # back at top level: the def has ended
        kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    return drop_foreign_p_changed("\n".join(kept) + "\n")


def drop_foreign_p_changed(code: str) -> str:
    """``code`` without its one-line ``other._p_changed = …`` statements: the model
    writes them after changing an object it holds (``account._p_changed = True``), the
    guardian rejects any private attribute but ``self._p_changed``, and a prototype
    records its own slot writes anyway. Only whole statements are removed (a block left
    empty gets ``pass``), so nothing the audit sees is added; unparsable code is kept."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return code
    drop: set[int] = set()
    starts: dict[int, list[ast.stmt]] = {}   # line → the statements that begin on it
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt):
            continue
        starts.setdefault(node.lineno, []).append(node)
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Attribute)
                and node.targets[0].attr == "_p_changed"
                and isinstance(node.targets[0].value, ast.Name)
                and node.targets[0].value.id != "self"
                and node.lineno == node.end_lineno):
            drop.add(node.lineno)
    lines = code.splitlines()
    drop = {n for n in drop if _whole_line(lines[n - 1], starts[n])}
    if not drop:
        return code
    out: list[str] = []
    for number, line in enumerate(lines, 1):
        if number not in drop:
            out.append(line)
            continue
        indent = line[:len(line) - len(line.lstrip())]
        following = next((x for x in lines[number:] if x.strip()), "")
        if len(following) - len(following.lstrip()) < len(indent) and (
                not out or out[-1].rstrip().endswith(":")):
            out.append(indent + "pass")  # it was the block's only statement
    return "\n".join(out) + "\n"


def _whole_line(line: str, starts: list[ast.stmt]) -> bool:
    """Whether ``line``, where the statements ``starts`` begin, holds exactly one statement
    (no ``a = 1; x._p_changed = True``, no ``if c: x._p_changed = True``)."""
    raw = line.encode()  # ast offsets count UTF-8 bytes
    if len(starts) != 1 or starts[0].end_col_offset is None:
        return False
    rest = raw[starts[0].end_col_offset:].strip()
    return (starts[0].col_offset == len(raw) - len(raw.lstrip())
            and (not rest or rest.startswith(b"#")))
