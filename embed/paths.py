"""Where embed keeps its files (the persistent vector cache)."""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """$EMBEDSQL_CACHE_DIR, else platformdirs.user_cache_dir("embedsql"). Not created here."""
    env = os.environ.get("EMBEDSQL_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("embedsql"))
