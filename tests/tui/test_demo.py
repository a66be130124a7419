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
