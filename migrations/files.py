"""Migration files: discovery, parsing, checksums, and `migrate new`.

A migration is one file named `<version>_<name>.sql` (`0001_photos_table.sql`): the version is
the leading number, the name the rest. Marker lines split it into parts:

    -- comments before the first marker describe the migration
    -- +up
    CREATE TABLE ...;
    ALTER TABLE ...;
    -- +down
    DROP TABLE IF EXISTS ...;

The built-in files are templates: `{{embedding_dim}}` and `{{embedding_model}}` are filled in
from the configured model's identity (`embed.identity.ModelIdentity`: its dimension, and the
column comment `embedsql:model=...;family=...;dim=...;digest=...`) when they are loaded, so a
migration's text and checksum are those of the model it was applied for (stable for one model).

`-- +up` is required, `-- +down` optional (without it the migration cannot be reverted). Each part
holds any number of `;`-separated statements, split the way ClickHouse's lexer sees the text
(`sqlext.text.split.split_statements`). Statements are written in MyScale syntax (or plain
ClickHouse SQL); embedsql translates them for the target database.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlext.errors import SQLSyntaxError, UsageError
from sqlext.text.split import split_statements
from sqlext.text.ddl import string_literal

FILE_RE = re.compile(r"^(\d+)_([A-Za-z0-9][A-Za-z0-9_\-]*)\.sql$")
MARKER_RE = re.compile(r"^[ \t]*--[ \t]*\+[ \t]*(up|down)[ \t]*$", re.IGNORECASE | re.MULTILINE)
_NAME_RE = re.compile(r"[^A-Za-z0-9_]+")

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"
# Built-in migrations use versions below this; `new` numbers user files from here on.
USER_START = 100


class MigrationFileError(UsageError):
    """A migration file that cannot be used (bad name, markers, SQL)."""


@dataclass(frozen=True)
class Step:
    """One statement of a migration part: its text as written and its line in the file."""

    text: str
    line: int


@dataclass
class Migration:
    """One migration file, parsed. `text`: the file's text (a built-in template filled in for
    the model); `up` / `down`: its statements; `model`: the ModelIdentity a built-in file was
    filled in for (None for your own files)."""

    version: int
    name: str
    path: Path
    text: str
    up: list[Step] = field(default_factory=list)
    down: list[Step] | None = None  # None: no `-- +down` part
    model: object | None = None
    #: checksums of earlier revisions of a built-in file, filled in for the same model
    #: (`load_builtin`): a database migrated with one of them counts as unchanged
    earlier: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """`<version>_<name>` with the version in four digits (0003_add_tags): how messages and the
        state table name the migration."""
        return f"{self.version:04d}_{self.name}"

    @property
    def checksum(self) -> str:
        """sha256 of the whole file (newlines normalised): an edit to an applied file shows."""
        return digest(self.text)

    def same_checksum(self, recorded: str) -> bool:
        """Is `recorded` (from the state table) this file's checksum? A built-in file applied in
        an earlier revision (`builtin/earlier/`, `earlier`) counts as unchanged: the table it
        made stays as it is. Built-in files applied by embedsql 0.1, before they followed the
        model, count as unchanged for the model they were written for
        (openai/clip-vit-base-patch32, 512-d)."""
        if recorded == self.checksum or recorded in self.earlier:
            return True
        m = self.model
        return (m is not None and getattr(m, "name", None) == _LEGACY_MODEL[0] and getattr(m, "dim", None)
                == _LEGACY_MODEL[1] and recorded == _LEGACY_CHECKSUMS.get((self.version, self.name)))

    def prefix_checksum(self, n: int) -> str:
        """sha256 of the first n up statements: what a resumed run must find unchanged."""
        return digest("\n;\n".join(s.text for s in self.up[:n]))

    def steps(self, direction: str) -> list[Step]:
        """The statements of one part: `direction` 'up' gives `up`, anything else `down` ([] when
        the file has no down part)."""
        return self.up if direction == "up" else (self.down or [])


def digest(text: str) -> str:
    """Hex SHA-256 of `text` (UTF-8) after normalising CRLF and CR line ends to LF, so a file's
    checksum does not change with the platform's line endings."""
    norm = text.replace("\r\n", "\n").replace("\r", "\n")
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()


def parse(text: str, path: Path) -> Migration:
    """Parse one migration file's text (see the module docstring for the format)."""
    m = FILE_RE.match(path.name)
    if not m:
        raise MigrationFileError(
            f"{path}: not a migration file name",
            hint=f"name it <version>_<name>.sql, e.g. {suggested_name(path)} (versions 0001-0099 are "
                 f"the built-in set's; yours start at {USER_START:04d})",
        )
    version, name = int(m.group(1)), m.group(2)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    markers = list(MARKER_RE.finditer(text))
    kinds = [mk.group(1).lower() for mk in markers]
    where = str(path)
    if kinds.count("up") != 1:
        raise MigrationFileError(
            f"{where}: needs exactly one '-- +up' line (found {kinds.count('up')})",
            hint="put '-- +up' before the statements that apply it and '-- +down' before those that revert it",
        )
    if kinds.count("down") > 1:
        raise MigrationFileError(f"{where}: more than one '-- +down' line")
    if kinds[0] != "up":
        raise MigrationFileError(f"{where}: '-- +down' comes before '-- +up'", hint="put the up part first")
    head = text[:markers[0].start()]
    try:
        if split_statements(head):
            line = head.count("\n") + 1
            raise MigrationFileError(
                f"{where}: SQL before the '-- +up' line (line {line} is the marker)",
                hint="only comments may come before '-- +up'",
            )
        parts = {}
        for i, mk in enumerate(markers):
            start = mk.end()
            end = markers[i + 1].start() if i + 1 < len(markers) else len(text)
            body = text[start:end]
            base_line = text.count("\n", 0, start) + 1
            parts[kinds[i]] = [Step(st.text, base_line + st.head_line - 1) for st in split_statements(body)]
    except SQLSyntaxError as exc:
        raise MigrationFileError(f"{where}: {exc.message}", hint=exc.hint) from None
    if not parts["up"]:
        raise MigrationFileError(f"{where}: the up part has no statements")
    return Migration(version, name, path, text, parts["up"], parts.get("down"))


def load_file(path: Path) -> Migration:
    """Read and parse one migration file (UTF-8). Raises MigrationFileError when it cannot be read,
    is not UTF-8, or does not parse (see `parse`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MigrationFileError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise MigrationFileError(f"cannot read {path}: not UTF-8 text") from None
    return parse(text, path)


def load_dir(directory: Path) -> list[Migration]:
    """Every `*.sql` file in `directory` (not recursive), parsed, in file name order. Raises
    MigrationFileError when the directory does not exist (hint: `embedsql migrate new`) or is a
    file (hint: its folder), or for a file that cannot be read or parsed."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise MigrationFileError(f"--dir {directory} is a file, not a directory of migration files",
                                 hint=f"give the folder it is in: --dir {directory.parent}")
    if not directory.is_dir():
        raise MigrationFileError(f"migrations directory {directory} does not exist",
                                 hint="create it with `embedsql migrate new NAME --dir DIR`")
    out = []
    for p in sorted(directory.iterdir()):
        if p.suffix.lower() == ".sql" and p.is_file():
            out.append(load_file(p))
    return out


PLACEHOLDERS = ("{{embedding_dim}}", "{{embedding_model}}")
_LEGACY_MODEL = ("openai/clip-vit-base-patch32", 512)
_LEGACY_CHECKSUMS = {  # the built-in files as embedsql 0.1 shipped them (fixed 512-d, fixed model)
    (1, "photos_table"): "568fe0f99f43090d34bb337c53f77fdcda28a20a7839ae7a90230db9bee7d945",
    (2, "photo_embed_index"): "18dfa47f5a7b3e8f0e5547509334ee3c382ab30daa1b399937ec3137b2a5bfc5",
}


def fill_template(text: str, model) -> str:
    """A built-in file's text for a model (embed.identity.ModelIdentity): its dimension and its
    column comment in place of the placeholders (the comment escaped as a SQL string body)."""
    tag = string_literal(model.tag())[1:-1]  # the body of the SQL string the template quotes
    return text.replace("{{embedding_dim}}", str(int(model.dim))).replace("{{embedding_model}}", tag)


def load_builtin(model=None) -> list[Migration]:
    """The built-in migrations filled in for `model` (a ModelIdentity; None: the default model,
    openai/clip-vit-base-patch32, as embed.identity.identify gives it). A file's earlier
    revision, kept under the same name in `builtin/earlier/`, is filled in too: its checksum goes
    to `Migration.earlier`, so a database it migrated is not reported as changed."""
    if model is None:
        from embed.identity import DEFAULT_MODEL, identify

        model = identify(DEFAULT_MODEL)
    return [builtin_file(p, model) for p in sorted(BUILTIN_DIR.iterdir())
            if p.suffix.lower() == ".sql" and p.is_file()]


def builtin_file(path: Path, model) -> Migration:
    """One built-in template file `path` filled in for `model` (a ModelIdentity), with the
    checksum of its earlier revision (`builtin/earlier/`) in `earlier`."""
    mig = parse(fill_template(path.read_text(encoding="utf-8"), model), path)
    mig.model = model
    old = BUILTIN_DIR / "earlier" / path.name
    if old.is_file():
        mig.earlier = [digest(fill_template(old.read_text(encoding="utf-8"), model))]
    return mig


def refill(mig: Migration, model) -> Migration | None:
    """The built-in migration `mig` filled in for another `model` (a ModelIdentity): the file as
    a database migrated for that model holds it. None for your own files (no template), or when
    the file cannot be read any more."""
    if mig.model is None:
        return None
    try:
        return builtin_file(mig.path, model)
    except (OSError, UnicodeDecodeError, UsageError):
        return None


def load(directories: list[Path], *, builtin: bool = True, model=None) -> list[Migration]:
    """The migration set: the built-in files (unless builtin=False; filled in for `model`, see
    load_builtin) plus each directory's, by version. MigrationFileError for a bad file or two
    files with one version; ModelLoadError when the default model cannot be identified."""
    found: list[Migration] = []
    if builtin:
        found += load_builtin(model)
    for d in directories:
        found += load_dir(d)
    by_version: dict[int, Migration] = {}
    for mig in found:
        other = by_version.get(mig.version)
        if other is not None:
            raise MigrationFileError(
                f"two migrations have version {mig.version}: {other.path} and {mig.path}",
                hint="renumber one of them (the built-in set uses 0001-0099; start yours at 0100)"
                if builtin else "renumber one of them",
            )
        by_version[mig.version] = mig
    return [by_version[v] for v in sorted(by_version)]


TEMPLATE = """\
-- {title}
-- Statements in MyScale syntax (or plain ClickHouse SQL), separated by ';'.
-- embedsql translates them for the target database. Migrations are not transactional: a failure
-- at statement k is recorded, and the next `embedsql migrate up` resumes at statement k.

-- +up


-- +down

"""

def _slug(name: str) -> str:
    """The file-name part for a migration called `name`: accents dropped (`ünïcode` ->
    `unicode`: NFKD, then ASCII; they were cut out with their letters, `n_code`), every run of
    other characters one `_`, lower case."""
    import unicodedata

    plain = unicodedata.normalize("NFKD", name.strip()).encode("ascii", "ignore").decode("ascii")
    return _NAME_RE.sub("_", plain).strip("_").lower()


def file_versions(directory: Path) -> list[int]:
    """The versions of the migration files in `directory`, read from their names only (the files
    are not opened; names that are no migration file name are skipped). [] when it does not exist."""
    try:
        names = [p.name for p in Path(directory).iterdir() if p.is_file()]
    except OSError:
        return []
    return [int(m.group(1)) for m in map(FILE_RE.match, names) if m]


def suggested_name(path: Path) -> str:
    """A valid name for the badly named migration file `path`: the first version from USER_START
    not taken in its directory, and its own name made a slug (`add-tags.sql` -> 0100_add_tags.sql)."""
    taken = set(file_versions(path.parent))
    version = next(v for v in range(USER_START, USER_START + len(taken) + 1) if v not in taken)
    return f"{version:04d}_{_slug(path.stem) or 'add_tags'}.sql"


def new_file(directory: Path, name: str, existing: list[Migration]) -> Path:
    """Create `<next version>_<name>.sql` in `directory` with the template; returns its path.
    `existing`: the other migrations to number after (the built-in set); the files already in
    `directory` count by their names only, so an unfilled template there does not stop `new`."""
    slug = _slug(name)
    if not slug:
        raise MigrationFileError(f"cannot make a file name from {name!r}", hint="use letters, digits and _")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    in_dir = file_versions(directory)
    others = [m.version for m in existing] + in_dir
    version = max([USER_START - 1] + others) + 1 if not in_dir and others else max([0] + others) + 1
    width = max(4, len(str(version)))
    path = directory / f"{version:0{width}d}_{slug}.sql"
    if path.exists():
        raise MigrationFileError(f"{path} already exists")
    path.write_text(TEMPLATE.format(title=f"{version:0{width}d} {slug.replace('_', ' ')}"), encoding="utf-8")
    return path
