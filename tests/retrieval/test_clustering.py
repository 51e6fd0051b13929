"""Near-duplicate rule: meaning by vector, facts by the linker; the digest's clusters use the same rule."""
from __future__ import annotations

import math

from retrieval.answers import Understood
from retrieval.clustering import (
    DUPLICATE_COSINE,
    Signature,
    cluster,
    cosine,
    facts_agree,
    first_duplicate,
    is_duplicate,
    normalise,
    signature,
)


def vec(*values: float) -> list[float]:
    return list(values)


def near(angle_degrees: float) -> list[float]:
    """A unit vector at an angle from (1, 0): cosine with (1, 0) is cos(angle)."""
    a = math.radians(angle_degrees)
    return [math.cos(a), math.sin(a)]


AKS_DE = Understood(workloads=("Azure Kubernetes Service",), countries=("DE",))


def test_signature_normalises_text_and_vector() -> None:
    sig = signature("  Who can do AKS in Germany?? ", vec(3.0, 4.0), AKS_DE)
    assert sig.text == "who can do aks in germany"
    assert sig.vector == (0.6, 0.8)
    assert sig.facts == {"countries": ("de",), "workloads": ("azure kubernetes service",)}
    assert normalise("What's ECIF?") == normalise("what's ecif")


def test_close_vectors_with_the_same_facts_are_duplicates() -> None:
    a = signature("Who can do AKS in Germany?", near(0), AKS_DE)
    b = signature("Which partners cover Kubernetes in DE?", near(20), AKS_DE)   # cos 0.94
    assert is_duplicate(b, a)


def test_close_vectors_about_another_country_are_not_duplicates() -> None:
    a = signature("Who can do AKS in Germany?", near(0), AKS_DE)
    france = signature("Who can do AKS in France?", near(5), Understood(workloads=AKS_DE.workloads, countries=("FR",)))
    assert cosine(a.vector, france.vector) > 0.99
    assert not is_duplicate(france, a)


def test_a_narrowing_fact_named_on_one_side_only_makes_a_new_question() -> None:
    everywhere = signature("Who can do AKS?", near(0), Understood(workloads=AKS_DE.workloads))
    germany = signature("Who can do AKS in Germany?", near(10), AKS_DE)
    assert not is_duplicate(germany, everywhere)
    assert not facts_agree({"segments": ("smc",)}, {})


def test_a_subject_left_implicit_on_one_side_is_tolerated_but_two_subjects_differ() -> None:
    assert facts_agree({"programs": ("ecif",)}, {})
    assert not facts_agree({"programs": ("ecif",)}, {"programs": ("azure innovate",)})


def test_far_vectors_are_not_duplicates_and_identical_text_always_is() -> None:
    a = signature("What is ECIF?", near(0), Understood())
    far = signature("How do I register a co-sell deal?", near(60), Understood())   # cos 0.5
    assert not is_duplicate(far, a)
    assert is_duplicate(signature("what is ECIF", None, Understood()), signature("What is ECIF?", None, Understood()))
    threshold_angle = math.degrees(math.acos(DUPLICATE_COSINE))
    assert is_duplicate(signature("x", near(threshold_angle - 1), Understood()), a)
    assert not is_duplicate(signature("x", near(threshold_angle + 1), Understood()), a)


def test_first_duplicate_prefers_the_closest_earlier_question() -> None:
    earlier = [signature("q1", near(30), Understood()), signature("q2", near(2), Understood()),
               signature("q3", near(90), Understood())]
    assert first_duplicate(signature("new", near(0), Understood()), earlier) == 1
    assert first_duplicate(signature("new", near(60), Understood()), earlier[1:2]) is None


def test_cluster_groups_in_order_asked() -> None:
    sigs = [signature("a", near(0), Understood()), signature("b", near(80), Understood()),
            signature("a again", near(10), Understood()), signature("b again", near(75), Understood()),
            Signature("c", (), {})]
    assert cluster(sigs) == [[0, 2], [1, 3], [4]]


def test_the_same_answer_needs_less_similarity_and_unknown_words_do_not_split_document_questions() -> None:
    faq = Understood(unknown_terms=("sept",))
    a = signature("can they renew early in sept?", near(0), faq, "document", "Renewal|faq.yml|section 'A'")
    b = signature("can I renew under legacy in September?", near(50), Understood(unknown_terms=("september",)),
                  "document", "Renewal|faq.yml|section 'A'")                       # cos 0.64, same passage
    assert is_duplicate(b, a)
    other_passage = Signature(b.text, b.vector, b.facts, "document", "Renewal|faq.yml|section 'B'")
    assert not is_duplicate(other_passage, a)
    # outside documents an unknown product name still tells two questions apart
    q1 = signature("price of Quantum Fabric?", near(0), Understood(unknown_terms=("quantum fabric",)), "no_match")
    q2 = signature("price of Quantum Widget?", near(5), Understood(unknown_terms=("quantum widget",)), "no_match")
    assert not is_duplicate(q2, q1)


def test_equal_facts_make_the_same_structured_question_whatever_the_wording() -> None:
    aks = Understood(workloads=("Azure Kubernetes Service",), countries=("PL",), industries=("Retail",))
    a = signature("Who can do AKS for a retail customer in Poland?", near(0), aks, "coverage")
    b = signature("Which partners cover Azure Kubernetes Service for retail in Poland?", near(60), aks, "coverage")
    assert is_duplicate(b, a)                                   # cos 0.5: the facts decide
    as_document = Signature(b.text, b.vector, b.facts, "document")
    assert not is_duplicate(as_document, Signature(a.text, a.vector, a.facts, "document"))
