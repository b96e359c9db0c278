"""Decompression bombs under a memory limit (issue 12, item 2): one line, exit 2, nothing stored changes.

Each bomb is a few MB that would unpack to 2 GiB. ``patchgap`` runs in a fresh interpreter whose address
space is limited to 1 GiB (``RLIMIT_AS``): had anything unpacked the bomb without a bound, it would die
there with a MemoryError traceback. What it must do instead is stop at the documented limit, print
``error: <what>: <why>`` as its only line on stderr and exit 2, leaving every stored row as it was.
Runs on SQLite and PostgreSQL (``db_url``).
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel
from typer.testing import CliRunner

from cli.main import app
from store.db import Database
from store.queries import advisories as q
from store.queries.jobs import insert_upload_job
from store.queries.organizations import get_or_create_organization
from store.tables.jobs import UploadJob
from tests.bombs import MIB, gzip_bomb, zip_bomb, zlib_bomb

ROOT = Path(__file__).resolve().parents[2]
AKRITES = ROOT / "sbom_samples" / "advisories" / "akrites"
EPSS_URL = "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz"
MEMORY_LIMIT = 1 << 30
BOMB_MIB = 2048

# Limits the address space, then runs `patchgap ARGS` ("cli"), the same with every HTTP request answered
# by one streamed body ("serve" BODY_FILE HEADERS_JSON ARGS), or the upload queue ("jobs" URL).
RUNNER = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[1]), int(sys.argv[1])))
mode, args = sys.argv[2], sys.argv[3:]
if mode == "serve":
    import json, httpx
    import cli.advisories
    from ingest.advisories.http import HttpClient, RetryPolicy
    body, headers, args = open(args[0], "rb").read(), json.loads(args[1]), args[2:]
    def answer(request):
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(body))
    cli.advisories.make_http_client = lambda: HttpClient(
        transport=httpx.MockTransport(answer), retry=RetryPolicy(attempts=1)
    )
if mode == "jobs":
    from pipeline.database import open_database
    from pipeline.uploads import run_pending
    print(run_pending(open_database(args[0], upgrade=False), max_bytes=50 * 1024 * 1024))
    sys.exit(0)
sys.argv = ["patchgap", *args]
from cli.main import main
main()
"""


def limited(mode: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RUNNER, str(MEMORY_LIMIT), mode, *(str(a) for a in args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def assert_refused(done: subprocess.CompletedProcess[str], message: str, *, whole: bool = True) -> None:
    """Exit 2 with one line on stderr, ``error: <message>`` (or starting so when not ``whole``)."""
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0] == f"error: {message}" if whole else lines[0].startswith(f"error: {message}"), lines[0]
    assert done.returncode == 2


def everything(url: str) -> dict[str, list[Any]]:
    """Every row of every table, in primary-key order: what "nothing stored changes" compares."""
    db = Database.open(url)
    try:
        with db.connect() as conn:
            return {
                table.name: list(conn.execute(sa.select(table).order_by(*table.primary_key.columns)))
                for table in SQLModel.metadata.sorted_tables
            }
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    member = gzip.compress(bytes(16 * MIB), 9)
    files = {
        "epss.csv.gz": gzip_bomb(BOMB_MIB),
        "members.csv.gz": member * (BOMB_MIB // 16),  # 128 gzip members of 16 MiB each
        "all.zip": zip_bomb("GHSA-bomb.json", BOMB_MIB),
        "lying.zip": zip_bomb("GHSA-bomb.json", BOMB_MIB, declared=1000),
    }
    for name, data in files.items():
        assert len(data) < 4 * MIB
        (folder / name).write_bytes(data)
    return {name: folder / name for name in files}


@pytest.fixture
def stocked(db_url: str, tmp_path: Path) -> str:
    """A database holding advisories, an EPSS table and its feed state: what must not change."""
    epss = tmp_path / "scores.csv"
    epss.write_text(
        "#model_version:v2025.03.14,score_date:2026-01-02T00:00:00+0000\n"
        "cve,epss,percentile\nCVE-2024-0001,0.97,0.999\n"
    )
    for path in (AKRITES, epss):
        done = CliRunner().invoke(app, ["--db", db_url, "advisories", "import", str(path)])
        assert done.exit_code == 0, done.output
    return db_url


@pytest.mark.parametrize(
    ("bomb", "message"),
    [
        ("epss.csv.gz", "unpacks to more than the limit of 67108864 bytes (64 MiB); refused"),
        ("members.csv.gz", "unpacks to more than the limit of 67108864 bytes (64 MiB); refused"),
    ],
    ids=["one-member", "128-members"],
)
def test_an_epss_bomb_is_refused_under_a_memory_limit(
    stocked: str, bombs: dict[str, Path], bomb: str, message: str
) -> None:
    before = everything(stocked)
    done = limited("cli", "--db", stocked, "advisories", "import", bombs[bomb])
    assert_refused(done, f"{bombs[bomb]}: {message}")
    assert everything(stocked) == before


@pytest.mark.parametrize(
    ("bomb", "problem"),
    [
        (
            "all.zip",
            ": entry 'GHSA-bomb.json' declares 2147483648 bytes, more than the limit of 67108864 bytes",
        ),
        ("lying.zip", "!GHSA-bomb.json: cannot be decompressed (Bad CRC-32 for file 'GHSA-bomb.json')"),
    ],
    ids=["declared-size", "lying-size"],
)
def test_an_osv_zip_bomb_is_refused_under_a_memory_limit(
    stocked: str, bombs: dict[str, Path], bomb: str, problem: str
) -> None:
    before = everything(stocked)
    done = limited("cli", "--db", stocked, "advisories", "import", "--source", "osv", bombs[bomb])
    assert_refused(done, f"{bombs[bomb]}{problem}", whole=False)
    assert everything(stocked) == before


@pytest.mark.parametrize(
    ("bomb", "headers", "message"),
    [
        # Sent as Content-Encoding: undone by the HTTP client, bounded by the body limit.
        (
            "epss.csv.gz",
            {"Content-Encoding": "gzip"},
            "the response body (gzip) unpacks to more than the limit of 268435456 bytes (256 MiB); refused",
        ),
        # Sent as the .csv.gz file itself: unpacked by the feed fetch, bounded by the feed limit.
        (
            "members.csv.gz",
            {"Content-Type": "application/gzip"},
            "unpacks to more than the limit of 67108864 bytes (64 MiB); refused",
        ),
    ],
    ids=["content-encoding", "gzip-file"],
)
def test_a_fetched_epss_bomb_is_refused_under_a_memory_limit(
    stocked: str, bombs: dict[str, Path], bomb: str, headers: dict[str, str], message: str
) -> None:
    before = everything(stocked)
    done = limited("serve", bombs[bomb], json.dumps(headers), "--db", stocked, "advisories", "sync", "epss")
    assert_refused(done, f"{EPSS_URL}: {message}")
    assert everything(stocked) == before


def test_a_stored_record_that_became_a_bomb_is_refused_under_a_memory_limit(stocked: str) -> None:
    db = Database.open(stocked)
    try:
        with db.begin() as conn:
            conn.execute(
                sa.update(q.ADVISORY)
                .where(q.ADVISORY.c.advisory_id == "AKRITES-SAMPLE-2026-0001")
                .values(raw=zlib_bomb(BOMB_MIB))
            )
    finally:
        db.dispose()
    before = everything(stocked)
    done = limited("cli", "--db", stocked, "advisories", "show", "AKRITES-SAMPLE-2026-0001")
    assert_refused(
        done,
        "akrites AKRITES-SAMPLE-2026-0001 (stored record): "
        "unpacks to more than the limit of 268435456 bytes (256 MiB); refused",
    )
    assert everything(stocked) == before


def test_a_queued_upload_that_became_a_bomb_fails_its_job_under_a_memory_limit(db_url: str) -> None:
    db = Database.open(db_url)
    try:
        with db.write() as session:
            org = get_or_create_organization(session, "acme")
            assert org.id is not None
            job = insert_upload_job(
                session,
                token="t-bomb",
                org_id=org.id,
                system_name="web",
                release_label=None,
                source="bom.json",
                observed_at=None,
                data=b"{}",
            )
            session.execute(
                sa.update(UploadJob).where(sa.column("id") == job.id).values(payload=zlib_bomb(BOMB_MIB))
            )
    finally:
        db.dispose()
    done = limited("jobs", db_url)
    assert "Traceback" not in done.stderr, done.stderr
    assert (done.returncode, done.stdout) == (0, "1\n")
    rows = everything(db_url)
    [failed] = rows["upload_job"]
    assert failed.status == "failed"
    assert failed.error == (
        "upload t-bomb (stored SBOM): unpacks to more than the limit of 52428800 bytes (50 MiB); refused"
    )
    assert rows["snapshot"] == []
