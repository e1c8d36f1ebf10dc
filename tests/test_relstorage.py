"""A shared image in PostgreSQL through RelStorage: the ZEO suite's multi-client tests
(tests/test_zeo.py) run again with a ``postgresql://`` address instead of ``zeo://``.

They need a PostgreSQL server: ``BATOS_TEST_POSTGRES=postgresql://USER@HOST:PORT/DB`` (a
role that may CREATE DATABASE; each test gets a fresh database, dropped after) and the
``batos[postgres]`` extra; otherwise they are skipped, saying which is missing. The
address parsing and the missing-extra message run everywhere.
"""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from batos.errors import ImageError
from batos.image.relstore import conninfo, display, file_only, missing_modules, pg_address
from tests import test_zeo as zeo_suite
from tests.test_zeo import ENV, cli, free_port

ADMIN = os.environ.get("BATOS_TEST_POSTGRES")
_MISSING = missing_modules()
needs_postgres = pytest.mark.skipif(
    not ADMIN or bool(_MISSING),
    reason="no PostgreSQL server for the RelStorage tests: set BATOS_TEST_POSTGRES="
           "postgresql://USER@HOST:PORT/DB" if not ADMIN else
           f"the batos[postgres] extra is not installed ({', '.join(_MISSING)})")

# --- the ZEO suite's tests, against the `server` fixture below (a PostgreSQL image) -----

@needs_postgres
def test_n_clients_times_m_increments_lose_nothing(server: Any) -> None:
    zeo_suite.test_n_clients_times_m_increments_lose_nothing(server)


@needs_postgres
def test_a_method_defined_in_one_client_answers_in_another(server: Any) -> None:
    zeo_suite.test_a_method_defined_in_one_client_answers_in_another(server)


@needs_postgres
def test_a_client_killed_mid_statement_leaves_nothing_half_applied(server: Any) -> None:
    zeo_suite.test_a_client_killed_mid_statement_leaves_nothing_half_applied(server)


@needs_postgres
def test_simultaneous_misses_of_one_selector_install_one_method(server: Any) -> None:
    zeo_suite.test_simultaneous_misses_of_one_selector_install_one_method(server)


def _admin(sql: str) -> None:
    import psycopg2
    conn = psycopg2.connect(conninfo(pg_address(ADMIN)))
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


@pytest.fixture
def database(tmp_path: Path) -> Iterator[str]:
    """The address of a fresh, empty database on the BATOS_TEST_POSTGRES server."""
    name = f"batos_test_{uuid.uuid4().hex[:12]}"
    _admin(f"CREATE DATABASE {name}")
    try:
        yield urlunsplit(urlsplit(pg_address(ADMIN))._replace(path="/" + name))
    finally:
        _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def server(database: str) -> Iterator[tuple[str, None]]:
    """As tests/test_zeo.py's fixture: an address every client process opens, holding
    a ``counter`` with ``increment``; here PostgreSQL is the server."""
    import batos
    import batos.lang  # noqa: F401
    with batos.open_image(database) as im:
        im.execute(lambda: im.evaluate(
            "Image at: #counter put: genesis clone. counter setSlot: #count value: 0. "
            "counter >> increment [ count := count + 1. ^count ]"), note="setup")
    yield database, None


@needs_postgres
def test_history_pack_and_what_a_database_cannot_do(server: Any) -> None:
    addr, _ = server
    assert cli("eval", "-i", addr, "counter increment").stdout.strip() == "1"
    h = cli("image", "history", "-i", addr, "--json")
    assert h.returncode == 0, h.stderr
    assert "setup" in h.stdout and "Prototypal Awakening" in h.stdout
    p = cli("image", "pack", "-i", addr, "--json")
    assert p.returncode == 0, p.stderr
    assert "PostgreSQL at " + addr in p.stdout
    v = cli("image", "verify", "-i", addr)
    assert v.returncode == 3 and "zodbconvert" in v.stderr and "Traceback" not in v.stderr
    assert cli("eval", "-i", addr, "counter count").stdout.strip() == "1"


@needs_postgres
def test_a_wrong_password_or_database_is_exit_3(database: str) -> None:
    gone = urlunsplit(urlsplit(database)._replace(path="/batos_no_such_database"))
    r = cli("eval", "-i", gone, "3 + 4")
    assert r.returncode == 3, r.stderr
    assert "cannot open the PostgreSQL image" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.skipif(bool(_MISSING), reason=f"batos[postgres] not installed ({_MISSING})")
def test_a_closed_port_is_exit_3_with_a_message() -> None:
    addr = f"postgresql://batos:secret@127.0.0.1:{free_port()}/batos"
    r = cli("eval", "-i", addr, "3 + 4")
    assert r.returncode == 3
    assert "cannot open the PostgreSQL image postgresql://batos:***@127.0.0.1:" in r.stderr
    assert "secret" not in r.stderr and "Traceback" not in r.stderr


HIDDEN = """
import sys
sys.modules["relstorage"] = None  # as if the extra were not installed
from batos.cli.main import main
sys.argv = ["batos", *sys.argv[1:]]
main()
"""


def test_without_the_extra_a_postgres_image_says_what_to_install() -> None:
    r = subprocess.run([sys.executable, "-c", HIDDEN, "eval", "-i",
                        "postgresql://batos@127.0.0.1:5432/batos", "3 + 4"],
                       env=ENV, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert "pip install 'batos[postgres]'" in r.stderr and "Traceback" not in r.stderr


def test_postgres_addresses() -> None:
    # a Path collapses '//' to '/': both spellings are read
    assert pg_address(Path("postgresql://u@h:5432/db")) == "postgresql://u@h:5432/db"
    assert pg_address(Path("postgresql:///db?host=/run/pg")) == "postgresql:///db?host=/run/pg"
    assert pg_address("postgres://h/db") == "postgres://h/db"
    assert pg_address("world.fs") is None and pg_address("zeo://h:1") is None
    with pytest.raises(ImageError, match="names no database"):
        pg_address("postgresql://h:5432/")
    with pytest.raises(ImageError, match="not a PostgreSQL address"):
        pg_address("postgresql:h")
    assert display("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
    assert conninfo("postgresql://u:p%27w@h:7/db?sslmode=disable") == (
        "host='h' port='7' user='u' password='p\\'w' dbname='db' sslmode='disable'")
    assert "zodbconvert" in file_only("verify", "postgresql://h/db")
    assert file_only("verify", "zeo://h:1") is None
