"""The one place that decides which database a command talks to.

Precedence: the `--dsn` flag, then `EMBEDSQL_DSN`, then the TOML config file
(`~/.config/embedsql/config.toml`, named connections), then the embedded default.

DSN forms:
  (nothing), `embedded`, `chdb:`          the embedded ClickHouse in the user data dir
  `chdb:///abs/path`, `chdb://~/path`     an embedded ClickHouse stored in that directory
  `chdb:dir`, `chdb://dir`                the same, relative to the current directory
  `http://user@host:8123/db`              a ClickHouse or MyScale server
  `https://user@host:8443/db`             the same over TLS (MyScale Cloud: port 443)
Query-string options of http(s) DSNs: `dialect=myscale|clickhouse`, `verify=false`
(skip TLS verification), `connect_timeout=S`, `timeout=S`.

Config file:
  default = "prod"                       # optional: connection used when no DSN is given
  model = "/models/clip-vit-base-patch32" # optional: the embedding model (hub id or local directory)
  [connections.prod]
  dsn = "https://alice@abc.aws.myscale.com:443/default"
  dialect = "myscale"                     # optional; detected from the server otherwise
  model = "google/siglip2-base-patch16-224" # optional: this connection's model
  [connections.laptop]
  dsn = "chdb:///home/alice/photos-db"

The model: `--model`, then `EMBEDSQL_MODEL`, then the connection's `model`, then the file's
top-level `model`, then openai/clip-vit-base-patch32 (`model_setting`).

Passwords never live in the config: `EMBEDSQL_PASSWORD`, or an interactive prompt.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from . import paths
from ..errors import ConfigError

DIALECTS = ("myscale", "clickhouse")


@dataclass(frozen=True)
class ConnectionSpec:
    """Where to connect, resolved from a DSN and the config file (`parse_dsn`, `resolve`). `kind`
    'embedded' (chdb in directory `path`) or 'http' (a server: `host`, `port`, `secure` = HTTPS,
    `verify` = check its TLS certificate, `username`, `password`, `database`); `dialect`
    'myscale' | 'clickhouse' | None (detected on first use); `connect_timeout` and `timeout` in
    seconds (DSN query parameters, defaults 10 and 300); `source` says where it came from (flag /
    env / config:NAME / default); `model` is the config file's model for this connection, or
    None. Immutable; `display()` is the form safe to print (no password)."""

    kind: str  # "embedded" | "http"
    path: Path | None = None  # embedded
    host: str | None = None
    port: int | None = None
    secure: bool = False
    username: str = "default"
    database: str = "default"
    dialect: str | None = None  # None: detect
    verify: bool = True
    connect_timeout: float = 10.0
    timeout: float = 300.0
    password: str | None = field(default=None, repr=False)  # never printed
    source: str = "default"  # where it came from: flag / env / config:NAME / default
    model: str | None = None  # the config file's model for this connection (or its global one)

    def display(self) -> str:
        """A safe description: never contains the password."""
        if self.kind == "embedded":
            return f"embedded ClickHouse at {self.path}"
        scheme = "https" if self.secure else "http"
        return f"{scheme}://{self.username}@{self.host}:{self.port}/{self.database}"


def parse_dsn(dsn: str, *, source: str = "flag") -> ConnectionSpec:
    """A DSN -> ConnectionSpec; nothing is contacted. Accepts '' / 'embedded' / 'chdb:' (the default
    embedded directory), 'chdb:///abs/dir' (embedded in that directory), and http(s)://,
    clickhouse(s):// and myscale:// URLs
    (`user:password@host:port/database?dialect=&connect_timeout=&timeout=&verify=`; the port
    defaults to 8443 with TLS, 8123 without; myscale:// implies TLS and the myscale dialect).
    `source` names where the DSN came from in error messages. Raises ConfigError for an unknown
    scheme, a missing host, an unknown dialect, a bad port, a path that cannot be used, or
    timeouts that are not positive seconds (at most a day to connect, a week per query)."""
    text = (dsn or "").strip()
    if text in ("", "embedded", "chdb:", "chdb://"):
        return ConnectionSpec(kind="embedded", path=paths.default_db_path(), source=source)
    if text.startswith("chdb:"):
        rest = text[len("chdb:"):]
        if rest.startswith("//"):
            rest = rest[2:]
        if "?" in rest:
            raise ConfigError(f"the embedded database's DSN from {source} takes a directory and no "
                              f"options: {text!r}",
                              hint="remove the ?… part (the options are a server's; for another "
                                   "database, USE it); a ? in the directory's name is written %3F")
        if not rest:
            return ConnectionSpec(kind="embedded", path=paths.default_db_path(), source=source)
        raw = unquote(rest)
        try:
            if "\0" in raw:
                raise ValueError("NUL byte in path")
            path = Path(raw).expanduser().resolve()
        except (ValueError, RuntimeError, OSError) as exc:
            raise ConfigError(f"cannot use the embedded database path {raw!r} from {source}: {exc}",
                              hint="write it as chdb:///absolute/path/to/dir") from None
        return ConnectionSpec(kind="embedded", path=path, source=source)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"cannot parse the DSN from {source}: {exc}",
                          hint="write it as https://user@host:8443/database") from None
    if parts.scheme not in ("http", "https", "clickhouse", "clickhouses", "myscale"):
        raise ConfigError(
            f"unsupported DSN scheme {parts.scheme or '(none)'!r} from {source}",
            hint="use chdb:///path for an embedded database, or http(s)://user@host:port/db for a server",
        )
    if not parts.hostname:
        raise ConfigError(f"the DSN from {source} has no host name",
                          hint="write it as https://user@host:8443/database")
    secure = parts.scheme in ("https", "clickhouses", "myscale")
    opts = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    dialect = opts.get("dialect")
    if parts.scheme == "myscale":
        dialect = dialect or "myscale"
    if dialect is not None and dialect not in DIALECTS:
        raise ConfigError(f"unknown dialect {dialect!r} in the DSN from {source}", hint="use myscale or clickhouse")
    database = unquote(parts.path.strip("/")) or "default"
    try:
        ct = float(opts.get("connect_timeout", 10))
        to = float(opts.get("timeout", 300))
    except ValueError:
        raise ConfigError(f"connect_timeout and timeout in the DSN from {source} must be numbers") from None
    if not (0 < ct <= 86400 and 0 < to <= 7 * 86400):  # also rejects nan and inf
        raise ConfigError(f"connect_timeout and timeout in the DSN from {source} must be positive seconds "
                          f"(at most a day and a week)")
    return ConnectionSpec(
        kind="http",
        host=parts.hostname,
        port=port or (8443 if secure else 8123),
        secure=secure,
        username=unquote(parts.username) if parts.username else "default",
        password=unquote(parts.password) if parts.password is not None else None,
        database=database,
        dialect=dialect,
        verify=opts.get("verify", "true").lower() not in ("0", "false", "no"),
        connect_timeout=ct,
        timeout=to,
        source=source,
    )


def load_config(path: Path | None = None) -> dict:
    """The config file (`path`, default `sqlext.db.paths.config_file()`) as a dict parsed from TOML;
    {} when the default file does not exist. Raises ConfigError when it cannot be read or
    parsed, when [connections] does not hold [connections.NAME] tables, or when the file
    $EMBEDSQL_CONFIG names does not exist (a mistyped path would otherwise run on the embedded
    default, silently)."""
    named = path is None and bool(os.environ.get("EMBEDSQL_CONFIG"))
    path = path or paths.config_file()
    if not path.exists():
        if named:
            raise ConfigError(f"the config file {path} does not exist (EMBEDSQL_CONFIG names it)",
                              hint="create it (a [connections.NAME] table with dsn = \"...\"; an empty file is fine), "
                                   "fix the path, or unset EMBEDSQL_CONFIG to use the default config file")
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc}",
                          hint="fix the TOML syntax, or move the file away") from None
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror}") from None
    conns = data.get("connections", {})
    if not isinstance(conns, dict) or any(not isinstance(v, dict) for v in conns.values()):
        raise ConfigError(f"{path}: [connections] must hold tables like [connections.NAME] with a dsn = \"...\"")
    _refuse_passwords(data, path)
    return data


def _refuse_passwords(data: dict, path: Path) -> None:
    """ConfigError when the config file holds a password anywhere: a `password` key in any table
    (top-level, a connection's, any other) or a password in any `dsn` (`user:password@`, also in
    a dsn embedsql cannot otherwise read), whichever connection is in use."""
    from urllib.parse import urlsplit

    hint = "passwords come from EMBEDSQL_PASSWORD or the prompt, never from files"

    def walk(table: dict, where: str) -> None:
        for key, value in table.items():
            here = f"{where}.{key}" if where else str(key)
            if str(key).lower() == "password":
                place = "a top-level password key" if not where else f"[{where}] password"
                raise ConfigError(f"{path}: holds a password ({place}); remove it", hint=hint)
            if isinstance(value, dict):
                walk(value, here)
            elif str(key).lower() == "dsn" and isinstance(value, str) and "@" in value:
                try:  # as parse_dsn reads it; a dsn it cannot read, as a URL
                    secret = parse_dsn(value, source=f"config:{where}").password
                except ConfigError:
                    try:
                        secret = urlsplit(value.strip()).password
                    except ValueError:
                        secret = None
                if secret:
                    raise ConfigError(f"{path}: [{where}] dsn holds a password (user:password@); remove it",
                                      hint=hint)

    walk(data, "")


def resolve(dsn: str | None = None, *, connection: str | None = None, dialect: str | None = None,
            config_path: Path | None = None, password: str | None = None) -> ConnectionSpec:
    """Pick the connection by the documented precedence. The returned spec's `model` is the config
    file's model for it (the connection's, else the file's top-level one), or None.
    Raises ConfigError for a bad DSN, dialect, connection name or config file."""
    if dialect is not None and dialect not in DIALECTS:
        raise ConfigError(f"unknown dialect {dialect!r}", hint="use --dialect myscale or --dialect clickhouse")
    cfg = load_config(config_path)
    cfg_path = config_path or paths.config_file()
    model = _model_entry(cfg.get("model"), cfg_path, "model")
    if dsn:
        spec = parse_dsn(dsn, source="--dsn")
    elif os.environ.get("EMBEDSQL_DSN") and not connection:
        spec = parse_dsn(os.environ["EMBEDSQL_DSN"], source="EMBEDSQL_DSN")
    else:
        conns = cfg.get("connections", {})
        name = connection or cfg.get("default")
        if name is not None and not isinstance(name, str):
            raise ConfigError(f"{cfg_path}: default must be the name of a connection, as a string")
        if name:
            if name not in conns:
                example = f'a [connections.{name}] table holding dsn = "https://user@host:8443/db"'
                if not cfg_path.exists():
                    raise ConfigError(
                        f"no connection named {name!r}: the config file {cfg_path} does not exist",
                        hint=f"create it with {example}, or give the server with --dsn "
                             f"(EMBEDSQL_CONFIG names another config file)")
                if not conns:
                    raise ConfigError(f"no connection named {name!r}: the config file {cfg_path} defines no "
                                      f"connections", hint=f"add {example}")
                known = ", ".join(sorted(conns))
                raise ConfigError(f"no connection named {name!r} in {cfg_path} (known: {known})")
            entry = conns[name]
            if "dsn" not in entry or not isinstance(entry["dsn"], str):
                raise ConfigError(f"{cfg_path}: [connections.{name}] needs a dsn = \"...\" string")
            spec = parse_dsn(entry["dsn"], source=f"config:{name}")  # (load_config refused passwords)
            model = _model_entry(entry.get("model"), cfg_path, f"[connections.{name}] model") or model
            if entry.get("dialect"):
                if entry["dialect"] not in DIALECTS:
                    raise ConfigError(f"{cfg_path}: [connections.{name}] dialect must be myscale or clickhouse")
                spec = replace(spec, dialect=entry["dialect"])
        else:
            spec = parse_dsn("", source="default")
    if dialect:
        spec = replace(spec, dialect=dialect)
    if model:
        spec = replace(spec, model=model)
    if spec.kind == "http":
        pw = password if password is not None else os.environ.get("EMBEDSQL_PASSWORD", spec.password)
        spec = replace(spec, password=pw)
    return spec


def _model_entry(value, cfg_path: Path, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{cfg_path}: {key} must be a hub id or a directory, as a non-empty string")
    return value.strip()


def model_setting(flag: str | None, spec: ConnectionSpec | None = None) -> str:
    """The embedding model to use: `flag` (--model), then $EMBEDSQL_MODEL, then the config file's
    (spec.model), then embed's default (openai/clip-vit-base-patch32)."""
    return model_choice(flag, spec)[0]


def model_choice(flag: str | None, spec: ConnectionSpec | None = None) -> tuple[str, str]:
    """(`model_setting`, where it came from in words: "--model", "EMBEDSQL_MODEL", "the config
    file (<path>)" or "the default"), for errors that must say which setting to fix."""
    from embed.identity import DEFAULT_MODEL

    for value, origin in ((flag, "--model"), (os.environ.get("EMBEDSQL_MODEL"), "EMBEDSQL_MODEL"),
                          (spec.model if spec is not None else None, f"the config file ({paths.config_file()})")):
        if value and value.strip():
            return value.strip(), origin
    return DEFAULT_MODEL, "the default"
