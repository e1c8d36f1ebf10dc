"""Running one live attack against a fresh image, and judging what happened.

An :class:`Attack` is a payload for one of four entry points a person (or a
method they were given) would use: ``batos run SCRIPT`` (``run``), ``batos repl``
with piped statements (``repl``), ``batos eval EXPR`` (``eval``) or a Python
script using the public API (``py``).  Each attack runs in its own copy of a
template image, in a subprocess with ``BATOS_LLM=off`` and a private HOME and
XDG directories; then the image is reopened by ``probe.py`` in a fresh process
(the moment load-time gadgets fire) and checked with ``batos image verify``.

Placeholders in payloads: ``@M@`` the marker file (an attack that makes it
exists has won), ``@DIR@`` the attack's scratch directory, ``@SECRETVAR@`` the
name of an environment variable holding a secret, ``@SECRETFILE@`` a file
holding another secret, ``@IMAGE@`` the image path.
"""
from __future__ import annotations

import fnmatch
import json
import os
import re
import resource
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
#: the batos tree under attack (default: this checkout); point it at an older tree to
#: check that every attack works against the code it was written for
TARGET = os.environ.get("BATOS_REDTEAM_TARGET") or str(REPO)
PROBE = HERE / "probe.py"
BATOS = [sys.executable, "-c", "import sys; from batos.cli.main import main; sys.exit(main())"]
LIMIT = 1.0              # seconds: the statement limit every attack runs under
HARD = 2 * LIMIT         # the hard deadline for work stuck in C
SLACK = 8.0              # process start, image open, the probe of a killed statement
MEMORY_CAP_MB = 1200     # peak RSS an attack process may reach (cap 512 MB + baseline)
AS_SAFETY = 4 << 30      # soft RLIMIT_AS for every child: an unstopped bomb must not take the machine
SECRET_VAR = "BATOS_REDTEAM_SECRET"

#: printString of the template's objects, checked after every attack
HEALTH = {
    "3 + 4": "7",
    "victim balance": "100",
    "victim describe": "'victim with 100'",
    "(victim deposit: 5) balance": "105",
    "genesis clone printString": "'a Proto'",
    "(genesis clone setSlot: #x value: 1; yourself) x": "1",
    "victim zork: 1": None,          # evaluated: must answer an ordinary error, not run code
}

TEMPLATE_SETUP = r'''
import batos, sys
with batos.open_image(sys.argv[1]) as image:
    g = image.globals
    genesis = g["genesis"]
    victim = genesis.clone()
    g["victim"] = victim
    victim.set_slot("balance", 100)
    victim.set_slot("owner", "alice")
    victim.set_slot("items", [1, 2, 3])
    victim.define("deposit:", "def deposit_(self, amount):\n    self.balance = self.balance + amount\n"
                    "    self._p_changed = True\n    return self\n")
    victim.define("describe", "^'victim with ', balance printString")
    attacker = genesis.clone()
    g["attacker"] = attacker
    attacker.set_slot("note", "scratch object for attacks")
    image.commit("red team template")
'''


@dataclass
class Attack:
    """One runnable attack and what must hold after it."""

    cls: str                      # attack class (summary rows)
    name: str
    what: str
    mode: str                     # run | repl | eval | py | raw (a script outside batos)
    payload: str
    expect: str = "refused"       # refused | harmless | hard-deadline | hostile
    allow: tuple[str, ...] = ("root/globals/attacker*",)   # digest paths that may change
    health: dict[str, str | None] = field(default_factory=dict)
    check: Callable[["Result"], list[str]] | None = None
    timeout: float | None = None  # subprocess wall clock (default by expect)
    memory_mb: int = MEMORY_CAP_MB
    no_escapes: bool = False      # stdout/stderr must carry no ESC/BEL/C1 controls

    @property
    def id(self) -> str:
        return f"{self.cls}:{self.name}"


@dataclass
class Result:
    """What one attack run produced."""

    attack: Attack
    rc: int | None
    signal: int | None
    killed: bool
    wall: float
    peak_mb: float
    stdout: str
    stderr: str
    marker_after_attack: bool
    marker_after_reopen: bool
    probe: dict
    verify_rc: int | None
    verify_out: str
    secret: str
    file_secret: str
    failures: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def child_env(home: Path, secret: str) -> dict[str, str]:
    """A private environment: nothing the child does reaches the user's cache or config."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BATOS_", "XDG_", "PYTEST")) and k not in ("HOME", "COLUMNS")}
    env.update({
        "HOME": str(home), "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_CONFIG_HOME": str(home / "config"), "XDG_STATE_HOME": str(home / "state"),
        "XDG_DATA_HOME": str(home / "data"), "BATOS_LLM": "off", "NO_COLOR": "1",
        "TERM": "dumb", "COLUMNS": "200", "PYTHONPATH": TARGET,
        "BATOS_REPL_CONFIG": str(home / "repl.toml"), "BATOS_KV_DIR": str(home / "kv"),
        SECRET_VAR: secret, "PYTHONDONTWRITEBYTECODE": "1",
    })
    return env


def _limit_child() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY or soft > AS_SAFETY:
        resource.setrlimit(resource.RLIMIT_AS, (AS_SAFETY, hard))
    os.setsid()


def spawn(argv: list[str], *, cwd: Path, env: dict[str, str], stdin: str | None,
          timeout: float) -> tuple[int | None, int | None, bool, float, float, str, str]:
    """Run argv; (rc, signal, killed, wall, peak RSS MB, stdout, stderr).  Output goes to
    files (no pipe deadlock however much is printed); the child is reaped with wait4 so
    its own peak RSS is known."""
    out_path, err_path, in_path = cwd / "stdout.txt", cwd / "stderr.txt", cwd / "stdin.txt"
    in_path.write_text(stdin or "", encoding="utf-8")
    with open(out_path, "wb") as out, open(err_path, "wb") as err, open(in_path, "rb") as inp:
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=inp, stdout=out, stderr=err,
                                preexec_fn=_limit_child)
        killed = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - t0 > timeout:
                killed = True
                try:
                    os.killpg(proc.pid, 9)
                except ProcessLookupError:
                    pass
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        wall = time.monotonic() - t0
        proc.returncode = 0  # reaped here; keep Popen from waiting again
    rc = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    read = lambda p: p.read_bytes()[:200_000].decode("utf-8", "replace")  # noqa: E731
    return rc, sig, killed, wall, usage.ru_maxrss / 1024, read(out_path), read(err_path)


def make_template(root: Path) -> tuple[Path, dict]:
    """The template image (a fresh awakening plus the victim and attacker objects) and its
    probe (digest + health)."""
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    image = root / "template.fs"
    env = child_env(home, "template")
    done = subprocess.run([sys.executable, "-c", TEMPLATE_SETUP, str(image)], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)
    if done.returncode:
        raise RuntimeError(f"template setup failed against {TARGET}:\n{done.stderr[-2000:]}")
    probe = run_probe(image, cwd=root, env=env, health=HEALTH)
    if not probe.get("ok"):
        raise RuntimeError(f"template probe failed: {probe}")
    bad = {k: v for k, v in probe["health"].items() if not v[0]}
    if bad:
        raise RuntimeError(f"template health failed: {bad}")
    return image, probe


def run_probe(image: Path, *, cwd: Path, env: dict[str, str], health: dict,
              verify: bool = False) -> dict:
    """Reopen ``image`` in a fresh process: digest, health, and (``verify``) the verdict of
    ``batos image verify``."""
    rc, sig, killed, wall, _, out, err = spawn(
        [sys.executable, str(PROBE), str(image), json.dumps(health)] + (["verify"] if verify else []),
        cwd=cwd, env=env, stdin=None, timeout=60)
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"ok": False, "error": f"probe died rc={rc} sig={sig} killed={killed}: "
                f"{(out + err)[-800:]}", "digest": {}, "health": {}}


def copy_image(template: Path, dest_dir: Path) -> Path:
    dest = dest_dir / "image.fs"
    shutil.copy2(template, dest)
    index = template.with_name(template.name + ".index")
    if index.exists():
        shutil.copy2(index, dest.with_name(dest.name + ".index"))
    blobs = template.with_name(template.name + ".blobs")
    if blobs.exists():
        shutil.copytree(blobs, dest.with_name(dest.name + ".blobs"))
    return dest


def substitute(text: str, subs: dict[str, str]) -> str:
    for key, value in subs.items():
        text = text.replace(key, value)
    return text


PY_PRELUDE = '''
import sys, batos
IMAGE = sys.argv[1]
image = batos.open_image(IMAGE)
def run(source):
    """A statement as the REPL runs it: one transaction under the limits."""
    return image.execute(lambda: image.evaluate(source), note=source[:60], timeout=LIMIT)
def send(obj, selector, *args):
    return image.execute(lambda: obj.send(selector, *args), note=selector, timeout=LIMIT)
'''


def run_attack(attack: Attack, template: Path, template_probe: dict, work: Path) -> Result:
    """Run ``attack`` in a copy of the template and judge it (``Result.failures``: empty
    when every defence held)."""
    work.mkdir(parents=True, exist_ok=True)
    home = work / "home"
    home.mkdir()
    image = copy_image(template, work)
    marker = work / "MARKER"
    secret = "s3cr3t-" + secrets.token_hex(8)
    file_secret = "filesecret-" + secrets.token_hex(8)
    secret_file = work / "secret.txt"
    secret_file.write_text(file_secret + "\n")
    (home / "repl.toml").write_text(f"timeout = {LIMIT}\n")
    env = child_env(home, secret)
    subs = {"@M@": str(marker), "@DIR@": str(work), "@SECRETVAR@": SECRET_VAR,
            "@SECRETFILE@": str(secret_file), "@IMAGE@": str(image), "@LIMIT@": str(LIMIT)}
    payload = substitute(attack.payload, subs)
    stdin = None
    if attack.mode == "run":
        script = work / "attack.bst"
        script.write_text(payload, encoding="utf-8")
        argv = BATOS + ["run", "-i", str(image), "--timeout", str(LIMIT), str(script)]
    elif attack.mode == "repl":
        argv = BATOS + ["repl", "--no-color", str(image)]
        stdin = payload
    elif attack.mode == "eval":
        argv = BATOS + ["eval", "-i", str(image), payload]
    elif attack.mode == "raw":
        script = work / "attack.py"
        script.write_text(payload, encoding="utf-8")
        argv = [sys.executable, str(script), str(image)]
    elif attack.mode == "py":
        script = work / "attack.py"
        script.write_text(f"LIMIT = {LIMIT}\n" + PY_PRELUDE + payload + "\nimage.close()\n",
                          encoding="utf-8")
        argv = [sys.executable, str(script), str(image)]
    else:
        raise ValueError(attack.mode)
    timeout = attack.timeout or (HARD + SLACK if attack.expect == "hard-deadline" else 20.0)
    rc, sig, killed, wall, peak, out, err = spawn(argv, cwd=work, env=env, stdin=stdin,
                                                  timeout=timeout)
    marker_after_attack = marker.exists()
    health = dict(HEALTH)
    health.update(attack.health)
    probe = run_probe(image, cwd=work, env=env, health=health, verify=True)
    marker_after_reopen = marker.exists() and not marker_after_attack
    v_rc, v_out = probe.get("verify") or [None, "verify did not run: " + str(probe.get("error"))]
    result = Result(attack, rc, sig, killed, wall, peak, out, err, marker_after_attack,
                    marker_after_reopen, probe, v_rc, v_out, secret, file_secret)
    result.failures = judge(result, template_probe)
    return result


ESCAPES = re.compile(r"[\x1b\x07\x9b\x9d\x90\x9c\x0c\x08\x0b]|\x1b\]|\x1b\[")


def judge(res: Result, template_probe: dict) -> list[str]:
    """Every way the attack may have won, as short sentences (empty: it was stopped)."""
    a = res.attack
    why: list[str] = []
    if res.marker_after_attack:
        why.append("the marker file was created while the attack ran (code execution)")
    if res.marker_after_reopen:
        why.append("the marker file was created when the image was reopened (load-time code)")
    if res.secret in res.output:
        why.append(f"the secret ${SECRET_VAR} appeared in the output")
    if res.file_secret in res.output:
        why.append("the contents of a private file appeared in the output")
    if a.expect == "hostile":
        if res.rc != 0:
            why.append(f"could not craft the hostile image (rc {res.rc}): {res.stderr[-300:]}")
    elif a.expect == "hard-deadline":
        if res.killed:
            why.append(f"still running after {res.wall:.1f}s (hard deadline {HARD:.0f}s): "
                       "the harness had to kill it")
        elif res.rc != 1 and "deadline" not in res.output.lower():
            why.append(f"ended (rc {res.rc}, signal {res.signal}) without saying it hit the "
                       "hard deadline")
    else:
        if res.killed:
            why.append(f"hung: killed by the harness after {res.wall:.1f}s")
        elif res.signal is not None:
            why.append(f"the process died of signal {res.signal}")
        elif a.expect == "refused" and res.rc != 1:
            why.append(f"not refused: exit code {res.rc} (expected 1, an ordinary error)")
        elif res.rc not in (0, 1):
            why.append(f"exit code {res.rc} (expected 0 or 1)")
    if res.peak_mb > a.memory_mb:
        why.append(f"peak memory {res.peak_mb:.0f} MB > {a.memory_mb} MB cap")
    probe = res.probe
    if a.expect == "hostile":
        # the file was altered by hand: only what opening it does matters; refusing to
        # load the hostile object (an error) is the right outcome
        if str(probe.get("error") or "").startswith("probe died"):
            why.append(f"opening the hostile image killed the process: {probe['error'][:300]}")
    elif not probe.get("ok"):
        why.append(f"the image no longer opens/walks: {str(probe.get('error'))[:300]}")
    else:
        why.extend(digest_changes(template_probe["digest"], probe["digest"], a.allow))
        for expr, (ok, text) in probe["health"].items():
            if not ok:
                why.append(f"after reopening, {expr!r} gave {text!r}")
    if res.verify_rc != 0 and a.expect != "hostile":
        why.append(f"batos image verify failed (rc {res.verify_rc}): {res.verify_out[-300:]}")
    if a.no_escapes and ESCAPES.search(res.output):
        found = sorted({repr(m.group(0)) for m in ESCAPES.finditer(res.output)})
        why.append(f"raw terminal control characters reached the output: {', '.join(found)}")
    if a.check is not None:
        why.extend(a.check(res))
    return why


def digest_changes(before: dict[str, str], after: dict[str, str],
                   allow: tuple[str, ...]) -> list[str]:
    """Changed, added or removed digest entries outside the ``allow`` patterns."""
    def allowed(path: str) -> bool:
        return any(fnmatch.fnmatchcase(path, pat) for pat in allow)
    out = []
    for path in sorted(set(before) | set(after)):
        if allowed(path) or before.get(path) == after.get(path):
            continue
        if path not in after:
            out.append(f"object graph: {path} disappeared")
        elif path not in before:
            out.append(f"object graph: {path} appeared: {after[path][:160]}")
        else:
            out.append(f"object graph: {path} changed: {before[path][:100]} -> {after[path][:160]}")
    if len(out) > 6:
        out = out[:6] + [f"... and {len(out) - 6} more object-graph changes"]
    return out
