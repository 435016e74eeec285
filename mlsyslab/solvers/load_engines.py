"""Engine profiles of the load simulator: each serving engine's documented scheduler defaults.

A profile sets how many requests run at once (fixed, or derived from the KV pool), the token
budget of a step, whether prompt chunks ride in decode steps (mixed steps) or run in
prefill-only steps, the memory given to weights + KV-cache, the KV block (page) size, the
admission rule (watermark, tokens reserved for the running requests' future output), the
preemption policy, whether the scheduler overlaps the GPU (runs one step ahead, so a request
that arrives while a step runs joins the step after next) and whether requests pass through a
Python front end (HTTP server, tokenizer) before the scheduler sees them. Every value names its source (code path or docs page, with the version).

``PROFILES[name].resolve(hw, model, tp)`` returns the plain settings for one deployment (some
defaults depend on the device's memory or the TP degree, as in the engines).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ValidationError

GiB = 2 ** 30

#: The engine when none is named: vLLM with its V1 scheduler. vLLM is the most used open
#: engine (the most-installed of the three on PyPI and the one most published benchmarks run),
#: and V1 has been its default scheduler since v0.8.0 and its only one since v0.11.0.
DEFAULT_ENGINE = "vllm"


@dataclass(frozen=True)
class EngineProfile:
    """One engine's scheduler defaults (see module doc); ``sources`` cites each of them."""

    name: str
    label: str
    mixed: bool  # prompt chunks ride in decode steps (else prefill-only steps, decodes wait)
    split_prompts: bool  # a prompt longer than the step's budget left is cut into chunks
    block_size: int  # tokens per KV block (page)
    memory_rule: str  # "total": util x memory - weights; "free": util x (memory - weights)
    watermark: float  # fraction of KV blocks kept free at admission
    reserve_init: float  # fraction of each running request's remaining output reserved at admission
    reserve_min: float  # ... after decaying (SGLang's new_token_ratio)
    reserve_decay_steps: int  # decode steps to decay from init to min (0: no decay)
    preempt: bool  # running requests are preempted (recompute) when the pool runs out
    profiled_forward: bool = False  # the forward peak of a max_batched_tokens step is kept out of the pool
    sampler_bytes: float = 0.0  # bytes per logit (sequence x vocabulary entry) of the profiling sampler run
    overlap: bool = False  # the scheduler runs one step ahead of the GPU: a prompt that arrives mid-step waits one more step
    frontend: str = "native"  # "python": requests cross a Python HTTP server and tokenizer (load_request_overhead_s)
    sources: dict = field(default_factory=dict)

    def resolve(self, hw, model, tp, max_model_len=None, chunked=None, scheduler_steps=1):
        """``dict(max_num_seqs, max_batched_tokens, memory_utilization, seats_from_pool, mixed)`` for a deployment.

        ``max_model_len`` (the server's ``--max-model-len``) matters to ``vllm-v0`` only; None keeps the
        profile's stand-in (no chunked prefill, 8192-token steps), a number applies vLLM V0's own rules
        (:func:`vllm_v0_defaults`). ``chunked``: the user's ``chunked_prefill`` (None: the default)."""
        out = self._resolve(hw, model, tp)
        out["mixed"] = self.mixed if chunked is None else bool(chunked)
        if self.name == "vllm-v0" and max_model_len is not None:
            mixed, budget = vllm_v0_defaults(int(max_model_len), chunked, scheduler_steps)
            out.update(mixed=mixed, max_batched_tokens=budget)
        return out

    def _resolve(self, hw, model, tp):
        mem = hw.memory_bytes
        if self.name == "vllm":
            big = mem >= 70 * GiB and "a100" not in hw.key.lower()
            return dict(max_num_seqs=1024 if big else 256, max_batched_tokens=8192 if big else 2048,
                        memory_utilization=0.9, seats_from_pool=False)
        if self.name == "vllm-v0":
            return dict(max_num_seqs=256, max_batched_tokens=8192, memory_utilization=0.9, seats_from_pool=False)
        if self.name == "sglang":
            chunk, util = sglang_defaults(mem, tp)
            return dict(max_num_seqs=None, max_batched_tokens=chunk, memory_utilization=util, seats_from_pool=True)
        return dict(max_num_seqs=2048, max_batched_tokens=8192, memory_utilization=0.9, seats_from_pool=False)

    def runtime_bytes(self, model, tp, max_tokens, max_seqs, act_bytes=2.0) -> float:
        """Bytes per GPU the engine keeps out of the KV pool for the activations of its largest
        step (see :func:`runtime_bytes`); 0 for an engine whose memory fraction excludes them."""
        if not self.profiled_forward:
            return 0.0
        return runtime_bytes(model, tp, max_tokens, max_seqs, self.sampler_bytes, act_bytes)

    def seats_from_pool(self, pool_tokens, context_len):
        """SGLang: max_running_requests = min(pool // 2, min(max(pool / context_len x 512, 2048), 4096))."""
        ctx = context_len or 8192
        reqs = min(max(int(pool_tokens / ctx * 512), 2048), 4096)
        return max(1, min(int(pool_tokens) // 2, reqs))

    def reserve(self, decode_steps: int) -> float:
        """Fraction of the running requests' remaining output held back at admission after
        ``decode_steps`` decode steps without a preemption."""
        if self.reserve_decay_steps <= 0:
            return self.reserve_init
        r = self.reserve_init - (self.reserve_init - self.reserve_min) * decode_steps / self.reserve_decay_steps
        return max(self.reserve_min, r)


def sglang_defaults(memory_bytes: float, tp: int):
    """``(chunked_prefill_size, mem_fraction_static)`` of SGLang v0.5.3 for a GPU of ``memory_bytes`` at TP ``tp``
    (python/sglang/srt/server_args.py ServerArgs._handle_gpu_memory_settings, read in v0.5.3.post3).

    By device memory (MiB): below 20 GiB chunks of 2048 and CUDA graphs up to batch 8; below 35 GiB
    2048 and 16 (80 at TP >= 4); below 60 GiB 4096 and 32 (160); below 160 GiB (A100 80GB, H100,
    H200) 8192 and 256 (512); above 16384 and 512. The memory kept outside weights + KV (MiB)::

        reserved = 512 + 1.5 x max(chunk, 2048) + 2 x cuda_graph_max_bs + tp / 8 x 1024
        reserved = max(reserved, 10240) on devices above 60 GiB
        mem_fraction_static = round((memory - reserved) / memory, 3)

    (v0.4.x used a table by TP degree, 0.88 at TP 1 to 0.81 at TP 8; v0.4.10-v0.5.0 reserved
    (9.5 + tp/2) GiB below 90 GiB and (12 + tp/2) GiB below 160 GiB.)"""
    mib = memory_bytes / 2 ** 20
    small_tp = tp < 4
    if mib < 20 * 1024:
        chunk, graphs = 2048, 8
    elif mib < 35 * 1024:
        chunk, graphs = 2048, 16 if small_tp else 80
    elif mib < 60 * 1024:
        chunk, graphs = 4096, 32 if small_tp else 160
    elif mib < 160 * 1024:
        chunk, graphs = 8192, 256 if small_tp else 512
    else:
        chunk, graphs = 16384, 512
    reserved = 512 + 1.5 * max(chunk, 2048) + 2 * graphs + tp / 8 * 1024
    if mib > 60 * 1024:
        reserved = max(reserved, 10 * 1024)
    return chunk, round((mib - reserved) / mib, 3)


def vllm_v0_defaults(max_model_len: int, chunked=None, scheduler_steps: int = 1):
    """``(chunked_prefill, max_num_batched_tokens)`` of vLLM V0 (v0.5.4-v0.6.3) for a ``max_model_len``.

    Chunked prefill left unset is turned on for a model longer than 32 768 tokens (no sliding
    window, speculative decoding or LoRA; CUDA and ROCm alike), "to avoid OOM errors in the
    initial memory profiling phase" (vllm/engine/arg_utils.py EngineArgs.create_engine_config,
    ``use_long_context = max_model_len > 32768``). The token budget left unset is then 512 with
    one scheduler step, else ``max(max_model_len, 2048)`` (vllm/config.py SchedulerConfig.__init__).
    From v0.6.4 the chunked budget is 2048 and ROCm is left out (read in v0.6.6 and v0.7.3)."""
    if chunked is None:
        chunked = max_model_len > 32768
    chunked = bool(chunked)
    if chunked and scheduler_steps <= 1:
        return chunked, 512
    return chunked, max(max_model_len, 2048)


def forward_peak_bytes(model, tp, tokens, act_bytes=2.0) -> float:
    """Peak activation bytes per GPU of one forward pass over ``tokens`` tokens, at the MLP of a layer
    (the largest live set of a dense decoder; layers run one after another, so one layer's worth)::

        tokens x act_bytes x (3 h + 3 I_eff)      (gated FFN; 2 I_eff without a gate)

    ``3 h``: the residual stream, the normed input and the down-projection's output (h wide on every
    GPU under TP); ``3 I_eff``: the gate/up projection's output (2 I_eff) and the activation's (I_eff),
    both alive until the down projection has run (``LlamaMLP.forward`` in vLLM's
    model_executor/models/llama.py keeps ``gate_up`` and ``x``). ``I_eff = ffn_dim x
    active_experts / tp`` (a fused MoE's intermediate caches hold top-k rows per token)."""
    i_eff = float(model.ffn_dim or 4 * model.hidden_dim) * max(int(getattr(model, "active_experts", 1) or 1), 1) / tp
    gate = 3.0 if getattr(model, "gated_ffn", True) else 2.0
    return float(tokens) * act_bytes * (3.0 * model.hidden_dim + gate * i_eff)


def runtime_bytes(model, tp, max_tokens, max_seqs, sampler_bytes, act_bytes=2.0) -> float:
    """Activation memory an engine measures in its start-up profiling run and keeps out of the KV
    pool: the larger of the forward peak over ``max_tokens`` tokens (:func:`forward_peak_bytes`) and
    the sampler run over the logits of ``min(max_seqs, max_tokens)`` sequences::

        R = max(forward_peak(T), N x vocab x sampler_bytes + T x h x act_bytes)

    (the dummy forward's hidden states stay alive while the sampler runs). The sampler term counts
    the vocabulary-wide tensors of one sampling step with top-k and top-p set, as the profiling runs
    use. A sorting sampler (vLLM V0 vllm/model_executor/layers/sampler.py ``_apply_top_k_top_p``;
    V1's PyTorch fallback vllm/v1/sample/ops/topk_topp_sampler.py) holds, while ``logits.sort`` runs,
    the bf16 logits (2 bytes), their fp32 copy (4), the sorted values (4) and int64 indices (8), the
    int64 iota the sort pairs with the keys (8) and CUB's radix-sort double buffer of keys and values
    (12): 38 bytes per logit (after the sort, the masks, softmax, cumsum and re-scattered logits hold
    32). FlashInfer's sampling kernels (V1's default when FlashInfer is installed, as in the
    vllm/vllm-openai image) need the logits, their fp32 copy and the fp32 probabilities: 10 bytes.
    Check: vLLM's own profile of Meta-Llama-3-8B on one H100 at its defaults (8192 tokens, 256
    sequences) reports a PyTorch activation peak of 1.26 GiB at TP 1 and at TP 2
    (https://github.com/vllm-project/vllm/pull/10511); this gives 1.23 GiB for both (the sampler term
    dominates, and it is not split by TP)."""
    T = float(max_tokens)
    N = float(min(max_seqs, max_tokens))
    sampler = N * float(model.vocab or 0) * sampler_bytes + T * model.hidden_dim * act_bytes
    return max(forward_peak_bytes(model, tp, T, act_bytes), sampler if sampler_bytes > 0 else 0.0)


_VLLM_ARGS = "vllm/engine/arg_utils.py, EngineArgs._set_default_args / get_batch_defaults (vLLM v0.9.0-v0.11)"
_VLLM_CACHE = "vllm/config.py CacheConfig: block_size=16 on CUDA, gpu_memory_utilization=0.9 (vLLM v0.6-v0.11)"
_SGL_ARGS = "python/sglang/srt/server_args.py, ServerArgs.__post_init__ (SGLang v0.4.x)"
_SGL_ARGS_05 = "python/sglang/srt/server_args.py, ServerArgs._handle_gpu_memory_settings (SGLang v0.5.3.post3)"
_TRT_ARGS = ("tensorrt_llm/builder.py BuildConfig (max_batch_size=2048, max_num_tokens=8192; read at NVIDIA/TensorRT-LLM "
             "commit 008b2b8, the v0.14-v0.16 line) and the LLM API's llm_args.py that builds on it")

PROFILES = {
    "vllm": EngineProfile(
        "vllm", "vLLM (V1 scheduler)", mixed=True, split_prompts=True, block_size=16, memory_rule="total",
        watermark=0.0, reserve_init=0.0, reserve_min=0.0, reserve_decay_steps=0, preempt=True,
        profiled_forward=True, sampler_bytes=10.0, overlap=True, frontend="python",
        sources={
            "front end": "Python: the OpenAI-compatible API server (FastAPI/uvicorn) applies the chat template and tokenizes, "
                         "then hands the request to the engine core process over ZMQ and detokenizes its outputs "
                         "(vllm/entrypoints/openai/api_server.py, vllm/v1/engine/async_llm.py, core_client.py)",
            "overlap": "async scheduling: the scheduler works one step ahead of the model runner (vllm/v1/core/sched/"
                       "async_scheduler.py, PR #19970, opt-in --async-scheduling from v0.10); on by default since PR #27614 "
                       "'[Core] Enable async scheduling by default' (after v0.11.0; --no-async-scheduling turns it off)",
            "runtime memory": "pool = gpu_memory_utilization x memory - weights - profiled peak: a dummy forward of "
                              "max_num_batched_tokens tokens, then a sampler run over min(max_num_seqs, max_num_batched_tokens) "
                              "logits with top-k/top-p (vllm/v1/worker/gpu_worker.py determine_available_memory: requested_memory - "
                              "non_kv_cache_memory; vllm/v1/worker/gpu_model_runner.py profile_run, _dummy_sampler_run; "
                              "vLLM v0.11.0); FlashInfer sampling (10 bytes per logit) as in the vllm/vllm-openai image. "
                              "Non-torch memory (NCCL, cuBLAS workspaces) and CUDA graphs, captured after the pool is sized, "
                              "are not modelled: they come out of the 0.1 margin",
            "max_num_seqs": f"1024 on devices with >= 70 GiB that are not A100 (H100, H200, MI300X), else 256; {_VLLM_ARGS}",
            "max_batched_tokens": f"8192 on those devices for the OpenAI server (16384 for the offline LLM class), else 2048; {_VLLM_ARGS}",
            "mixed steps": "V1 always schedules decodes first, then fills the token budget with prompt chunks "
                           "(vllm/v1/core/sched/scheduler.py Scheduler.schedule; chunked prefill on by default since v0.8.0)",
            "memory_utilization": f"gpu_memory_utilization=0.9 of device memory for weights + KV; {_VLLM_CACHE}",
            "block_size": f"16 tokens; {_VLLM_CACHE}",
            "watermark": "none: a waiting request is admitted when its chunk's blocks are free "
                         "(vllm/v1/core/kv_cache_manager.py allocate_slots); no new request is scheduled in a step that preempted",
            "preemption": "recompute, most recently scheduled request first (vllm/v1/core/sched/scheduler.py); V1 has no swap",
        }),
    "vllm-v0": EngineProfile(
        "vllm-v0", "vLLM (V0 scheduler)", mixed=False, split_prompts=False, block_size=16, memory_rule="total",
        watermark=0.01, reserve_init=0.0, reserve_min=0.0, reserve_decay_steps=0, preempt=True,
        profiled_forward=True, sampler_bytes=38.0, frontend="python",
        sources={
            "front end": "Python: the same OpenAI-compatible API server, with the AsyncLLMEngine in its process "
                         "(vllm/entrypoints/openai/api_server.py, vllm/engine/async_llm_engine.py)",
            "overlap": "none: V0's engine schedules, runs and processes each step in turn (vllm/engine/llm_engine.py step)",
            "runtime memory": "blocks = (total x gpu_memory_utilization - peak) // block bytes, peak = memory in use after "
                              "profile_run: weights + activations of max_num_seqs dummy sequences totalling "
                              "max_num_batched_tokens tokens + a sampler run with top_k = vocab - 1, top_p = 0.99 that sorts "
                              "the logits (vllm/worker/worker.py determine_num_available_blocks, vllm/worker/model_runner.py "
                              "profile_run, vllm/model_executor/layers/sampler.py; vLLM v0.5.4-v0.6.3)",
            "max_num_seqs": "256 (vllm/config.py SchedulerConfig, vLLM v0.4-v0.7)",
            "max_batched_tokens": "max(max_model_len, 2048) without chunked prefill; 8192 here, a round figure for 8k-context models "
                                  "(vllm/config.py SchedulerConfig, vLLM v0.4-v0.7)",
            "mixed steps": "none: a step with admissions is prefill-only, running requests wait "
                           "(vllm/core/scheduler.py Scheduler._schedule_default, chunked prefill off by default before v0.6 "
                           "except for long-context models)",
            "memory_utilization": f"gpu_memory_utilization=0.9; {_VLLM_CACHE}",
            "block_size": f"16 tokens; {_VLLM_CACHE}",
            "watermark": "1 % of blocks kept free at admission (vllm/core/block_manager.py, watermark=0.01)",
            "preemption": "recompute for single sequences, most recently admitted first (vllm/core/scheduler.py PreemptionMode)",
        }),
    "sglang": EngineProfile(
        "sglang", "SGLang", mixed=False, split_prompts=True, block_size=1, memory_rule="total",
        watermark=0.0, reserve_init=0.7, reserve_min=0.7 * 0.14, reserve_decay_steps=600, preempt=True,
        overlap=True, frontend="python",
        sources={
            "front end": "Python: the TokenizerManager (HTTP server and tokenizer) sends requests to the Scheduler process "
                         "over ZMQ, a DetokenizerManager returns the text (python/sglang/srt/managers/tokenizer_manager.py, "
                         "detokenizer_manager.py)",
            "overlap": "the zero-overhead (overlap) scheduler runs one batch ahead of the GPU, on by default since v0.4.0 "
                       "(ServerArgs.disable_overlap_schedule=False; v0.3.x had an opt-in enable_overlap_schedule=False; "
                       "Scheduler.event_loop_overlap; https://lmsys.org/blog/2024-12-04-sglang-v0-4/)",
            "max_num_seqs": "derived from the KV pool: min(pool tokens // 2, min(max(pool / context_len x 512, 2048), 4096)) "
                            "(python/sglang/srt/model_executor/model_runner.py init_memory_pool and managers/scheduler.py, SGLang v0.4.x)",
            "max_batched_tokens": f"chunked_prefill_size: 2048 below 35 GiB, 4096 below 60 GiB, 8192 below 160 GiB (H100, H200), "
                                  f"16384 above; {_SGL_ARGS_05}",
            "mixed steps": "none by default: a step is a prefill (extend) batch or a decode batch, prefill first "
                           f"(enable_mixed_chunk=False; {_SGL_ARGS})",
            "memory_utilization": "mem_fraction_static = round((memory - reserved) / memory, 3), reserved = 512 MiB + "
                                  "1.5 x max(chunk, 2048) MiB + 2 x cuda_graph_max_bs MiB + tp/8 GiB, at least 10 GiB above 60 GiB: "
                                  f"0.836 on H100 and 0.907 on H200 at TP 1 (sglang_defaults; {_SGL_ARGS_05})",
            "runtime memory": "none kept out of the pool: mem_fraction_static covers weights + KV only, activations and CUDA "
                              "graphs use the rest (model_runner.py profile_max_num_token: rest = free memory after loading "
                              "the weights - total x (1 - mem_fraction_static); SGLang v0.4.x-v0.5.x); the CUDA context and "
                              "NCCL buffers that free memory also lacks are not modelled",
            "block_size": f"page_size=1 token; {_SGL_ARGS}",
            "watermark": "admission reserves new_token_ratio x each running request's remaining max_new_tokens; the ratio starts "
                         "at 0.7 x schedule_conservativeness (1.0) and decays to 0.14 of that over 600 decode steps, and is reset "
                         "when requests are retracted (python/sglang/srt/managers/schedule_policy.py PrefillAdder, "
                         "global_config.py / environ SGLANG_INIT_NEW_TOKEN_RATIO, SGLang v0.4.x)",
            "preemption": "retract by recompute when a decode step runs out of memory (ScheduleBatch.retract_decode)",
        }),
    "trtllm": EngineProfile(
        "trtllm", "TensorRT-LLM", mixed=True, split_prompts=False, block_size=32, memory_rule="free",
        watermark=0.0, reserve_init=1.0, reserve_min=1.0, reserve_decay_steps=0, preempt=False,
        profiled_forward=True, sampler_bytes=0.0, overlap=True,
        sources={
            "front end": "native: the published figures feed the C++ executor in-process (trtllm-bench) or through Triton's "
                         "C++ tensorrtllm backend; a deployment behind the Python trtllm-serve front end can pass "
                         "request_overhead=",
            "overlap": "overlap scheduler of the PyTorch backend (the default backend since 1.0): step n+1 is launched before "
                       "step n's results are processed, 'one extra decoding step' of latency; on by default "
                       "(disable_overlap_scheduler=False; docs/source/features/overlap-scheduler.md). The C++ runtime of "
                       "the TensorRT engine flow (v0.x) has none",
            "runtime memory": "pool = free_gpu_memory_fraction x (total - peak), peak = torch + non-torch memory after dummy "
                              "context requests of max_num_tokens tokens (tensorrt_llm/_torch/pyexecutor/_util.py "
                              "KvCacheCreator._cal_max_tokens / cal_max_tokens, TensorRT-LLM 0.17-1.x PyTorch backend; the C++ "
                              "runtime of v0.14 likewise takes the fraction of the memory free after the engine's activation "
                              "buffers); the few dummy requests' logits are negligible",
            "max_num_seqs": f"max_batch_size=2048; {_TRT_ARGS}",
            "max_batched_tokens": f"max_num_tokens=8192; {_TRT_ARGS}",
            "mixed steps": "in-flight batching: context (prompt) requests and generation requests run in the same step; "
                           "chunked context off by default (enable_chunked_prefill=False)",
            "memory_utilization": "KvCacheConfig.free_gpu_memory_fraction=0.9 of the memory left after the weights",
            "block_size": "tokens_per_block=32 (KvCacheConfig / plugin_config)",
            "watermark": "capacity scheduler GUARANTEED_NO_EVICT (SchedulerConfig default): a request starts only when "
                         "blocks for its prompt and all its max_tokens are free",
            "preemption": "none under GUARANTEED_NO_EVICT (a started request is never evicted)",
        }),
}


def get(engine) -> EngineProfile:
    """The profile called ``engine`` (None: :data:`DEFAULT_ENGINE`); one-line error otherwise."""
    if engine is None:
        engine = DEFAULT_ENGINE
    if isinstance(engine, EngineProfile):
        return engine
    if not isinstance(engine, str) or engine.lower() not in PROFILES:
        raise ValidationError(f"engine={engine!r} is not known; use one of {', '.join(PROFILES)}.", field="engine",
                              value=engine, allowed=", ".join(PROFILES))
    return PROFILES[engine.lower()]


__all__ = ["EngineProfile", "PROFILES", "DEFAULT_ENGINE", "get"]
