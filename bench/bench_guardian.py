"""Guardian benchmarks, printed as ratios against their goals (a plain script).

    python bench/bench_guardian.py

- audit time per 50-line method (goal < 5 ms)
- the red-team corpus, audit time per method
- a compiled method's call cost vs a plain Python method (goal <= 5x)
- check_storable on a typical slot value, and one limits() enter/exit
"""
from __future__ import annotations

import ast
import importlib.util
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from batos.guardian import audit, check_storable, compile_method  # noqa: E402
from batos.guardian.limits import limits  # noqa: E402

METHOD_50 = '''\
def summarise(self, records, top=5):
    """Summarise records into counts, totals and a small report."""
    import statistics
    import re
    from collections import Counter
    counts = Counter()
    totals = {}
    words = []
    for record in records:
        name = record.get('name', '').strip().lower()
        if not name:
            continue
        counts[name] += 1
        amount = float(record.get('amount', 0))
        totals[name] = totals.get(name, 0.0) + amount
        for word in re.findall(r"[a-z]+", record.get('note', '').lower()):
            if len(word) > 3:
                words.append(word)
    if not counts:
        return {'count': 0}
    amounts = sorted(totals.values())
    mean = statistics.mean(amounts)
    median = statistics.median(amounts)
    spread = max(amounts) - min(amounts)
    best = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    lines = []
    for rank, (name, total) in enumerate(best, start=1):
        share = total / sum(amounts) if sum(amounts) else 0.0
        lines.append(f"{rank}. {name:<12} {total:>10.2f} ({share:.0%})")
    common = [w for w, _ in Counter(words).most_common(top)]
    longest = max(common, key=len, default='')
    report = {
        'count': sum(counts.values()),
        'people': len(counts),
        'mean': round(mean, 2),
        'median': round(median, 2),
        'spread': round(spread, 2),
        'best': best,
        'words': common,
        'longest': longest,
        'lines': len(lines),
        'text': '\\n'.join(lines),
    }
    self.last_report = report
    self.history.append(report['count'])
    if len(self.history) > 100:
        del self.history[0]
    self.runs += 1
    self._p_changed = True
    return report
'''


def per_call(fn, n: int) -> float:  # noqa: ANN001
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return best


def main() -> None:
    lines = METHOD_50.count("\n")
    assert audit(METHOD_50).accepted, audit(METHOD_50).findings
    t_audit = per_call(lambda: audit(METHOD_50), 100)
    t_parse = per_call(lambda: ast.parse(METHOD_50), 100)
    print(f"audit, {lines}-line method: {t_audit * 1e3:.2f} ms "
          f"(goal < 5 ms: ratio {t_audit / 5e-3:.2f} of goal; "
          f"{t_audit / t_parse:.1f}x a bare ast.parse of it, a load-independent anchor)")

    spec = importlib.util.spec_from_file_location("corpus", ROOT / "tests/redteam/corpus.py")
    corpus = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(corpus)  # type: ignore[union-attr]
    sources = [s for _, _, s in corpus.load("malicious") + corpus.load("benign")]
    t0 = time.perf_counter()
    for s in sources:
        audit(s)
    t_corpus = (time.perf_counter() - t0) / len(sources)
    print(f"audit, red-team corpus ({len(sources)} methods): {t_corpus * 1e3:.2f} ms/method")

    class Plain:
        count = 0

        def inc(self):  # noqa: ANN201
            self.count += 1
            return self.count

    sandboxed = compile_method("def inc(self):\n    self.count += 1\n"
                               "    self._p_changed = True\n    return self.count\n")
    obj = Plain()
    n = 200_000
    inc = Plain.inc
    t_plain = per_call(lambda: inc(obj), n)
    t_sand = per_call(lambda: sandboxed(obj), n)
    print(f"call, plain Python method: {t_plain * 1e9:.0f} ns; sandboxed method: "
          f"{t_sand * 1e9:.0f} ns (ratio {t_sand / t_plain:.2f}x, goal <= 5x)")

    t_compile = per_call(lambda: compile_method(METHOD_50), 50)
    print(f"compile_method, {lines}-line method: {t_compile * 1e3:.2f} ms")

    value = {"name": "x", "items": list(range(100)), "tags": {"a", "b"}, "pos": (1.5, 2.5)}
    t_store = per_call(lambda: check_storable(value), 2000)
    t_atom = per_call(lambda: check_storable(42), 100_000)
    print(f"check_storable: int {t_atom * 1e9:.0f} ns; 100-item dict/list value "
          f"{t_store * 1e6:.1f} us")

    work = compile_method("def work(self):\n    return sum([i * i for i in range(20000)])\n")
    t_free = per_call(lambda: work(None), 50)
    for probe in ("rss", "tracemalloc"):
        def guarded() -> None:
            with limits(timeout=5.0, memory_probe=probe):
                pass

        def under_limits() -> None:
            with limits(timeout=5.0, memory_probe=probe):
                work(None)
        t_lim = per_call(guarded, 1000)
        t_lim_work = per_call(under_limits, 50)
        print(f"limits(memory_probe={probe!r}): enter+exit {t_lim * 1e6:.1f} us; "
              f"allocation-heavy method under limits vs bare: ratio {t_lim_work / t_free:.2f}x")


if __name__ == "__main__":
    main()
