"""Time travel speed, side by side with raw ZODB on the same file.

    python bench/bench_past.py [--txns 100000] [--revisions 1000] [--keep DIR]

An image with N transactions (default 100,000; built with plain commits on a batos
image: each writes one slot of one of 100 prototypes, and every N/revisions-th writes
``counter.n``, so ``counter.n`` has ~1,000 revisions spread over the whole file):

* historical open + reading one object: ``past.open_at`` + a global's slot vs
  ``db.open(at=)`` + ``conn.get(oid)`` (goal ≤ 3× raw);
* the history of one slot across 1,000 revisions, values decoded: ``past.slot_history``
  vs ``storage.history(oid, 1000)`` (goal ≤ 3× raw);
* a diff of two adjacent transactions (goal ≤ 20 ms).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import batos  # noqa: E402
from batos.image import past  # noqa: E402


def timed(fn: Callable[[], Any], repeat: int) -> float:
    """Median seconds of ``fn`` over ``repeat`` runs (after one warm-up)."""
    fn()
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def build(path: Path, txns: int, revisions: int) -> None:
    t0 = time.perf_counter()
    with batos.open_image(path) as im:
        others = []
        for i in range(100):
            p = im.globals["genesis"].clone()
            im.globals[f"p{i}"] = p
            p.set_slot("v", 0)
            others.append(p)
        counter = im.globals["genesis"].clone()
        im.globals["counter"] = counter
        counter.set_slot("n", 0)
        im.commit("setup")
        every = max(txns // revisions, 1)
        txn = im.tm.get
        for i in range(1, txns + 1):
            if i % every == 0:
                counter.set_slot("n", i)
                txn().note(f"counter n {i}")
            else:
                others[i % 100].set_slot("v", i)
                txn().note(f"p v {i}")
            txn().commit()
    print(f"built {txns:,} transactions in {time.perf_counter() - t0:.1f} s "
          f"({path.stat().st_size / 1e6:.1f} MB)")


def bench(path: Path, revisions: int) -> dict[str, float]:
    import transaction
    with batos.open_image(path) as im:
        storage, db = im.storage, im.db
        counter = im.globals["counter"]
        oid = counter._p_oid
        hist = storage.history(oid, size=revisions)
        mid = hist[len(hist) // 2]["tid"]
        mid_id = past.tid_id(mid)

        t0 = time.perf_counter()
        past.describe_when(im, mid)  # the first look scans the transaction headers once
        t_index = time.perf_counter() - t0

        def raw_open() -> Any:
            conn = db.open(transaction_manager=transaction.TransactionManager(), at=mid)
            try:
                obj = conn.get(oid)
                obj._p_activate()
                return obj._slots["n"]
            finally:
                conn.close()

        def batos_open() -> Any:
            with past.open_at(im, mid_id) as view:
                return view.globals["counter"].n

        assert raw_open() == batos_open()
        r_open, b_open = timed(raw_open, 200), timed(batos_open, 200)

        def raw_history() -> Any:
            return storage.history(oid, size=revisions)

        def batos_history() -> Any:
            return past.slot_history(im, counter, "n", limit=revisions)

        n_recs = len(batos_history())
        r_hist, b_hist = timed(raw_history, 5), timed(batos_history, 5)

        d = past.diff(im, mid)  # a transaction in the middle of the file vs the one before
        assert d["objects"], d
        b_diff = timed(lambda: past.diff(im, mid), 50)
        prev = hist[1]["tid"]
        b_diff2 = timed(lambda: past.diff(im, prev, hist[0]["tid"]), 20)

    print(f"first transaction lookup in this process (one scan of the headers): "
          f"{t_index * 1e3:.0f} ms")
    print(f"historical open + read one object: raw {r_open * 1e3:.3f} ms, batos "
          f"{b_open * 1e3:.3f} ms → {b_open / r_open:.2f}× (goal ≤ 3×)")
    print(f"history of one slot, {n_recs} changes over {revisions} revisions: raw "
          f"storage.history {r_hist * 1e3:.1f} ms, batos slot_history (decoded) "
          f"{b_hist * 1e3:.1f} ms → {b_hist / r_hist:.2f}× (goal ≤ 3×)")
    print(f"diff of two adjacent transactions (one mid-file transaction vs the one before): "
          f"{b_diff * 1e3:.2f} ms (goal ≤ 20 ms)")
    print(f"diff across ~100 transactions (two adjacent revisions of counter): "
          f"{b_diff2 * 1e3:.2f} ms")
    return {"open_ratio": b_open / r_open, "history_ratio": b_hist / r_hist,
            "diff_ms": b_diff * 1e3}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--txns", type=int, default=100_000)
    ap.add_argument("--revisions", type=int, default=1000)
    ap.add_argument("--keep", type=Path, default=None)
    args = ap.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="batos-bench-past-"))
    base.mkdir(parents=True, exist_ok=True)
    path = base / "past.fs"
    if not path.exists():
        build(path, args.txns, args.revisions)
    t0 = time.perf_counter()
    bench(path, args.revisions)
    print(f"measured in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
