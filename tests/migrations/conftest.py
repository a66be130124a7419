import pytest

import sqlext


@pytest.fixture
def dsn(tmp_path):
    return f"chdb://{tmp_path}/db"


@pytest.fixture
def session(dsn):
    s = sqlext.connect(dsn=dsn)
    yield s
    s.close()


@pytest.fixture
def mdir(tmp_path):
    d = tmp_path / "mig"
    d.mkdir()
    return d
