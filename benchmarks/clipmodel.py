"""A ViT-B/32-shaped CLIP with random weights, saved like a real one (save_pretrained + CLIPProcessor).

`CLIPConfig()` with default arguments has exactly ViT-B/32's shapes (151M parameters): 12-layer
512-wide text transformer, 12-layer 768-wide vision transformer on 224 px / 32 px patches, 512-d
projections. The weights are random, the compute per token / per image is the real one.

There is no real BPE vocabulary offline, so the tokenizer is built from a byte alphabet plus
whole-word merges for a small word list: "a photo of a cat on the beach" becomes 8 word tokens
+ BOS/EOS = 10 tokens, as with OpenAI's tokenizer. The text tower's vocab_size is set to this
tokenizer's size (the embedding table is smaller; the per-token compute is the same).
"""
from __future__ import annotations

import json
from pathlib import Path

WORDS = ("a an the of on in at with and photo picture image cat cats dog dogs man woman child people "
         "beach sea sunset mountain mountains snow city street night car red blue green yellow black "
         "white house tree trees forest river lake sky clouds bird flower flowers food coffee table "
         "standing running sitting walking old young small big").split()

QUERY = "a photo of a cat on the beach"


def _word_merges(words):
    merges, seen = [], set()
    for w in words:
        parts = list(w[:-1]) + [w[-1] + "</w>"]
        cur = parts[0]
        for p in parts[1:]:
            pair = (cur, p)
            if pair not in seen:
                seen.add(pair)
                merges.append(pair)
            cur = cur + p
    return merges


def build_bench_clip(directory: Path, *, tiny: bool = False, seed: int = 0) -> Path:
    """Save a random CLIP (ViT-B/32 shapes, or a tiny one for smoke runs) with a working processor."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    directory = Path(directory)
    if (directory / "config.json").is_file() and (directory / "model.safetensors").is_file():
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    chars = list(bytes_to_unicode().values())
    vocab = chars + [c + "</w>" for c in chars]
    merges = _word_merges(WORDS)
    vocab += [a + b for a, b in merges if a + b not in vocab]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    (directory / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (directory / "merges.txt").write_text("#version: 0.2\n" + "\n".join(f"{a} {b}" for a, b in merges) + "\n")
    tok = CLIPTokenizer.from_pretrained(directory)
    text = dict(vocab_size=len(vocab), bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                pad_token_id=tok.pad_token_id, max_position_embeddings=77)
    if tiny:
        text.update(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2)
        vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                      image_size=32, patch_size=8)
        size = 32
    else:
        vision = {}  # CLIPVisionConfig defaults: ViT-B/32, 224 px
        size = 224
    cfg = CLIPConfig(text_config=text, vision_config=vision, projection_dim=512)
    torch.manual_seed(seed)
    model = CLIPModel(cfg)
    proc = CLIPProcessor(
        image_processor=CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size}),
        tokenizer=tok,
    )
    model.save_pretrained(directory)
    proc.save_pretrained(directory)
    return directory


def n_params(directory: Path) -> int:
    from transformers import CLIPModel

    return sum(p.numel() for p in CLIPModel.from_pretrained(directory).parameters())
