"""Which model is this? Resolution of a model reference and its identity by content.

A model reference is what a user writes (`--model`, `EMBEDSQL_MODEL`, the config file): a Hugging
Face hub id (`openai/clip-vit-base-patch32`) or a local directory saved with `save_pretrained`.
Its identity (`ModelIdentity`) is what a vector column records, so that EMBED() and ingestion
refuse vectors of another model:

- `family`: `clip`, `siglip`, `siglip2`, `chinese_clip`, `altclip` (see `embed.families`);
- `name`: the hub id, or for a local directory its folder name (for messages only);
- `dim`: the embedding dimension (the projection size of the towers);
- `digest`: 16 hex digits over the model type, the dimension and the weights: for each
  floating-point tensor of the safetensors files, its dtype, shape and four 4 KiB samples of its
  bytes (start, two inner points, end), as a sorted list, so tensor names and file layout do not
  matter. A copy of a model in any directory, or the same weights re-saved with `save_pretrained`,
  has the same digest; a different model has another one, whatever its folder is called.

Computing a digest reads about 32 KiB per tensor (a few MB for ViT-B/32, ~20 ms); the result is
remembered in `<cache dir>/models.json` under the directory's path and the size and mtime of its
files, so a later process pays a few `stat` calls. Nothing here imports torch, transformers or
huggingface_hub: the hub cache layout (`models--org--name/snapshots/<commit>`) is read directly.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import threading
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelLoadError

DEFAULT_MODEL = "openai/clip-vit-base-patch32"
DIGEST_LEN = 16
_SAMPLE = 4096
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._/@+-]+")
_lock = threading.Lock()

# Well-known hub models: family and dimension, for when their files are not on this machine yet
# (`migrate up` sizes the column from this; the digest is recorded once the files are there).
KNOWN = {
    "openai/clip-vit-base-patch32": ("clip", 512),
    "openai/clip-vit-base-patch16": ("clip", 512),
    "openai/clip-vit-large-patch14": ("clip", 768),
    "openai/clip-vit-large-patch14-336": ("clip", 768),
    "google/siglip-base-patch16-224": ("siglip", 768),
    "google/siglip2-base-patch16-224": ("siglip", 768),
    "google/siglip2-base-patch16-naflex": ("siglip2", 768),
    "OFA-Sys/chinese-clip-vit-base-patch16": ("chinese_clip", 512),
    "BAAI/AltCLIP": ("altclip", 768),
}


def default_model() -> str:
    """$EMBEDSQL_MODEL, else `DEFAULT_MODEL`. The config file's `model` key is applied by the
    caller (sqlext.db.config.model_from_config) before this default."""
    return (os.environ.get("EMBEDSQL_MODEL") or "").strip() or DEFAULT_MODEL


def looks_like_path(ref: str) -> bool:
    """True for `/abs`, `./rel`, `../rel`, `~/x` and `a/b/c` (a hub id has exactly one `/`)."""
    return ref.startswith(("/", "./", "../", "~", ".\\", "..\\")) or os.path.isabs(ref) or (
        os.sep in ref and ref.count("/") != 1)


def hf_cache_root() -> Path:
    """The Hugging Face hub cache: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "huggingface" / "hub"


def hub_snapshot(hub_id: str) -> Path | None:
    """The local snapshot directory of a hub model already downloaded (refs/main, else the only
    snapshot that has a config.json), or None."""
    repo = hf_cache_root() / ("models--" + hub_id.replace("/", "--"))
    try:
        commit = (repo / "refs" / "main").read_text().strip()
        snap = repo / "snapshots" / commit
        if (snap / "config.json").is_file():
            return snap
    except OSError:
        pass
    try:
        snaps = [p for p in (repo / "snapshots").iterdir() if (p / "config.json").is_file()]
    except OSError:
        return None
    return snaps[0] if len(snaps) == 1 else None


@dataclass(frozen=True)
class ModelRef:
    """A resolved model reference.

    `ref`: as written; `name`: hub id or folder name; `directory`: where the files are (a local
    directory, or the hub cache snapshot), None when not on this machine; `hub_id`: for hub ids;
    `error`: the ModelLoadError to raise when the model is needed (a path that names no directory).
    """

    ref: str
    name: str
    directory: Path | None
    hub_id: str | None = None
    error: ModelLoadError | None = None

    @property
    def local(self) -> bool:
        """True when the user named a directory (not a hub id)."""
        return self.hub_id is None


def resolve_model(ref: str | None = None) -> ModelRef:
    """A model reference (None: `default_model()`) -> ModelRef. Never raises: a path naming no
    directory gives a ModelRef whose `error` says so."""
    ref = (ref or default_model()).strip()
    path = Path(ref).expanduser()
    if path.is_dir():
        d = path.resolve()
        repo = d.parent.parent.name if d.parent.name == "snapshots" and _HEX40.match(d.name) else ""
        if repo.startswith("models--"):  # a snapshot inside the hub cache: the repo id is its name
            return ModelRef(ref, repo[len("models--"):].replace("--", "/"), d)
        return ModelRef(ref, d.name, d)
    if looks_like_path(ref):
        if path.exists():
            what, hint = "not a directory", "name the folder the model was saved to, not a file in it; " + how_to_supply(ref)
        else:
            where = "" if path.is_absolute() else f" (relative to the current directory, {Path.cwd()})"
            what = f"directory not found: {path.resolve() if not path.is_absolute() else path}"
            hint = (f"check the path{where}: the folder `save_pretrained` wrote; without a copy: "
                    + how_to_supply(ref))
        return ModelRef(ref, path.name or ref, None, None,
                        ModelLoadError(f"cannot load model {ref!r}: {what}", hint=hint))
    return ModelRef(ref, ref, hub_snapshot(ref), ref)


def how_to_supply(ref: str) -> str:
    """The offline way to get a model: save it on a machine with internet, copy the folder, pass it."""
    # a local folder (`models/empty`, one slash like a hub id) is not a hub id to download
    hub = ref if not looks_like_path(ref) and not Path(ref).expanduser().is_dir() else DEFAULT_MODEL
    folder = ""
    if "/" not in ref and "\\" not in ref and not Path(ref).expanduser().exists():
        # `--model my-clip`: most likely a folder named as a word, read as a hub id
        folder = (f"if {ref!r} is a folder, give its path (./{ref}, ~/models/{ref}): there is no {ref!r} in "
                  f"the current directory ({Path.cwd()}); ")
    return folder + (
        "on a machine with internet, save the model to a directory: python -c \"from transformers import "
        f"AutoModel, AutoProcessor; AutoModel.from_pretrained('{hub}').save_pretrained('model'); "
        f"AutoProcessor.from_pretrained('{hub}').save_pretrained('model')\"; copy that directory here and pass "
        "--model /path/to/model, set EMBEDSQL_MODEL=/path/to/model, or write model = \"/path/to/model\" in "
        "the config file (any folder name works: the model is recognised by its weights)"
    )


@dataclass(frozen=True)
class ModelIdentity:
    """What a vector column records about the model that fills it (see the module docstring).

    `digest` is None only for a well-known hub model whose files are not on this machine."""

    family: str
    name: str
    dim: int
    digest: str | None = None

    def tag(self) -> str:
        """The column comment body: `embedsql:model=NAME;family=F;dim=N;digest=HEX`."""
        parts = [f"model={safe_name(self.name)}", f"family={self.family}", f"dim={self.dim}"]
        if self.digest:
            parts.append(f"digest={self.digest}")
        return "embedsql:" + ";".join(parts)

    def describe(self) -> str:
        """`'openai/clip-vit-base-patch32' (clip, 512-d, digest 0123abcd...)` for messages."""
        tail = f", digest {self.digest}" if self.digest else ""
        return f"{self.name!r} ({self.family}, {self.dim}-d{tail})"

    def matches(self, recorded: dict) -> bool:
        """Is this the model a column records (`parse_model_comment`'s dict)? Digests decide when
        both are known; otherwise the names must be equal (and the dimensions, when recorded)."""
        rec_digest = recorded.get("digest")
        if rec_digest and self.digest:
            return rec_digest == self.digest
        dim = recorded.get("dim", "")
        if dim.isdigit() and int(dim) != self.dim:
            return False
        return recorded.get("model") == safe_name(self.name)


def describe_recorded(recorded: dict) -> str:
    """A column's recorded model, as `ModelIdentity.describe` shows one."""
    bits = [b for b in (recorded.get("family"), f"{recorded['dim']}-d" if recorded.get("dim") else None,
                        f"digest {recorded['digest']}" if recorded.get("digest") else None) if b]
    return f"{recorded.get('model', '?')!r}" + (f" ({', '.join(bits)})" if bits else "")


def safe_name(name: str) -> str:
    """A name as it can stand in a column comment: no spaces, quotes, `;` or `=`."""
    return _SAFE_NAME.sub("_", name).strip("_") or "model"


def identify(ref: ModelRef | str | None = None) -> ModelIdentity:
    """The identity of a model from its files, without loading it (config.json + weights digest).

    Raises ModelLoadError when the files are not here and the model is not a well-known hub id
    (`KNOWN`), or when config.json is unreadable or names no known family."""
    from .families import family_of

    mref = ref if isinstance(ref, ModelRef) else resolve_model(ref)
    if mref.error is not None:
        raise mref.error
    if mref.directory is None:
        known = KNOWN.get(mref.name)
        if known:
            return ModelIdentity(known[0], mref.name, known[1], None)
        raise ModelLoadError(f"cannot identify model {mref.ref!r}: it is not in the local Hugging Face cache "
                             f"({hf_cache_root()})", hint=how_to_supply(mref.ref))
    config = read_config(mref.directory, mref.ref)
    fam = family_of(config, mref.ref)
    try:
        digest = weights_digest(mref.directory, fam.name, fam.dim(config))
    except _BrokenWeights as e:
        raise ModelLoadError(f"cannot load model {mref.ref!r}: {e}",
                             hint="copy or download the model again (an interrupted copy leaves a short "
                                  "file); " + how_to_supply(mref.ref)) from None
    return ModelIdentity(fam.name, mref.name, fam.dim(config), digest)


class _BrokenWeights(Exception):
    """A model directory's weights cannot be read whole: no weights file, or a safetensors file
    whose header is unreadable or names more bytes than the file has."""


def read_config(directory: Path, ref: str) -> dict:
    """config.json of a model directory as a dict; ModelLoadError when missing or not JSON."""
    path = directory / "config.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelLoadError(f"cannot load model {ref!r}: {directory} is not a saved model (no config.json)",
                             hint=how_to_supply(ref)) from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ModelLoadError(f"cannot load model {ref!r}: {path} is unreadable ({e})",
                             hint=how_to_supply(ref)) from None
    if not isinstance(data, dict):
        raise ModelLoadError(f"cannot load model {ref!r}: {path} is not a JSON object", hint=how_to_supply(ref))
    return data


# ---------------------------------------------------------------- the weights digest

def _weight_files(directory: Path) -> list[Path]:
    files = sorted(directory.glob("*.safetensors"))
    if not files:
        files = sorted(directory.glob("*.bin")) + sorted(directory.glob("*.pt"))
    return files


def _signature(directory: Path, files: list[Path]) -> str:
    parts = [str(directory)]
    for f in files + [directory / "config.json"]:
        try:
            st = f.stat()
        except OSError:
            continue
        parts.append(f"{f.name}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def weights_digest(directory: Path, model_type: str, dim: int) -> str:
    """The content digest of a model directory (see the module docstring); remembered per
    directory signature in `<cache dir>/models.json`."""
    files = _weight_files(directory)
    if not files:
        raise _BrokenWeights(f"{directory} holds no weights (no *.safetensors, *.bin or *.pt file)")
    sig = _signature(directory, files) + f"|{model_type}|{dim}"
    memo = _memo_path()
    with _lock:
        known = _read_memo(memo)
        if sig in known:
            return known[sig]
    h = hashlib.sha256(f"{model_type}\0{dim}\0".encode())
    prints: list[bytes] = []
    for f in files:
        if f.suffix != ".safetensors":
            prints.append(_raw_print(f))
            continue
        try:
            prints += _safetensors_prints(f)
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError, struct.error) as e:
            raise _BrokenWeights(f"{f} is incomplete or corrupt ({str(e)[:120]})") from None
    for p in sorted(prints):
        h.update(p)
    digest = h.hexdigest()[:DIGEST_LEN]
    with _lock:
        known = _read_memo(memo)
        known[sig] = digest
        if len(known) > 256:  # keep the newest entries
            known = dict(list(known.items())[-256:])
        _write_memo(memo, known)
    return digest


def _safetensors_prints(path: Path) -> list[bytes]:
    """One print per floating-point tensor of a safetensors file (dtype, shape, four samples of
    its bytes). Raises ValueError when the header is unreadable or its tensors end past the
    file's end (a short copy)."""
    out = []
    size_on_disk = path.stat().st_size
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        if n > 100_000_000:
            raise ValueError("header too large")
        header = json.loads(f.read(n))
        if not isinstance(header, dict):
            raise ValueError("its header is not a JSON object")
        base = 8 + n
        ends = [int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__" and isinstance(v, dict)]
        if not ends:
            raise ValueError("it holds no tensors")
        if base + max(ends) > size_on_disk:
            raise ValueError(f"its tensors need {base + max(ends):,} bytes, the file has {size_on_disk:,}")
        for name, info in header.items():
            if name == "__metadata__" or not isinstance(info, dict):
                continue
            dtype = str(info.get("dtype", ""))
            if not dtype.startswith(("F", "BF")):
                continue  # integer buffers (position ids) come and go between versions
            start, end = (int(x) for x in info["data_offsets"])
            size = end - start
            h = hashlib.sha256(f"{dtype}\0{info.get('shape')}\0".encode())
            for off in sorted({0, size // 3, (2 * size) // 3, max(0, size - _SAMPLE)}):
                f.seek(base + start + off)
                h.update(f.read(min(_SAMPLE, size - off)))
            out.append(h.digest())
    return out


def _raw_print(path: Path) -> bytes:
    """A non-safetensors weights file: its size and four samples of its bytes."""
    h = hashlib.sha256()
    try:
        size = path.stat().st_size
        h.update(str(size).encode())
        with open(path, "rb") as f:
            for off in sorted({0, size // 3, (2 * size) // 3, max(0, size - _SAMPLE)}):
                f.seek(off)
                h.update(f.read(_SAMPLE))
    except OSError:
        h.update(path.name.encode())
    return h.digest()


def _memo_path() -> Path:
    from .paths import cache_dir

    return cache_dir() / "models.json"


def _read_memo(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_memo(path: Path, data: dict) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)
    except OSError:
        pass  # best effort: the digest is recomputed next time
