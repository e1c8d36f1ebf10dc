"""Benchmark: the image's knowledge catalog against SQLite FTS5 on the same chunks.

Corpus: every docstring of the Python standard library found on this machine
(modules, classes, functions and methods of the pure-Python modules, read with
``ast`` — nothing is imported, so no module runs), one document per docstring, id
``module.Qual.name``. Both engines get exactly the same indexed units (the
catalog's chunks and document summaries).

Printed as ratios against FTS5 (goals from issue 8):

* warm query time, catalog / FTS5                      goal ≤ 1×
* first query after reopening the image, catalog / FTS5  goal ≤ 5×
* ingest rate incl. the commit, catalog / FTS5           goal ≥ 0.2×
* recall@5 (document level) on QUERIES below, both engines

Run:  python bench/bench_catalog.py [--limit N] [--queries-only]
"""
from __future__ import annotations

import argparse
import ast
import gc
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

# (query, expected document ids: a hit on any counts)
QUERIES: list[tuple[str, tuple[str, ...]]] = [
    ("serialize obj to a JSON formatted str", ("json.dumps", "json.encoder.JSONEncoder.encode")),
    ("deserialize JSON document to a Python object", ("json.loads", "json.load")),
    ("return the greatest common divisor", ("fractions._gcd", "math.gcd")),
    ("shallow copy operation", ("copy.copy",)),
    ("deep copy operation on arbitrary Python objects", ("copy.deepcopy", "copy")),
    ("parse a URL into six components", ("urllib.parse.urlparse",)),
    ("recursive directory tree copy", ("shutil.copytree",)),
    ("execute a child program in a new process", ("subprocess.Popen", "subprocess")),
    ("heap queue algorithm priority queue", ("heapq",)),
    ("Return a randomly selected element from range", ("random.Random.randrange",
                                                      "random.Random.choice")),
    ("shuffle list x in place", ("random.Random.shuffle",)),
    ("pretty print a Python data structure", ("pprint", "pprint.pprint", "pprint.pformat")),
    ("split the pathname path into a pair head tail", ("posixpath.split", "ntpath.split")),
    ("temporary directory created securely", ("tempfile.mkdtemp", "tempfile.TemporaryDirectory")),
    ("compute the difference between two sequences of lines unified diff",
     ("difflib.unified_diff",)),
    ("regular expression compile pattern object", ("re.compile", "re")),
    ("base64 encode bytes-like object", ("base64.b64encode", "base64.standard_b64encode")),
    ("parse command line options and arguments", ("argparse", "argparse.ArgumentParser",
                                                  "getopt", "optparse")),
    ("named tuple factory function subclasses with named fields", ("collections.namedtuple",)),
    ("decorator wraps update a wrapper function to look like the wrapped function",
     ("functools.update_wrapper", "functools.wraps")),
    ("least recently used cache decorator", ("functools.lru_cache",)),
    ("thread synchronization lock acquire release", ("threading.Lock", "threading.RLock",
                                                    "threading._RLock", "threading.Condition",
                                                    "threading.Semaphore")),
    ("read and write tar archive files", ("tarfile", "tarfile.TarFile", "tarfile.open")),
    ("create a ZIP file archive", ("zipfile.ZipFile", "zipfile", "shutil.make_archive")),
    ("calendar printing month", ("calendar.TextCalendar.prmonth", "calendar.month",
                                 "calendar.TextCalendar.formatmonth", "calendar")),
    ("send an email message over SMTP", ("smtplib.SMTP.send_message", "smtplib.SMTP.sendmail",
                                         "smtplib")),
    ("abstract base classes metaclass", ("abc.ABCMeta", "abc")),
    ("context manager decorator generator", ("contextlib.contextmanager",)),
]


# --- corpus -----------------------------------------------------------------------

# Source files are parsed, never run; only these are left out (tests are skipped too).
SKIP = {"antigravity", "this", "test"}
# Compiled modules are imported (they run no Python code) for their docstrings.
SKIP_COMPILED = {"_tkinter", "readline", "_curses", "_curses_panel", "_ctypes_test",
                 "_testcapi", "_testinternalcapi", "_testbuffer", "_testimportmultiple",
                 "_testmultiphase", "_xxtestfuzz", "_xxsubinterpreters", "xxlimited"}


def stdlib_docstrings(limit: int | None = None) -> list[tuple[str, str]]:
    """(qualified name, docstring) for the standard library: Python sources via ``ast``,
    compiled modules by import, and the reference topics of ``pydoc_data``."""
    import importlib.util
    docs: list[tuple[str, str]] = []
    for top in sorted(sys.stdlib_module_names):
        if top in SKIP:
            continue
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            continue
        if spec is None or not spec.origin:
            continue
        if spec.origin.endswith(".py"):
            for name, path in _module_files(top, Path(spec.origin)):
                docs.extend(_docstrings(name, path))
        elif top not in SKIP_COMPILED:
            docs.extend(_compiled_docstrings(top))
        if limit and len(docs) >= limit:
            return docs[:limit]
    try:
        from pydoc_data.topics import topics
        docs.extend((f"reference.{name}", text) for name, text in sorted(topics.items()))
    except ImportError:
        pass
    seen: set[str] = set()
    unique = []
    for name, text in docs:  # a few names are defined twice (properties, fallbacks)
        if name not in seen:
            seen.add(name)
            unique.append((name, text))
    return unique[:limit] if limit else unique


def _compiled_docstrings(module_name: str) -> Iterator[tuple[str, str]]:
    import importlib
    import inspect
    try:
        module = importlib.import_module(module_name)
    except Exception:
        return
    if module.__doc__:
        yield module_name, inspect.cleandoc(module.__doc__)
    for attr, value in sorted(vars(module).items()):
        if attr.startswith("__") or not (inspect.isbuiltin(value) or inspect.isclass(value)):
            continue
        if getattr(value, "__module__", module_name) not in (module_name, "builtins"):
            continue
        doc = value.__doc__
        if isinstance(doc, str) and doc.strip():
            yield f"{module_name}.{attr}", inspect.cleandoc(doc)
        if inspect.isclass(value):
            for meth, member in sorted(vars(value).items()):
                doc = getattr(member, "__doc__", None)
                if meth.startswith("__") or not isinstance(doc, str) or not doc.strip():
                    continue
                yield f"{module_name}.{attr}.{meth}", inspect.cleandoc(doc)


def _module_files(top: str, origin: Path) -> Iterator[tuple[str, Path]]:
    if origin.name != "__init__.py":
        yield top, origin
        return
    root = origin.parent
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        if any(p in ("test", "tests") or p.startswith("test_") for p in parts):
            continue
        yield ".".join([top, *parts]), path


def _docstrings(module: str, path: Path) -> Iterator[tuple[str, str]]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, OSError):
        return
    doc = ast.get_docstring(tree)
    if doc:
        yield module, doc
    stack: list[tuple[str, ast.AST]] = [(module, tree)]
    while stack:
        prefix, node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}.{child.name}"
                doc = ast.get_docstring(child)
                if doc:
                    yield name, doc
                if isinstance(child, ast.ClassDef):
                    stack.append((name, child))
