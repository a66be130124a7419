"""The app on a server (the test-only ClickHouse HTTP stand-in): server faults show as errors and
the app stays usable."""
from __future__ import annotations

import secrets

import pytest

import sqlext
from tui.app import EmbedSQLApp

from tests.chserver import ChServer
from tests.tui.pilot_support import run_sql

PASSWORD = "pw-" + secrets.token_hex(8)


@pytest.fixture
def server(tmp_path):
    with ChServer(tmp_path / "srv", user="alice", password=PASSWORD) as srv:
        yield srv


async def test_server_down_then_back_the_app_keeps_working(server):
    s = sqlext.connect(server.dsn(), password=PASSWORD)
    app = EmbedSQLApp(session=s, initial_sql="SELECT 1 AS one", warm_model=False, syntax=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await run_sql(app, pilot)
        assert app.result.rows == [(1,)] and app.last_error is None
        server.kill()  # the server dies
        await run_sql(app, pilot, "SELECT 2 AS two")
        assert app.last_error and "cannot reach" in app.last_error
        assert PASSWORD not in app.last_error
        assert app.query_one("#error").display
        server.start(server.port)  # and comes back on the same port
        await run_sql(app, pilot, "SELECT 3 AS three")
        assert app.last_error is None and app.result.rows == [(3,)]
        server.fault("drop", match="drop_me")  # the connection dropped mid-query
        await run_sql(app, pilot, "SELECT 'drop_me'")
        assert app.last_error
        server.fault("none")
        await run_sql(app, pilot, "SELECT 4 AS four")
        assert app.last_error is None and app.result.rows == [(4,)]
    s.close()
