"""Living-image speed, printed as ratios against the issue's anchors.

    python bench/bench_image.py [--objects 1000000] [--keep DIR]

* method call in own slots vs a plain Python method call (goal ≤ 5×; the seeds'
  ``__getattr__`` design: 52×), and three parents up (goal ≤ 10×; seeds: 145×);
* 1,000 single-slot-write transactions vs raw ZODB commits on the same kind of
  storage (goal ≥ 0.7×);
* opening an image with N (default 1,000,000) objects and sending one message
  in a fresh process (goal < 1 s).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import batos  # noqa: E402
from batos.image.proto import Proto  # noqa: E402


def best(stmt: str, glb: dict, number: int = 200_000, repeat: int = 5) -> float:
    return min(timeit.repeat(stmt, globals=glb, number=number, repeat=repeat)) / number


def bench_calls(tmp: Path) -> None:
    class Plain:
        def m(self) -> int:
            return 1

    plain = Plain()
    with batos.open_image(tmp / "calls.fs") as im:
        own = im.globals["genesis"].clone()
        own.define("m", "def m(self):\n    return 1\n")
        p1 = Proto(); p1.set_slot("parent*", own)
        p2 = Proto(); p2.set_slot("parent*", p1)
        up3 = Proto(); up3.set_slot("parent*", p2)
        im.globals["own"] = own
        im.commit("bench")
        t_plain = best("o.m()", {"o": plain})
        t_own = best("o.m()", {"o": own})
        t_up3 = best("o.m()", {"o": up3})
        t_send = best("o.send('m')", {"o": own})
    print(f"plain Python method call      {t_plain * 1e9:8.1f} ns")
    print(f"own-slot method call          {t_own * 1e9:8.1f} ns  ratio {t_own / t_plain:5.1f}x "
          f"(goal <= 5x; seeds 52x)")
    print(f"method three parents up       {t_up3 * 1e9:8.1f} ns  ratio {t_up3 / t_plain:5.1f}x "
          f"(goal <= 10x; seeds 145x)")
    print(f"obj.send('m')                 {t_send * 1e9:8.1f} ns  ratio {t_send / t_plain:5.1f}x")


def bench_commits(tmp: Path, n: int = 1000, rounds: int = 3) -> None:
    """Best of ``rounds`` for each side, interleaved, so machine noise hits both alike."""
    import transaction
    import ZODB
    from ZODB.FileStorage import FileStorage
    from persistent.mapping import PersistentMapping

    def raw_round(k: int) -> float:
        raw_path = tmp / f"raw{k}.fs"
        db = ZODB.DB(FileStorage(str(raw_path), blob_dir=str(raw_path) + ".blobs"))
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        obj = conn.root()["obj"] = PersistentMapping()
        tm.commit()
        t0 = time.perf_counter()
        for i in range(n):
            obj["count"] = i
            tm.get().note(f"raw {i}")
            tm.commit()
        rate = n / (time.perf_counter() - t0)
        conn.close(); db.close()
        return rate

    def ours_round(k: int) -> float:
        with batos.open_image(tmp / f"commits{k}.fs") as im:
            counter = im.globals["genesis"].clone()
            im.globals["counter"] = counter
            im.commit("counter")
            t0 = time.perf_counter()
            for i in range(n):
                im.execute(lambda: counter.set_slot("count", i), note=f"set count {i}")
            return n / (time.perf_counter() - t0)

    raws, ours = [], []
    for k in range(rounds):
        raws.append(raw_round(k))
        ours.append(ours_round(k))
    raw, mine = max(raws), max(ours)
    print(f"raw ZODB commits/s            {raw:8.0f}  (best of {rounds})")
    print(f"batos slot-write txns/s       {mine:8.0f}  ratio {mine / raw:5.2f}x (goal >= 0.7x)")


def build_big(path: Path, objects: int) -> None:
    from BTrees.IOBTree import IOBTree
    with batos.open_image(path) as im:
        traits = im.globals["traits"]
        tree = IOBTree()
        im.globals["population"] = tree
        im.globals["genesis"].set_slot("population", tree)
        batch = 50_000
        for start in range(0, objects, batch):
            for i in range(start, min(objects, start + batch)):
                p = Proto()
                p.__dict__["_slots"]["traits*"] = traits
                p.__dict__["_slots"]["n"] = i
                tree[i] = p
            im.commit(f"population {start}")
            im.connection.cacheMinimize()
        im.globals["genesis"].define("census", "def census(self):\n    return self.population.maxKey() + 1\n")
        im.commit("census")


def bench_big_open(tmp: Path, objects: int) -> None:
    path = tmp / f"big{objects}.fs"
    if not path.exists():
        t0 = time.perf_counter()
        build_big(path, objects)
        print(f"(built {objects:,}-object image in {time.perf_counter() - t0:.1f} s)")
    code = ("import time; t0 = time.perf_counter(); import batos; "
            f"im = batos.open_image({str(path)!r}); v = im.globals['genesis'].send('census'); "
            "t = time.perf_counter() - t0; im.close(); print(v, t)")
    times = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        value, seconds = out.stdout.split()
        times.append(float(seconds))
    print(f"open {int(value):,}-object image + one send: {min(times):.3f} s (goal < 1 s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="reuse/keep images in this dir")
    args = parser.parse_args()
    tmp = args.keep or Path(tempfile.mkdtemp(prefix="batos-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    bench_calls(tmp)
    bench_commits(tmp)
    bench_big_open(tmp, args.objects)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
