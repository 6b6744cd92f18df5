"""Fixtures shared by the events and control-plane tests (imported by their conftest files)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.controlplane.servers import ApiServer, Postgres, find_pg_bindir

ApiFactory = Callable[..., ApiServer]


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    if find_pg_bindir() is None:
        pytest.skip("PostgreSQL binaries (initdb, postgres) not found; PostgreSQL tests skipped")
    server = Postgres().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database of the parametrized backend."""
    if backend == "postgres":
        pg: Postgres = request.getfixturevalue("postgres")
        return pg.create_database()
    return f"sqlite:///{tmp_path / 'keeptrusts.db'}"


@pytest.fixture
def make_api(tmp_path: Path) -> Iterator[ApiFactory]:
    started: list[ApiServer] = []

    def factory(database: str | None = None, **kw: str) -> ApiServer:
        logs = tmp_path / "api-logs"
        logs.mkdir(exist_ok=True)
        db = database or f"sqlite:///{tmp_path / 'api.db'}"
        server = ApiServer(db, logs, **kw)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.kill()


def api_for_module(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, name: str
) -> Iterator[ApiServer]:
    """One API on the backend `request.param` names, for a whole module (`yield from` it in a
    module-scoped fixture whose params are the backends): for tests that keep apart by their
    own ids and tenants, or only read. Ends by checking that the API logged no traceback."""
    tmp = tmp_path_factory.mktemp(f"{name}-{request.param}")
    if request.param == "postgres":
        pg: Postgres = request.getfixturevalue("postgres")
        database = pg.create_database()
    else:
        database = f"sqlite:///{tmp / 'keeptrusts.db'}"
    server = ApiServer(database, tmp).start()
    yield server
    logs = server.logs()
    server.kill()
    assert "Traceback" not in logs and "internal error" not in logs, logs


@pytest.fixture
def api(make_api: ApiFactory, database_url: str) -> ApiServer:
    """A running API on the parametrized backend."""
    return make_api(database_url).start()
