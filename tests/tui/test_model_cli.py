"""Models the way users have them, through the real command line (subprocesses, embedded engine):
the product's own offline hint followed end to end, the schema following the model, the config
file naming the model, mismatches that name both models and a way out, and re-stamping."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.models_support import DIMS, build_tiny

REPO = Path(__file__).resolve().parents[2]
QUERY = ("SELECT photo_id, cosineDistance(photo_embed, EMBED('a cat on the beach')) AS d "
         "FROM photos ORDER BY d LIMIT 3")


@pytest.fixture(scope="module")
def user_models(tmp_path_factory):
    """A 'model' folder as the offline hint makes it, and an impostor in a folder of the same name."""
    root = tmp_path_factory.mktemp("user-models")
    mine = build_tiny("clip", root / "a" / "model", seed=0)
    impostor = build_tiny("clip", root / "b" / "model", seed=5)
    return mine, impostor


def _cli(tmp_path, *args, env_extra=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env=env)


def _ok(r):
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    return r


def test_the_offline_hint_end_to_end(tmp_path, user_models):
    mine, impostor = user_models
    dsn = f"chdb://{tmp_path}/db"
    # the hint in the error for a model that cannot be downloaded names a folder and --model
    r = _cli(tmp_path, "query", "SELECT EMBED('x')", "--dsn", dsn, "--model", "openai/clip-vit-base-patch32")
    assert r.returncode == 2 and "--model /path/to/model" in r.stderr and "any folder name works" in r.stderr

    # migrate: the column follows the model (its dimension, its identity); plan shows it
    plan = _ok(_cli(tmp_path, "migrate", "plan", "--dialect", "clickhouse", "--model", str(mine)))
    dim = DIMS["clip"]
    assert f"CHECK length(photo_embed) = {dim}" in plan.stdout
    assert f"vector_similarity('hnsw', 'cosineDistance', {dim})" in plan.stdout
    assert "family=clip" in plan.stdout and "digest=" in plan.stdout and "for model 'model'" in plan.stdout
    _ok(_cli(tmp_path, "migrate", "up", "--dsn", dsn, "--model", str(mine)))

    # ingest: accepted, and the model is exported for the fast path on the way
    photos = REPO / "ingest" / "demo" / "photos"
    ing = _ok(_cli(tmp_path, "ingest", "images", str(photos), "--dsn", dsn, "--model", str(mine),
                   "--report", str(tmp_path / "f.tsv")))
    assert "fast path" in ing.stderr

    # query through the config file's model (no flag, no env): the fast path, and it says so
    (tmp_path / "config.toml").write_text(f'model = "{mine}"\n')
    env = {"EMBEDSQL_CONFIG": str(tmp_path / "config.toml")}
    exp = _ok(_cli(tmp_path, "query", QUERY, "--dsn", dsn, "--explain", env_extra=env))
    assert "-- runtime: onnx-fp32 (fast path)" in exp.stdout, exp.stdout
    res = _ok(_cli(tmp_path, "query", QUERY, "--dsn", dsn, "--format", "json", env_extra=env))
    assert len(json.loads(res.stdout)["data"]) == 3
    info = _ok(_cli(tmp_path, "model", "info", "--dsn", dsn, env_extra=env))
    from embed.identity import identify

    assert f"digest {identify(str(mine)).digest}" in info.stdout and "fast path: ready" in info.stdout

    # a copy of the model in a folder with another name is that model
    copy = shutil.copytree(mine, tmp_path / "elsewhere" / "clip-copy")
    _ok(_cli(tmp_path, "query", QUERY, "--dsn", dsn, "--model", str(copy), "--format", "json"))

    # another model under the same folder name is not: both named, the rows counted, a way out
    bad = _cli(tmp_path, "query", QUERY, "--dsn", dsn, "--model", str(impostor))
    assert bad.returncode == 2, bad.stderr
    assert "photos.photo_embed, which is for model 'model'" in bad.stderr and "or or" not in bad.stderr and "holds 13 rows" in bad.stderr
    assert "local copy" in bad.stderr and "Traceback" not in bad.stderr
    # and migrate up with it refuses to touch the filled table
    up = _cli(tmp_path, "migrate", "up", "--dsn", dsn, "--model", str(impostor))
    assert up.returncode == 2 and "the migrations are for" in up.stderr and "holds 13 rows" in up.stderr
    # re-stamping a filled table for another model is refused too
    st = _cli(tmp_path, "model", "stamp", "--dsn", dsn, "--model", str(impostor))
    assert st.returncode == 2 and "not re-stamping" in st.stderr


def test_empty_table_offers_a_restamp_that_works(tmp_path, user_models):
    mine, _ = user_models
    dsn = f"chdb://{tmp_path}/db"
    # migrated before the model was at hand: the default model's name and dimension, no digest
    _ok(_cli(tmp_path, "migrate", "up", "--dsn", dsn))
    img = REPO / "ingest" / "demo" / "photos" / "chelsea.jpg"
    r = _cli(tmp_path, "ingest", "images", str(img), "--dsn", dsn, "--model", str(mine),
             "--report", str(tmp_path / "f.tsv"))
    assert r.returncode == 2 and "is empty" in r.stderr
    assert f"embedsql model stamp photos.photo_embed --model {mine}" in r.stderr
    _ok(_cli(tmp_path, "model", "stamp", "photos.photo_embed", "--dsn", dsn, "--model", str(mine)))
    _ok(_cli(tmp_path, "ingest", "images", str(img), "--dsn", dsn, "--model", str(mine),
             "--report", str(tmp_path / "f.tsv")))
    status = _ok(_cli(tmp_path, "migrate", "status", "--dsn", dsn, "--model", str(mine)))
    assert "changed" not in status.stdout and "applied or started, 0 pending" in status.stdout
    res = _ok(_cli(tmp_path, "query", QUERY, "--dsn", dsn, "--model", str(mine), "--format", "json"))
    assert len(json.loads(res.stdout)["data"]) == 1
