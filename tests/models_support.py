"""Tiny random models of every family embedsql runs, saved with save_pretrained, so tests load
them through the real `AutoModel` / `AutoProcessor` path (no downloads).

- `build_tiny(family, directory)`: "clip", "siglip" (SigLIP layout with a Gemma tokenizer: the
  layout of the SigLIP 2 fixed-resolution checkpoints, the multilingual model we recommend),
  "siglip2" (SigLIP 2 NaFlex: variable patches), "chinese_clip" (BERT tokenizer),
  "altclip" (XLM-R tokenizer).
- `Reference`: each family's own pipeline, straight from transformers, as its model card uses it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

FAMILY_TEXTS = ["a cat on the beach", "一个男人站在海滩上", "the", "Ein Hund im Schnee", "the cat " * 60]

# the text towers are tiny; the dimensions differ per family so the schema has to follow them
DIMS = {"clip": 48, "siglip": 40, "siglip2": 40, "chinese_clip": 24, "altclip": 56, "siglip_spm": 32}

_WORDS = "a cat on the beach man standing dog in snow ein hund im schnee photo of an the".split()


def _chars() -> list[str]:
    return sorted(set("".join(_WORDS)) | set("一个男人站在海滩上") | set("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))


def _gemma_tokenizer():
    from transformers import GemmaTokenizer

    specials = ["<pad>", "<eos>", "<bos>", "<unk>"]
    vocab = {t: i for i, t in enumerate(specials)}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for c in ["▁"] + _chars():
        vocab.setdefault(c, len(vocab))
    merges = []
    for w in ["▁the", "▁cat", "▁a"]:
        cur = w[0]
        for ch in w[1:]:
            merges.append((cur, ch))
            cur += ch
            vocab.setdefault(cur, len(vocab))
    tok = GemmaTokenizer(vocab=vocab, merges=merges, add_bos_token=False, add_eos_token=True)
    tok.padding_side = "right"
    tok.model_max_length = 64
    return tok


def _siglip_spm_tokenizer(directory: Path):
    """SigLIP (v1)'s own SentencePiece tokenizer, trained on a few sentences (needs sentencepiece)."""
    import io

    import sentencepiece as spm
    from transformers import SiglipTokenizer

    text = ["a cat on the beach", "a man standing on the beach", "ein hund im schnee", "photo of an old dog"] * 40
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(text), model_writer=buf, vocab_size=60,
                                   model_type="unigram", pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
                                   character_coverage=1.0, hard_vocab_limit=False, minloglevel=2)
    path = directory / "spiece.model"
    path.write_bytes(buf.getvalue())
    tok = SiglipTokenizer(vocab_file=str(path))
    tok.model_max_length = 64
    return tok


def _bert_tokenizer():
    from transformers import BertTokenizer

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + _WORDS + _chars()
    tok = BertTokenizer(vocab={t: i for i, t in enumerate(dict.fromkeys(vocab))})
    tok.model_max_length = 52
    return tok


def _xlmr_tokenizer():
    from transformers import XLMRobertaTokenizer

    pieces = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    pieces += [("▁" + w, -2.0) for w in _WORDS] + [(c, -5.0) for c in ["▁"] + _chars()]
    pieces.append(("<mask>", 0.0))
    tok = XLMRobertaTokenizer(vocab=pieces)
    tok.model_max_length = 77
    return tok


def build_tiny(family: str, directory: Path, seed: int = 0) -> Path:
    """Build and save_pretrained a tiny random model of `family` (and its processor) in `directory`."""
    import torch

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    dim = DIMS[family]
    small = dict(intermediate_size=64, num_hidden_layers=2, num_attention_heads=2)
    if family == "clip":
        from tests.support import build_tiny_clip

        return build_tiny_clip(directory, projection_dim=dim, seed=seed)
    if family in ("siglip", "siglip_spm"):  # siglip_spm: SigLIP (v1) as google/siglip-* ships, SentencePiece
        from transformers import SiglipConfig, SiglipImageProcessorPil, SiglipModel, SiglipProcessor

        tok = _gemma_tokenizer() if family == "siglip" else _siglip_spm_tokenizer(directory)
        cfg = SiglipConfig(
            text_config=dict(vocab_size=len(tok), hidden_size=dim, max_position_embeddings=64,
                             pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                             bos_token_id=tok.bos_token_id if family == "siglip" else None, **small),
            vision_config=dict(hidden_size=dim, image_size=32, patch_size=8, **small))
        model = SiglipModel(cfg)
        proc = SiglipProcessor(image_processor=SiglipImageProcessorPil(size={"height": 32, "width": 32}),
                               tokenizer=tok)
    elif family == "siglip2":
        from transformers import Siglip2Config, Siglip2ImageProcessorPil, Siglip2Model, Siglip2Processor

        tok = _gemma_tokenizer()
        cfg = Siglip2Config(
            text_config=dict(vocab_size=len(tok), hidden_size=dim, max_position_embeddings=64,
                             pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                             bos_token_id=tok.bos_token_id, **small),
            vision_config=dict(hidden_size=dim, num_patches=256, patch_size=16, **small))
        model = Siglip2Model(cfg)
        # the processor's call defaults (16-pixel patches, 256 of them) win over its saved settings
        proc = Siglip2Processor(image_processor=Siglip2ImageProcessorPil(), tokenizer=tok)
    elif family == "chinese_clip":
        from transformers import (ChineseCLIPConfig, ChineseCLIPImageProcessorPil, ChineseCLIPModel,
                                  ChineseCLIPProcessor)

        tok = _bert_tokenizer()
        cfg = ChineseCLIPConfig(
            text_config=dict(vocab_size=len(tok), hidden_size=32, max_position_embeddings=64,
                             initializer_range=0.5, **small),  # BERT-style init is so small all texts agree
            vision_config=dict(hidden_size=32, image_size=32, patch_size=8, **small), projection_dim=dim)
        model = ChineseCLIPModel(cfg)
        proc = ChineseCLIPProcessor(
            image_processor=ChineseCLIPImageProcessorPil(size={"shortest_edge": 32},
                                                         crop_size={"height": 32, "width": 32}),
            tokenizer=tok)
    elif family == "altclip":
        from transformers import AltCLIPConfig, AltCLIPModel, AltCLIPProcessor, CLIPImageProcessorPil

        tok = _xlmr_tokenizer()
        cfg = AltCLIPConfig(
            text_config=dict(vocab_size=len(tok), hidden_size=32, max_position_embeddings=80, project_dim=dim,
                             initializer_range=0.5,
                             pad_token_id=tok.pad_token_id, **small),
            vision_config=dict(hidden_size=32, image_size=32, patch_size=8, **small), projection_dim=dim)
        model = AltCLIPModel(cfg)
        proc = AltCLIPProcessor(
            image_processor=CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}),
            tokenizer=tok)
    else:
        raise ValueError(family)
    model.save_pretrained(directory)
    proc.save_pretrained(directory)
    return directory


class Reference:
    """A family's own pipeline, as its model card writes it: AutoProcessor + the model's
    get_text_features / get_image_features, padding as the family was trained (SigLIP:
    padding="max_length"). `model_class` / `processor_class` (default AutoModel /
    AutoProcessor) load the directory with a family's own classes instead (CLIPModel ...).
    `texts` / `images` return unit rows, shape (n, dim), float64."""

    PADDING = {"siglip": "max_length", "siglip2": "max_length", "siglip_spm": "max_length"}
    MAX_LEN = {"clip": 77, "siglip": 64, "siglip2": 64, "chinese_clip": 52, "altclip": 77, "siglip_spm": 64}

    def __init__(self, family: str, directory: Path, model_class=None, processor_class=None):
        import torch
        from transformers import AutoModel, AutoProcessor

        self.torch = torch
        self.family = family
        self.model = (model_class or AutoModel).from_pretrained(directory).eval()
        self.processor = (processor_class or AutoProcessor).from_pretrained(directory)

    @staticmethod
    def _pooled(out):
        return out.pooler_output if hasattr(out, "pooler_output") else out

    def texts(self, texts: list[str]) -> np.ndarray:
        inputs = self.processor(text=texts, padding=self.PADDING.get(self.family, True), truncation=True,
                                max_length=self.MAX_LEN[self.family], return_tensors="pt")
        with self.torch.no_grad():
            v = self._pooled(self.model.get_text_features(**inputs)).numpy().astype(np.float64)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def images(self, images) -> np.ndarray:
        inputs = self.processor(images=[im.convert("RGB") for im in images], return_tensors="pt")
        with self.torch.no_grad():
            v = self._pooled(self.model.get_image_features(**inputs)).numpy().astype(np.float64)
        return v / np.linalg.norm(v, axis=1, keepdims=True)
