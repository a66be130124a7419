"""`embedsql demo` (the README's main job) on the embedded default, with the real loading path."""
import os
import subprocess
import sys


def run_demo(tiny_clip):
    return subprocess.run([sys.executable, "-m", "tui.cli", "demo", "--no-tui", "--model", str(tiny_clip)],
                          capture_output=True, text=True, timeout=300, env=dict(os.environ))


def test_demo_sets_up_ingests_and_queries_and_can_run_again(tmp_path, tiny_clip):
    p = run_demo(tiny_clip)
    assert p.returncode == 0, p.stderr
    assert "applied 0001_photos_table" in p.stderr
    assert "vector index photo_embed_index on photos: Built" in p.stderr
    assert "ingested 13, already present 0, failed 0" in p.stderr
    assert "EMBED('a cat with green eyes')" in p.stdout
    assert "5 rows" in p.stdout
    assert (tmp_path / "data" / "db").is_dir()
    # a second run changes nothing and still answers
    p2 = run_demo(tiny_clip)
    assert p2.returncode == 0, p2.stderr
    assert "ingested 0, already present 13, failed 0" in p2.stderr
    assert "5 rows" in p2.stdout


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ))


def test_offline_without_a_model_stops_before_creating_anything_then_the_readme_route_works(tmp_path, tiny_clip):
    """The natural first try offline (no EMBEDSQL_MODEL: the hub model cannot be downloaded) fails
    on the model, before any table exists; the README's route (a local copy) then works."""
    first = _cli("demo", "--no-tui")
    assert first.returncode == 2 and "Traceback" not in first.stderr, first.stderr
    tables = _cli("query", "SELECT count() FROM system.tables WHERE database = 'default'", "--format", "tsv")
    assert tables.stdout.splitlines()[1:] == ["0"], tables.stdout + tables.stderr
    again = run_demo(tiny_clip)
    assert again.returncode == 0, again.stderr
    assert "ingested 13" in again.stderr


def test_an_empty_table_made_for_another_model_is_restamped_by_the_demo(tmp_path, tiny_clip):
    """`migrate up` before the model was at hand records the default hub model (a name, no
    digest) on an empty table: the demo re-stamps it for the model in use and goes on."""
    up = _cli("migrate", "up")
    assert up.returncode == 0, up.stderr
    p = run_demo(tiny_clip)
    assert p.returncode == 0, p.stderr
    assert "is empty and made for another model: re-stamping it" in p.stderr
    assert "ingested 13" in p.stderr and "5 rows" in p.stdout
