"""Where embedsql keeps its files. Environment variables override the platform defaults
(tests use them to stay out of the real home directory)."""
from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """The directory embedsql keeps its data in: $EMBEDSQL_DATA_DIR, else the platform's user data
    directory for 'embedsql' (platformdirs). Not created here."""
    env = os.environ.get("EMBEDSQL_DATA_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("embedsql"))


def config_file() -> Path:
    """The config file's path: $EMBEDSQL_CONFIG, else config.toml in the platform's user config
    directory for 'embedsql' (platformdirs). It may not exist."""
    env = os.environ.get("EMBEDSQL_CONFIG")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("embedsql")) / "config.toml"


def default_db_path() -> Path:
    """The embedded database's directory when nothing is configured."""
    return data_dir() / "db"


def history_file() -> Path:
    """The TUI's query history (JSON lines) in `data_dir()`."""
    return data_dir() / "history.jsonl"
