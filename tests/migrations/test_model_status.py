"""`migrate status` when the model in use is not the one the database was migrated with: the
built-in files did not change, the model did; status says so (which model, which one this run
uses, --model or `embedsql model stamp`), not "changed", and never suggests --allow-changed.
Two tiny models of different names and dimensions (tests.models_support), the embedded engine."""
import pytest

from tui.cli import main

from tests.models_support import DIMS, build_tiny


@pytest.fixture(autouse=True)
def _wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "2000")   # no wrapping in rich tables


@pytest.fixture(scope="module")
def two_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return build_tiny("clip", root / "clip-a", seed=0), build_tiny("siglip", root / "siglip-b", seed=1)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def row(out: str, version: str) -> str:
    return next(line for line in out.splitlines() if line.lstrip("│ ").startswith(version))


def test_status_says_the_model_differs_not_that_the_file_changed(capsys, dsn, two_models):
    a, b = two_models
    assert run(capsys, "migrate", "up", "--dsn", dsn, "--model", str(a))[0] == 0
    code, out, err = run(capsys, "migrate", "status", "--dsn", dsn, "--model", str(a))
    assert code == 0 and "(changed)" not in out and "for model" not in out

    for extra in (["--model", str(b)], []):      # another model, and the default one (no --model)
        code, out, err = run(capsys, "migrate", "status", "--dsn", dsn, *extra)
        assert code == 0, out + err
        assert "(changed)" not in out and "allow-changed" not in out and "need attention" not in out
        line = row(out, "0001")
        assert "│ applied " in line
        assert f"for model 'clip-a' (clip, {DIMS['clip']}-d, digest" in line
        uses = f"'siglip-b' (siglip, {DIMS['siglip']}-d" if extra else "'openai/clip-vit-base-patch32' (clip, 512-d)"
        assert f"but this run uses {uses}" in line and "the file is unchanged, the model differs" in line
        assert "Pass --model with a local copy of 'clip-a'" in line
        assert f"`embedsql model stamp photos.photo_embed --dsn {dsn}{' --model ' + str(b) if extra else ''}`" in line
        assert "3 applied or started, 0 pending" in out

    # up with the other model still refuses, naming both models (and not --allow-changed)
    code, out, err = run(capsys, "migrate", "up", "--dsn", dsn, "--model", str(b))
    assert code == 2 and "'clip-a'" in err and "'siglip-b'" in err and "allow-changed" not in err

    # plan --down with the other model reverts what the database holds: the files as filled in for 'clip-a'
    code, out, err = run(capsys, "migrate", "plan", "--down", "--to", "0", "--dsn", dsn, "--model", str(b))
    assert code == 0 and "applied for model 'clip-a'" in out and "refuses" not in out

    # the way out the note gives for an empty table: re-stamp it; then status is clean for b
    code, out, err = run(capsys, "model", "stamp", "photos.photo_embed", "--dsn", dsn, "--model", str(b))
    assert code == 0, err
    code, out, err = run(capsys, "migrate", "status", "--dsn", dsn, "--model", str(b))
    assert code == 0 and "(changed)" not in out and "for model" not in out
    code, out, err = run(capsys, "migrate", "status", "--dsn", dsn, "--model", str(a))
    assert code == 0 and "for model 'siglip-b'" in row(out, "0001") and "(changed)" not in out


def test_a_library_up_for_another_model_refuses_before_running(dsn, session, two_models):
    """Runner.up for another model's built-in files refuses when the database's are another
    model's and some are still to apply (one table cannot hold two models' vectors)."""
    from embed.identity import identify
    from migrations import Runner, load
    from sqlext.errors import UsageError

    a, b = two_models
    Runner(session, load([], model=identify(str(a)))).up(to=1)
    r = Runner(session, load([], model=identify(str(b))))
    with pytest.raises(UsageError, match="0001_photos_table was applied for model 'clip-a'.*nothing was applied"):
        r.up()
    states = {s.label: (s.state, s.changed) for s in r.status()}
    assert states == {"0001_photos_table": ("applied", False), "0002_photo_embed_index": ("pending", False),
                      "0003_photos_text_index": ("pending", False)}
