"""Live penetration suite: attacks run against real images in subprocesses.

Each module holds the attacks of one class (``ATTACKS``); ``harness`` runs one
attack in a fresh image and judges it; ``probe`` reopens an image and digests it.
The runner is ``tests/test_redteam_live.py``.
"""
from __future__ import annotations

from tests.redteam.live import (corrupt, dataloss, exceptstar, hijack, leaks, loadtime,
                                runaway, shell, terminal)
from tests.redteam.live.harness import Attack

CLASSES = {
    "shell": shell.ATTACKS,
    "hijack": hijack.ATTACKS,
    "corrupt": corrupt.ATTACKS,
    "loadtime": loadtime.ATTACKS,
    "leak": leaks.ATTACKS,
    "runaway": runaway.ATTACKS,
    "dataloss": dataloss.ATTACKS,
    "terminal": terminal.ATTACKS,
    "exceptstar": exceptstar.ATTACKS,
}

ALL: list[Attack] = [a for attacks in CLASSES.values() for a in attacks]
