"""How we find answers: index, embeddings, entity linking, structured queries, ranking, access, answer objects."""
import os

# onnxruntime (loaded by the embedder and by chromadb) phones home unless this is set before its import.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
