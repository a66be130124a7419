"""Shared test helpers: a tiny random CLIP saved to disk, a loopback HTTP image server, vector math.
Import as `tests.support` (tests/ is a package; conftest files hold fixtures only).

The tiny CLIP goes through exactly the loading code the real model uses
(`from_pretrained(dir)`), so tests exercise the real path with random weights.
"""
from __future__ import annotations

import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent  # the repository root (put on PYTHONPATH for subprocesses)
PHOTOS = REPO / "ingest" / "demo" / "photos"

TINY_DIM = 512  # projection dim: matches the built-in schema's 512-d column


def build_tiny_clip(directory: Path, projection_dim: int = TINY_DIM, seed: int = 0) -> Path:
    """Build a small random CLIPModel + a working CLIPProcessor and save_pretrained them."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    chars = list(bytes_to_unicode().values())
    vocab = chars + [c + "</w>" for c in chars]
    merges = [("t", "h"), ("th", "e</w>"), ("c", "a"), ("ca", "t</w>"), ("o", "n</w>"), ("a", "n")]
    vocab += [a + b for a, b in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    (directory / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (directory / "merges.txt").write_text("#version: 0.2\n" + "\n".join(f"{a} {b}" for a, b in merges) + "\n")
    tok = CLIPTokenizer.from_pretrained(directory)
    cfg = CLIPConfig(
        text_config=dict(
            vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=2, max_position_embeddings=77, bos_token_id=tok.bos_token_id,
            eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
        ),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                           num_attention_heads=2, image_size=32, patch_size=8),
        projection_dim=projection_dim,
    )
    torch.manual_seed(seed)
    model = CLIPModel(cfg)
    proc = CLIPProcessor(
        image_processor=CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}),
        tokenizer=tok,
    )
    model.save_pretrained(directory)
    proc.save_pretrained(directory)
    return directory


def jpeg_bytes(color=(200, 30, 30), size=(64, 48)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return buf.getvalue()


def png_bomb_bytes(side: int = 20000) -> bytes:
    """A tiny PNG that claims side x side pixels (400 Mpx): trips PIL's decompression-bomb guard."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("1", (side, side), 0).save(buf, "PNG", optimize=True)
    return buf.getvalue()


class ImageServer:
    """Serve fixture images and misbehaving responses on 127.0.0.1.

    Routes: /photos/<name> (the sample photos), /red.jpg, /404, /slow.jpg (sleeps `slow_seconds`),
    /truncated.jpg, /notimage.jpg (HTML with a .jpg name), /huge.jpg (over 20 MB),
    /bomb.png (decompression bomb), /redirect/<n> (n redirects then /red.jpg), /loop (redirects forever).
    Extra routes: `server.routes[path] = (status, content_type, body)`; `server.gate(path, body)`
    makes GET `path` wait until the test sets the returned event.
    """

    def __init__(self, slow_seconds: float = 30.0):
        self.slow_seconds = slow_seconds
        self.hits: dict[str, int] = {}
        self.gates: dict[str, threading.Event] = {}
        red = jpeg_bytes()
        self.routes: dict[str, tuple[int, str, bytes]] = {
            "/red.jpg": (200, "image/jpeg", red),
            "/blue.jpg": (200, "image/jpeg", jpeg_bytes((20, 40, 220))),
            "/truncated.jpg": (200, "image/jpeg", red[: len(red) // 2]),
            "/notimage.jpg": (200, "image/jpeg", b"<html><body>not an image</body></html>"),
            "/bomb.png": (200, "image/png", png_bomb_bytes()),
        }
        for p in PHOTOS.glob("*.jpg"):
            self.routes[f"/photos/{p.name}"] = (200, "image/jpeg", p.read_bytes())
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802
                path = self.path.split("?", 1)[0]
                server.hits[path] = server.hits.get(path, 0) + 1
                gate = server.gates.get(path)
                if gate is not None:
                    gate.wait(120)  # bounded: a test that fails before opening it frees the thread
                if path == "/slow.jpg":
                    time.sleep(server.slow_seconds)
                    return self._send(200, "image/jpeg", red)
                if path == "/huge.jpg":
                    self.send_response(200)
                    self.send_header("Content-Type", "image/jpeg")
                    self.end_headers()
                    chunk = b"\0" * (1 << 20)
                    try:
                        for _ in range(64):
                            self.wfile.write(chunk)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    return
                if path.startswith("/redirect/"):
                    n = int(path.rsplit("/", 1)[1])
                    target = "/red.jpg" if n <= 1 else f"/redirect/{n - 1}"
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.end_headers()
                    return
                if path == "/loop":
                    self.send_response(302)
                    self.send_header("Location", "/loop")
                    self.end_headers()
                    return
                if path in server.routes:
                    return self._send(*server.routes[path])
                self._send(404, "text/plain", b"not found")

            def _send(self, status, ctype, body):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return self.base + path

    def gate(self, path: str, body: bytes, content_type: str = "text/plain") -> threading.Event:
        """Serve `body` at `path`, but only once the returned event is set: whatever reads it (a
        fetch, an embedded query through url()) runs until the test says so, however slow the
        machine."""
        event = threading.Event()
        self.routes[path] = (200, content_type, body)
        self.gates[path] = event
        return event

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def cos(a, b) -> float:
    """Cosine similarity of two vectors (any sequences of numbers), in float64."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def unit(v) -> np.ndarray:
    """v scaled to length 1, as float64."""
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)
