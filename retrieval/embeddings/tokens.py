"""Texts to token ids with the model's tokenizer.json (truncated at the sentence-transformers max_seq_length),
and ids to length-sorted, padded batches sized by their attention cost."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

# 256-token texts against plain 32-row batches: peak RSS 340 MB instead of 705 MB, and 23/s instead of 18/s.
MAX_ATTENTION_CELLS = 32 * 128 * 128


class Tokenizer:
    def __init__(self, path: Path, max_length: int) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(path))
        # tokenizer.json ships truncation at 128 and fixed padding to 128. sentence-transformers overrides both
        # (truncate at max_seq_length, pad to the longest); we pad per length-sorted batch in batches.
        self._tokenizer.enable_truncation(max_length)
        self._tokenizer.no_padding()
        pad_id = self._tokenizer.token_to_id("[PAD]")
        self.pad_id = 0 if pad_id is None else pad_id

    def encode(self, texts: list[str]) -> list[list[int]]:
        return [encoding.ids for encoding in self._tokenizer.encode_batch(texts)]


def batches(ids: list[list[int]], batch_size: int, pad_id: int,
             max_cells: int = MAX_ATTENTION_CELLS) -> Iterator[tuple[list[int], np.ndarray, np.ndarray]]:
    """Yield (original positions, input_ids, attention_mask) for length-sorted batches padded to their longest.

    Sorting keeps padding (wasted compute) small. A batch also stops growing when rows x longest^2 would pass
    max_cells: attention scores grow with the square of the length, and onnxruntime's arena keeps its peak.
    """
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    start = 0
    while start < len(order):
        end = start + 1
        while (end < len(order) and end - start < batch_size
               and (end - start + 1) * len(ids[order[end]]) ** 2 <= max_cells):
            end += 1
        positions = order[start:end]
        longest = len(ids[positions[-1]])
        input_ids = np.full((len(positions), longest), pad_id, dtype=np.int64)
        mask = np.zeros((len(positions), longest), dtype=np.int64)
        for row, i in enumerate(positions):
            input_ids[row, :len(ids[i])] = ids[i]
            mask[row, :len(ids[i])] = 1
        yield positions, input_ids, mask
        start = end

