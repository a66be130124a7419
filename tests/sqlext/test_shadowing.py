"""A user's `embed.py` beside their script comes first on sys.path and would hide embedsql's
`embed` package: `import sqlext` says so, naming the file (it was a circular-import error)."""
import subprocess
import sys


def test_a_file_named_like_our_package_is_named_in_the_error(tmp_path):
    (tmp_path / "embed.py").write_text("import sqlext\nsqlext.connect()\n")
    p = subprocess.run([sys.executable, "embed.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert p.returncode == 1
    assert p.stderr.strip().splitlines()[-1] == (
        f"ImportError: embedsql's package 'embed' is hidden by {tmp_path / 'embed.py'}, which comes first on "
        f"sys.path; rename that file or folder, or run Python from another directory")
    # a script of another name beside it: the same; renamed away: the import works
    (tmp_path / "run.py").write_text("import sqlext\nprint(sqlext.connect)\n")
    p = subprocess.run([sys.executable, "run.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert "is hidden by" in p.stderr
    (tmp_path / "embed.py").rename(tmp_path / "my_embed.py")
    (tmp_path / "embed").mkdir()  # a plain folder (no __init__.py) hides nothing
    p = subprocess.run([sys.executable, "run.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "function connect" in p.stdout, p.stderr
