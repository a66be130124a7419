"""DSN and configuration precedence: --dsn, then EMBEDSQL_DSN, then the config file, then the embedded default."""

import os

import pytest

from sqlext.db import config
from sqlext.errors import ConfigError


def test_nothing_configured_is_the_embedded_default(tmp_path):
    spec = config.resolve()
    assert spec.kind == "embedded"
    assert spec.path == tmp_path / "data" / "db"
    assert spec.source == "default"


@pytest.mark.parametrize("dsn, host, port, secure, user, db", [
    ("https://alice@example.com:8443/photos", "example.com", 8443, True, "alice", "photos"),
    ("http://bob@127.0.0.1:8123", "127.0.0.1", 8123, False, "bob", "default"),
    ("https://abc.aws.myscale.com", "abc.aws.myscale.com", 8443, True, "default", "default"),
    ("http://h:9000/db%201", "h", 9000, False, "default", "db 1"),
])
def test_http_dsns(dsn, host, port, secure, user, db):
    spec = config.parse_dsn(dsn)
    assert (spec.kind, spec.host, spec.port, spec.secure, spec.username, spec.database) == (
        "http", host, port, secure, user, db)


def test_chdb_dsn_paths(tmp_path):
    assert config.parse_dsn(f"chdb://{tmp_path}/x").path == tmp_path / "x"
    assert config.parse_dsn("chdb:").path == tmp_path / "data" / "db"
    assert config.parse_dsn("embedded").kind == "embedded"


def test_dialect_in_dsn_and_override():
    assert config.parse_dsn("https://u@h/db?dialect=myscale").dialect == "myscale"
    assert config.resolve("https://u@h/db", dialect="clickhouse").dialect == "clickhouse"
    with pytest.raises(ConfigError, match="dialect"):
        config.resolve("https://u@h/db?dialect=oracle")
    with pytest.raises(ConfigError, match="dialect"):
        config.resolve(dialect="postgres")


@pytest.mark.parametrize("bad", ["ftp://h/x", "postgres://u@h/db", "https://", "http://h:notaport/"])
def test_bad_dsns_name_the_problem(bad):
    with pytest.raises(ConfigError) as err:
        config.parse_dsn(bad, source="--dsn")
    assert "--dsn" in str(err.value)


def write_config(tmp_path, text):
    p = tmp_path / "config.toml"
    p.write_text(text)
    return p


def test_precedence_flag_env_config_default(tmp_path, monkeypatch):
    write_config(tmp_path, 'default = "cfg"\n[connections.cfg]\ndsn = "http://cfg@cfghost/db"\n'
                           '[connections.other]\ndsn = "http://o@otherhost/db"\ndialect = "myscale"\n')
    assert config.resolve().host == "cfghost"
    assert config.resolve(connection="other").dialect == "myscale"
    monkeypatch.setenv("EMBEDSQL_DSN", "http://env@envhost/db")
    assert config.resolve().host == "envhost"
    assert config.resolve("http://flag@flaghost/db").host == "flaghost"
    # an explicitly named connection beats the environment default
    assert config.resolve(connection="other").host == "otherhost"


def test_password_from_env_never_in_repr(monkeypatch):
    monkeypatch.setenv("EMBEDSQL_PASSWORD", "s3cr3t-pw")
    spec = config.resolve("https://alice@h/db")
    assert spec.password == "s3cr3t-pw"
    assert "s3cr3t-pw" not in repr(spec) and "s3cr3t-pw" not in spec.display()


@pytest.mark.parametrize("text, match", [
    ("default = \n", "cannot read the config file"),
    ("[connections]\nx = 1\n", "connections"),
    ('default = "nope"\n', "no connection named 'nope'"),
    ('default = "a"\n[connections.a]\nurl = "x"\n', "needs a dsn"),
    ('default = "a"\n[connections.a]\ndsn = "http://u@h/db"\npassword = "x"\n', "holds a password"),
    ('default = "a"\n[connections.a]\ndsn = "http://u:sekrit@h/db"\n', "dsn holds a password"),
    # wherever it is, whichever connection is in use (the file is the secret's leak)
    ('password = "x"\n', "top-level password key"),
    ('default = "a"\n[connections.a]\ndsn = "chdb:///tmp/x"\n[connections.b]\ndsn = "http://u:s@h/db"\n',
     r"\[connections.b\] dsn holds a password"),
    ('[connections.b]\ndsn = "http://u@h/db"\npassword = "x"\n', r"\[connections.b\] password"),
    ('[tui]\npassword = "x"\n', r"\[tui\] password"),
    ('[connections.b]\ndsn = "https://u:secret@host:8443/db?dialect=bogus"\n', r"\[connections.b\] dsn holds"),
    ('[connections.b]\ndsn = "postgres://u:secret@host/db"\n', r"\[connections.b\] dsn holds"),
    ('default = "a"\n[connections.a]\ndsn = "http://u@h/db"\ndialect = "sqlite"\n', "dialect"),
])
def test_malformed_config_files_are_clear_errors(tmp_path, text, match):
    write_config(tmp_path, text)
    with pytest.raises(ConfigError, match=match):
        config.resolve()


def test_binary_garbage_config(tmp_path):
    (tmp_path / "config.toml").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="config file"):
        config.resolve()


@pytest.mark.parametrize("q", ["timeout=nan", "connect_timeout=1e400", "timeout=0", "timeout=-1"])
def test_dsn_timeouts_must_be_positive_finite(q):
    with pytest.raises(ConfigError, match="positive seconds"):
        config.parse_dsn(f"http://u@h/db?{q}")


def test_named_connection_without_a_config_file_says_the_file_is_missing(tmp_path):
    import subprocess
    import sys

    missing = tmp_path / "nowhere" / "config.toml"
    r = subprocess.run([sys.executable, "-m", "tui.cli", "query", "-c", "nosuch", "SELECT 1"],
                       capture_output=True, text=True, timeout=120,
                       env={**os.environ, "EMBEDSQL_CONFIG": str(missing)})
    assert r.returncode == 2
    # the file EMBEDSQL_CONFIG names is missing: said as such, whatever the command (a mistyped
    # path ran every statement on the embedded default, silently)
    assert r.stderr.splitlines()[0] == f"error: the config file {missing} does not exist (EMBEDSQL_CONFIG names it)"
    r = subprocess.run([sys.executable, "-m", "tui.cli", "query", "SELECT 1"],
                       capture_output=True, text=True, timeout=120,
                       env={**os.environ, "EMBEDSQL_CONFIG": str(missing)})
    assert r.returncode == 2 and "EMBEDSQL_CONFIG names it" in r.stderr and "Traceback" not in r.stderr
    with pytest.raises(ConfigError) as e:  # the default file, missing: a named connection is what is missing
        config.resolve(connection="nosuch", config_path=missing)
    assert str(e.value).splitlines()[0] == f"no connection named 'nosuch': the config file {missing} does not exist"
    assert "[connections.nosuch]" in str(e.value) and "known" not in str(e.value)
    empty = tmp_path / "empty.toml"
    empty.write_text('model = "openai/clip-vit-base-patch32"\n')
    with pytest.raises(ConfigError, match=r"the config file .*empty.toml defines no connections"):
        config.resolve(connection="nosuch", config_path=empty)
    some = tmp_path / "some.toml"
    some.write_text('[connections.prod]\ndsn = "https://u@h:8443/db"\n')
    with pytest.raises(ConfigError, match=r"no connection named 'nosuch' in .*some.toml \(known: prod\)"):
        config.resolve(connection="nosuch", config_path=some)


def test_an_embedded_dsn_takes_no_options(tmp_path):
    """`chdb:///dir?database=db1` made a directory named `dir?database=db1`, silently."""
    with pytest.raises(ConfigError, match="no options") as e:
        config.parse_dsn(f"chdb://{tmp_path}/db?database=db1")
    assert "%3F" in e.value.hint
    assert config.parse_dsn(f"chdb://{tmp_path}/odd%3Fname").path.name == "odd?name"
