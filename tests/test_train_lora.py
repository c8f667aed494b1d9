"""LoRA training and its GGUF export.

* Pure tests (numpy and the `gguf` package only): the HF -> llama.cpp tensor names, the adapter file's
  metadata and tensors, the manifest, batch planning, the LR schedule, the data hash.
* Loop tests on a tiny randomly initialised Qwen2 (fast, no model file): resume from a checkpoint gives
  the same weights as an uninterrupted run; a checkpoint of another run is refused.
* Model tests (slow, the real 0.5B GGUF): the training prompt tokenises exactly as llama.cpp's
  chat completion does; a 3-step run's adapter loads in llama.cpp and raises the completion's
  log-probability there.

Missing training stack or model: a skip on a dev machine, a failure under CI=true (CI installs the
`train` extra and fetches the 0.5B, and must not go green by skipping).
"""
from __future__ import annotations

import dataclasses
import importlib
import itertools
import json
import math
import os
import sys
from pathlib import Path

import pytest

from train.base_model import require_training_stack
from train.batches import lr_lambda, plan_batches
from train.config import TrainConfig
from train.encoding import IGNORE, Encoded, data_hash, validate_examples
from train.errors import AdapterExportError, TrainError, TrainingDataError, TrainingDependencyMissing
from train.export import (
    MANIFEST_FORMAT,
    adapter_sha256,
    gguf_tensor_name,
    manifest_path,
    write_lora_gguf,
    write_manifest,
)

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SMALL_MODEL = "qwen2.5-coder-0.5b"
SYSTEM = "You write SQLite SQL for the passenger database."
PAIRS = [
    ("How many passengers are there?", "SELECT COUNT(*) FROM passengers"),
    ("List all passenger names.", "SELECT name FROM passengers"),
    ("How many flights are there?", "SELECT COUNT(*) FROM flights"),
    ("Show the passengers from Spain.", "SELECT * FROM passengers WHERE nationality = 'ES'"),
    ("Count the bookings.", "SELECT COUNT(*) FROM bookings"),
    ("List the flight numbers.", "SELECT flight_number FROM flights"),
    ("¿Cuántos pasajeros son de Francia?", "SELECT COUNT(*) FROM passengers WHERE nationality = 'FR'"),
    ("Show every booking.", "SELECT * FROM bookings"),
]
EXAMPLES = [{"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": q}], "completion": a}
            for q, a in PAIRS]


def need(module: str):
    """Import `module`, or skip (dev machine) / fail (CI) with the install line."""
    try:
        return importlib.import_module(module)
    except ImportError:
        message = f"{module} is not installed: pip install torch==2.13.0 && pip install -e '.[train]'"
        if IN_CI:
            pytest.fail(message + " (CI installs the train extra)")
        pytest.skip(message)


def small_model_path() -> Path:
    from assistant.errors import ModelNotFound
    from assistant.llm.models import locate

    try:
        return locate(SMALL_MODEL).path
    except ModelNotFound as exc:
        if IN_CI:
            pytest.fail(f"{exc} (CI fetches it)")
        pytest.skip(f"{exc}")


# ---------------------------------------------------------------- names and files (no torch)

@pytest.mark.parametrize(("peft_name", "expected"), [
    ("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", ("blk.0.attn_q.weight", "a")),
    ("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", ("blk.0.attn_q.weight", "b")),
    ("base_model.model.model.layers.7.self_attn.k_proj.lora_A.default.weight", ("blk.7.attn_k.weight", "a")),
    ("model.layers.12.self_attn.v_proj.lora_B.default.weight", ("blk.12.attn_v.weight", "b")),
    ("base_model.model.model.layers.3.self_attn.o_proj.lora_A.weight", ("blk.3.attn_output.weight", "a")),
    ("base_model.model.model.layers.23.mlp.gate_proj.lora_A.weight", ("blk.23.ffn_gate.weight", "a")),
    ("base_model.model.model.layers.1.mlp.up_proj.lora_B.weight", ("blk.1.ffn_up.weight", "b")),
    ("base_model.model.model.layers.27.mlp.down_proj.lora_B.weight", ("blk.27.ffn_down.weight", "b")),
])
def test_peft_names_map_to_llama_cpp_tensor_names(peft_name, expected):
    assert gguf_tensor_name(peft_name) == expected


@pytest.mark.parametrize("peft_name", [
    "base_model.model.model.embed_tokens.lora_embedding_A.default",
    "base_model.model.lm_head.lora_A.weight",
    "base_model.model.model.layers.0.self_attn.q_proj.base_layer.weight",
    "base_model.model.model.layers.0.self_attn.rotary.lora_A.weight",
])
def test_unmappable_tensors_are_refused(peft_name):
    with pytest.raises(AdapterExportError):
        gguf_tensor_name(peft_name)


def _numpy_lora(layers=2, rank=4, hidden=16, inter=40, kv=8, seed=0):
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(seed)
    shapes = {"self_attn.q_proj": (hidden, hidden), "self_attn.k_proj": (hidden, kv), "self_attn.v_proj": (hidden, kv),
              "self_attn.o_proj": (hidden, hidden), "mlp.gate_proj": (hidden, inter), "mlp.up_proj": (hidden, inter),
              "mlp.down_proj": (inter, hidden)}
    state = {}
    for layer in range(layers):
        for module, (n_in, n_out) in shapes.items():
            prefix = f"base_model.model.model.layers.{layer}.{module}"
            state[f"{prefix}.lora_A.weight"] = rng.normal(size=(rank, n_in)).astype("float32")
            state[f"{prefix}.lora_B.weight"] = rng.normal(size=(n_out, rank)).astype("float32") * 1e-2
    return state


def test_adapter_file_has_llama_cpp_metadata_and_tensors(tmp_path):
    gguf = need("gguf")
    np = pytest.importorskip("numpy")
    state = _numpy_lora()
    out = tmp_path / "adapter.gguf"
    summary = write_lora_gguf(state, out, alpha=8, rank=4, architecture="qwen2")
    assert summary["pairs"] == 14 and summary["size"] == out.stat().st_size
    assert not [p for p in tmp_path.iterdir() if p.name != "adapter.gguf"], "no temp file left behind"

    reader = gguf.GGUFReader(str(out))
    fields = {name: reader.get_field(name).contents() for name in
              ("general.architecture", "general.type", "adapter.type", "adapter.lora.alpha")}
    assert fields == {"general.architecture": "qwen2", "general.type": "adapter", "adapter.type": "lora",
                      "adapter.lora.alpha": 8.0}
    tensors = {t.name: t for t in reader.tensors}
    assert len(tensors) == 28
    a, b = tensors["blk.1.ffn_down.weight.lora_a"], tensors["blk.1.ffn_down.weight.lora_b"]
    # ggml ne is the numpy shape reversed: A (r, in) -> ne (in, r); B (out, r) -> ne (r, out).
    assert list(a.shape) == [40, 4] and list(b.shape) == [4, 16]
    assert a.tensor_type == gguf.GGMLQuantizationType.F16
    source = state["base_model.model.model.layers.1.mlp.down_proj.lora_A.weight"]
    np.testing.assert_allclose(np.asarray(a.data, dtype=np.float32).reshape(source.shape), source, rtol=1e-3, atol=1e-3)


def test_export_refuses_incomplete_or_broken_pairs(tmp_path):
    need("gguf")
    np = pytest.importorskip("numpy")
    state = _numpy_lora(layers=1)
    del state["base_model.model.model.layers.0.mlp.up_proj.lora_B.weight"]
    with pytest.raises(AdapterExportError, match="missing lora_B"):
        write_lora_gguf(state, tmp_path / "a.gguf", alpha=8, rank=4)
    with pytest.raises(AdapterExportError, match="expected A"):
        write_lora_gguf(_numpy_lora(layers=1), tmp_path / "a.gguf", alpha=8, rank=8)
    broken = _numpy_lora(layers=1)
    broken["base_model.model.model.layers.0.mlp.up_proj.lora_B.weight"][0, 0] = 1e6  # overflows f16
    with pytest.raises(AdapterExportError, match="non-finite"):
        write_lora_gguf(broken, tmp_path / "a.gguf", alpha=8, rank=4)
    assert not list(tmp_path.iterdir())
    assert np is not None


def test_manifest_describes_the_adapter_file(tmp_path):
    need("gguf")
    out = tmp_path / "abordo-demo.gguf"
    write_lora_gguf(_numpy_lora(layers=1), out, alpha=8, rank=4)
    config = TrainConfig(rank=4, alpha=8)
    path = write_manifest(out, base_model=SMALL_MODEL, base_file=f"{SMALL_MODEL}.gguf", base_sha256="ab" * 32,
                          architecture="qwen2", hyperparameters=config.as_dict(), loss_curve=[(1, 2.5), (2, 1.25)],
                          train_seconds=12.345, tokens_per_second=85.04, data_hash="cd" * 32,
                          extra={"data_counts": {"train": 8, "dropped": 0}, "command": "abordo train --demo"})
    assert path == manifest_path(out) == tmp_path / "abordo-demo.gguf.manifest.json"
    manifest = json.loads(path.read_text())
    assert manifest["format"] == MANIFEST_FORMAT
    assert manifest["adapter_sha256"] == adapter_sha256(out) and manifest["adapter_size"] == out.stat().st_size
    assert manifest["base_model"] == SMALL_MODEL and manifest["base_sha256"] == "ab" * 32
    assert manifest["architecture"] == "qwen2" and manifest["data_hash"] == "cd" * 32
    assert manifest["data_counts"] == {"train": 8, "dropped": 0} and manifest["command"] == "abordo train --demo"
    assert manifest["hyperparameters"]["rank"] == 4
    assert manifest["hyperparameters"]["target_modules"] == list(config.target_modules)
    assert manifest["loss_curve"] == [[1, 2.5], [2, 1.25]]
    assert manifest["train_seconds"] == 12.35 and manifest["tokens_per_second"] == 85.0
    assert manifest["trained_on"]["device"] == "cpu" and manifest["trained_on"]["cpu_count"] == os.cpu_count()
    assert manifest["created"].endswith("Z")
    with pytest.raises(AdapterExportError, match="override"):
        write_manifest(out, base_model=None, base_file="x.gguf", base_sha256="", architecture="qwen2",
                       hyperparameters={}, loss_curve=[], train_seconds=0, tokens_per_second=0,
                       extra={"adapter_sha256": "forged"})


# ---------------------------------------------------------------- data, batches, schedule (no torch)

def test_plan_covers_each_example_once_per_epoch_and_is_deterministic():
    lengths = [10 + (i * 37) % 90 for i in range(50)]
    plan = plan_batches(lengths, batch_size=8, seed=7, epochs=2)
    assert len(plan) == 2 * math.ceil(50 / 8)
    first, second = plan[:7], plan[7:]
    assert sorted(i for b in first for i in b) == list(range(50)) == sorted(i for b in second for i in b)
    assert first != second, "each epoch is shuffled anew"
    assert plan == plan_batches(lengths, batch_size=8, seed=7, epochs=2)
    assert plan != plan_batches(lengths, batch_size=8, seed=8, epochs=2)
    # bucketed: batches are length-sorted slices, so padding is far below a random batching's
    padded = sum(len(b) * max(lengths[i] for i in b) - sum(lengths[i] for i in b) for b in first)
    assert padded < 0.5 * sum(lengths)
    assert len(plan_batches(lengths, batch_size=8, seed=7, epochs=0.5)) == 4


def test_learning_rate_warms_up_then_decays_without_a_zero_step():
    factor = lr_lambda(total_steps=10, warmup_steps=2)
    values = [factor(s) for s in range(10)]
    assert values[0] == 0.5 and values[1] == values[2] == 1.0
    assert all(a > b for a, b in itertools.pairwise(values[2:]))
    assert values[-1] > 0


def test_data_hash_and_validation():
    assert data_hash(EXAMPLES) == data_hash([dict(e) for e in EXAMPLES])
    assert data_hash(EXAMPLES) != data_hash(EXAMPLES[::-1])
    assert data_hash(EXAMPLES) != data_hash(EXAMPLES[:-1] + [{**EXAMPLES[-1], "completion": "SELECT 1"}])
    validate_examples(EXAMPLES)
    for bad in ([], [{"messages": [], "completion": "SELECT 1"}],
                [{"messages": [{"role": "assistant", "content": "x"}], "completion": "SELECT 1"}],
                [{"messages": EXAMPLES[0]["messages"], "completion": " "}]):
        with pytest.raises(TrainingDataError):
            validate_examples(bad)


def test_config_identity_ignores_run_length_and_checks_values():
    assert TrainConfig(max_steps=3, checkpoint_every=1).identity() == TrainConfig().identity()
    assert TrainConfig(learning_rate=1e-3).identity() != TrainConfig().identity()
    with pytest.raises(TrainError, match="rank"):
        TrainConfig(rank=0)


@pytest.mark.parametrize(("avx512_bf16", "amx", "expected"), [
    (False, False, False), (True, False, True), (False, True, True), (True, True, True)])
def test_bf16_is_the_default_only_where_the_cpu_multiplies_bf16_natively(monkeypatch, avx512_bf16, amx, expected):
    # Without AVX512-BF16 or AMX, PyTorch's bf16 matmul is a scalar fallback: a 1.5B step went from
    # 139 s (fp32) to more than 11 minutes on an AVX2-only EPYC. The default must follow the hardware.
    torch = need("torch")
    from train.config import native_bf16

    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    assert native_bf16() is expected
    assert TrainConfig().bf16 is expected
    assert TrainConfig(bf16=not expected).bf16 is (not expected)  # an explicit choice is kept


@pytest.mark.parametrize(("flag", "native", "expected"), [
    ("auto", False, False), ("auto", True, True), ("fp32", True, False), ("bf16", False, True)])
def test_train_command_precision_flag(monkeypatch, tmp_path, flag, native, expected):
    need("torch")
    from click.testing import CliRunner

    import assistant.llm.models
    import train.config
    import train.lora
    from abordo.cli import main

    seen = {}

    def capture(examples, base_gguf, out, config, **_kwargs):
        seen["config"] = config
        raise TrainError("stopped by the test before loading the model")

    monkeypatch.setenv("ABORDO_TRAIN_MALLOC", "system")  # no re-exec of the test process under jemalloc
    monkeypatch.setattr(train.config, "native_bf16", lambda: native)
    monkeypatch.setattr(train.lora, "train_adapter", capture)
    monkeypatch.setattr(assistant.llm.models, "locate", lambda name: assistant.llm.models.LocalModel(tmp_path / "m.gguf"))
    data = Path(__file__).resolve().parents[1] / "train" / "demo-data"
    result = CliRunner().invoke(main, ["train", "--data", str(data), "--out", str(tmp_path / "a.gguf"),
                                       "--precision", flag])
    assert "stopped by the test" in result.output
    assert seen["config"].bf16 is expected
    assert f"on the CPU in {'bf16' if expected else 'fp32'}" in result.output


def test_missing_training_stack_names_the_install_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "peft", None)  # makes `import peft` raise ImportError
    with pytest.raises(TrainingDependencyMissing, match=r"pip install torch==2\.13\.0 && pip install -e '\.\[train\]'"):
        require_training_stack()


# ---------------------------------------------------------------- the loop, on a tiny random Qwen2

def _tiny_peft(config: TrainConfig):
    torch = need("torch")
    transformers = need("transformers")
    need("peft")
    from train.base_model import make_peft_model

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    tiny = transformers.Qwen2Config(vocab_size=128, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                    num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
    torch.manual_seed(0)
    return make_peft_model(transformers.Qwen2ForCausalLM(tiny), config)


TINY_DATA = [Encoded(tuple(range(1, 10 + i)), tuple([IGNORE] * 5 + list(range(6, 10 + i)))) for i in range(8)]


def _loop(config, checkpoint_dir, identity=None, log=None):
    from train.loop import train_loop

    model = _tiny_peft(config)
    identity = identity or {"data_hash": "d1", "base_sha256": "b1", "config": config.identity()}
    result = train_loop(model, TINY_DATA, config, pad_id=0, identity=identity, checkpoint_dir=checkpoint_dir,
                        log=log, show_progress=False)
    return model, result


def _lora_weights(model):
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def test_resume_continues_exactly_where_the_checkpoint_left_off(tmp_path):
    config = TrainConfig(rank=4, alpha=8, batch_size=2, learning_rate=1e-2, checkpoint_every=1)
    _, first = _loop(dataclasses.replace(config, max_steps=2), tmp_path / "ck")
    assert first.steps == 2 and first.resumed_from is None and first.total_steps == 8
    assert json.loads((tmp_path / "ck" / "checkpoint.json").read_text())["step"] == 2

    said: list[str] = []
    three = dataclasses.replace(config, max_steps=3)
    resumed_model, resumed = _loop(three, tmp_path / "ck", log=said.append)
    assert resumed.resumed_from == 2 and resumed.steps == 3
    assert [s for s, _ in resumed.loss_curve] == [1, 2, 3]
    assert resumed.loss_curve[:2] == first.loss_curve
    assert any("resuming" in line and "step 2" in line for line in said)

    straight_model, straight = _loop(three, None)
    assert [round(v, 6) for _, v in straight.loss_curve] == [round(v, 6) for _, v in resumed.loss_curve]
    torch = need("torch")
    for name, weight in _lora_weights(straight_model).items():
        torch.testing.assert_close(_lora_weights(resumed_model)[name], weight, rtol=0, atol=1e-6)


def test_a_checkpoint_of_another_run_is_refused(tmp_path):
    config = TrainConfig(rank=4, alpha=8, batch_size=2, checkpoint_every=1, max_steps=1)
    _loop(config, tmp_path / "ck")
    other_data = {"data_hash": "d2", "base_sha256": "b1", "config": config.identity()}
    with pytest.raises(TrainError, match=r"checkpoint directory .*ck.* other data.*data_hash"):
        _loop(config, tmp_path / "ck", identity=other_data)
    other_lr = TrainConfig(rank=4, alpha=8, batch_size=2, checkpoint_every=1, max_steps=1, learning_rate=1e-3)
    with pytest.raises(TrainError, match="learning_rate"):
        _loop(other_lr, tmp_path / "ck")


def test_tiny_model_exports_one_pair_per_adapted_matrix(tmp_path):
    gguf = need("gguf")
    config = TrainConfig(rank=4, alpha=8, batch_size=2, max_steps=1)
    model, _ = _loop(config, None)
    summary = write_lora_gguf(model, tmp_path / "tiny.gguf", alpha=8, rank=4)
    assert summary["pairs"] == 2 * 7
    names = {t.name for t in gguf.GGUFReader(str(tmp_path / "tiny.gguf")).tensors}
    assert "blk.1.attn_k.weight.lora_b" in names and "blk.0.ffn_down.weight.lora_a" in names


# ---------------------------------------------------------------- the real 0.5B

@pytest.fixture(scope="module")
def small_gguf() -> Path:
    return small_model_path()


def _prompt_tokens_llama_cpp_sends(llm, messages) -> list[int]:
    """The token ids `create_chat_completion` evaluates for `messages` (its own template rendering)."""
    seen: list[list[int]] = []
    original = llm.tokenize

    def recording(text, add_bos=True, special=False):
        ids = original(text, add_bos, special)
        seen.append(ids)
        return ids

    llm.tokenize = recording
    try:
        llm.create_chat_completion(messages=messages, temperature=0, max_tokens=1)
    finally:
        llm.tokenize = original
    return seen[0]


def _completion_logprob(llm, prompt: list[int], completion: list[int]) -> float:
    np = pytest.importorskip("numpy")
    llm.reset()
    llm.eval(prompt + completion)
    logits = np.asarray(llm.scores[len(prompt) - 1: len(prompt) + len(completion) - 1], dtype=np.float64)
    top = logits.max(axis=1, keepdims=True)
    logprobs = logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))
    return float(sum(logprobs[i, token] for i, token in enumerate(completion)))


@pytest.mark.slow
@pytest.mark.model
def test_training_sequences_tokenise_as_llama_cpp_prompts(small_gguf):
    need("torch")
    transformers = need("transformers")
    need("gguf")
    from llama_cpp import Llama

    from train.encoding import encode_examples

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(small_gguf.parent), gguf_file=small_gguf.name)
    assert "<|im_start|>" in tokenizer.chat_template
    tricky = {"messages": [{"role": "system", "content": SYSTEM + "\nTables: passengers(id, name)  -- ñ, 日本"},
                           {"role": "user", "content": "¿Cuántos  pasajeros\n\nhay?  "}],
              "completion": "SELECT COUNT(*)\nFROM passengers"}
    encoded, dropped = encode_examples(tokenizer, EXAMPLES[:2] + [tricky], max_length=384)
    assert dropped == 0
    llm = Llama(model_path=str(small_gguf), n_ctx=512, n_threads=2, verbose=False)
    for example, enc in zip(EXAMPLES[:2] + [tricky], encoded):
        n_prompt = enc.labels.count(IGNORE)
        assert list(enc.input_ids[:n_prompt]) == _prompt_tokens_llama_cpp_sends(llm, example["messages"])
        answer = list(enc.input_ids[n_prompt:])
        assert list(enc.labels[n_prompt:]) == answer, "loss on every completion token"
        assert answer[-1] == llm.token_eos(), "the completion ends with <|im_end|>, where llama.cpp stops"
        assert llm.detokenize(answer[:-1]).decode() == example["completion"]
    lengths = [len(e) for e in encode_examples(tokenizer, EXAMPLES, max_length=384)[0]]
    kept, dropped = encode_examples(tokenizer, EXAMPLES, max_length=max(lengths) - 1)
    assert dropped == sum(n == max(lengths) for n in lengths) and len(kept) + dropped == len(EXAMPLES)


@pytest.mark.slow
@pytest.mark.model
def test_tiny_training_run_yields_an_adapter_llama_cpp_applies(small_gguf, tmp_path):
    need("torch")
    need("transformers")
    need("peft")
    need("gguf")
    from llama_cpp import Llama

    from train.config import native_bf16
    from train.lora import train_adapter

    out = tmp_path / "tiny-adapter.gguf"
    config = TrainConfig(rank=4, alpha=8, batch_size=2, max_steps=3, learning_rate=1e-3, checkpoint_every=2)
    result = train_adapter(EXAMPLES, small_gguf, out, config, checkpoint_dir=tmp_path / "ck", log=None,
                           show_progress=False, threads=2, extra_manifest={"command": "pytest"})
    assert result.steps == 3 and result.dropped == 0 and result.examples == len(EXAMPLES)
    assert [s for s, _ in result.loss_curve] == [1, 2, 3] and result.loss_curve[-1][1] < result.loss_curve[0][1]
    assert out.is_file() and result.adapter_size == out.stat().st_size
    manifest = json.loads(result.manifest.read_text())
    assert manifest["base_model"] == SMALL_MODEL and manifest["adapter_sha256"] == adapter_sha256(out)
    assert manifest["data_counts"] == {"examples": 8, "trained": 8, "dropped": 0}
    assert manifest["command"] == "pytest" and len(manifest["loss_curve"]) == 3
    assert manifest["hyperparameters"]["bf16"] is native_bf16()  # the precision the hardware makes fast
    assert manifest["trained_on"]["cpu_capability"] in ("DEFAULT", "AVX2", "AVX512", "ZVECTOR", "SVE256")

    base = Llama(model_path=str(small_gguf), n_ctx=512, n_threads=2, verbose=False, logits_all=True)
    tuned = Llama(model_path=str(small_gguf), lora_path=str(out), n_ctx=512, n_threads=2, verbose=False,
                  logits_all=True)
    reply = tuned.create_chat_completion(messages=EXAMPLES[0]["messages"], temperature=0, max_tokens=16)
    assert reply["choices"][0]["message"]["content"].strip()

    # The adapter must really be applied, in the direction it was trained: the training completions
    # become far more likely under llama.cpp (3 steps at lr 1e-3 move them by nats, not by noise).
    gains = []
    for example in EXAMPLES[:3]:
        prompt = _prompt_tokens_llama_cpp_sends(base, example["messages"])
        completion = base.tokenize(example["completion"].encode(), add_bos=False) + [base.token_eos()]
        gains.append(_completion_logprob(tuned, prompt, completion) - _completion_logprob(base, prompt, completion))
    assert min(gains) > 1.0, gains
