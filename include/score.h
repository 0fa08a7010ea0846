/*
 * score.h — the C interface of libscore: teach a small language model to correct its own
 * mistakes with SCoRe (Kumar et al. 2024, "Training Language Models to Self-Correct via
 * Reinforcement Learning"), on a CPU, with the host's own verifier as the reward.
 *
 * This header is the stable contract of libscore.so. It depends only on <stdbool.h>,
 * <stddef.h> and <stdint.h>; every symbol starts with score_ / SCORE_.
 *
 * Conventions
 * -----------
 * - Status. Every call that can fail returns a score_status: SCORE_OK (0) or a negative code
 *   below. score_status_string() names a code; score_last_error() holds a message for the last
 *   failure on the calling thread. No call aborts the process on bad input. (Running out of
 *   memory is the exception: shapes and batch sizes are bounded and checked against the
 *   machine's memory, but an allocation that still fails ends the process.)
 * - Handles. score_policy and score_trainer are opaque. score_x_create(..., &out) makes one,
 *   score_x_free(x) releases it; freeing NULL, or a handle already freed, does nothing. A handle
 *   that is not live (freed, or never made by the library) is refused with
 *   SCORE_ERR_INVALID_ARGUMENT.
 * - Options. Options structs are passed by pointer; their first field is struct_size, set by the
 *   matching score_x_init() together with the documented defaults. Always call the init
 *   function, then change fields. A struct_size the library does not know is refused.
 *   Passing NULL for an options pointer means "the defaults".
 * - Text. Strings passed in are NUL-terminated UTF-8; invalid UTF-8 is refused with
 *   SCORE_ERR_INVALID_ARGUMENT. Strings and arrays the library returns through a `char **` or a
 *   result struct are owned as each function states; a string returned through `char **` is
 *   released with score_free().
 * - Buffers. A function that fills a caller buffer takes its capacity and writes the size it
 *   needs to *out_count. When the capacity is too small it writes nothing else and returns
 *   SCORE_ERR_BUFFER_TOO_SMALL, so a first call with capacity 0 (buffer may be NULL) asks for
 *   the size.
 * - Threads. A handle is used by one thread at a time; separate handles are independent and may
 *   be used from different threads at once. A trainer uses (and updates) its policy, so the pair
 *   counts as one handle while the trainer lives, and a policy has at most one trainer at a time
 *   (trainers of one policy share its gradient buffer). Callbacks run on the thread that made
 *   the call that triggers them, before that call returns; a callback must not call functions on
 *   the trainer or policy whose call is running it. All three are enforced: a second trainer on a
 *   policy, a call on a handle (or a trainer's policy) while another call holds it, from another
 *   thread or from a callback, fail with SCORE_ERR_STATE at once (they do not wait: a host that
 *   shares a handle between threads serialises its calls itself) and leave the running call
 *   undisturbed.
 *   The library runs OpenBLAS single-threaded (process-wide) and splits work over its own threads.
 * - Failure leaves things as they were. A step that fails (a verifier error, a NaN reward, an
 *   abort) applies no update and leaves the weights, optimizer, sampling state and step count
 *   as they were; gradients computed and not yet applied are discarded. The trainer stays
 *   usable. On failure, a handle, string or result returned through an out-pointer is set to
 *   NULL.
 * - Text out. A model may emit any byte; a NUL byte ends the returned C string there (the token
 *   arrays of a correction are exact).
 * - Context. Every exchange (prompt, attempt 1, instruction, attempt 2, in tokens) must fit the
 *   model's max_seq_len; self-correction, training and evaluation calls that would exceed it fail
 *   with SCORE_ERR_INVALID_ARGUMENT (score_generate stops at the end of the context instead).
 */
#ifndef SCORE_H
#define SCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define SCORE_API __declspec(dllimport)
#else
#define SCORE_API __attribute__((visibility("default")))
#endif

/* ---------------------------------------------------------------------------------------------
 * Version
 * ------------------------------------------------------------------------------------------- */

/* ABI policy. MAJOR changes when a program built against an earlier header of the same MAJOR
   could break: a function removed or its signature changed, a struct's size or layout changed
   (struct_size must match exactly, so even an appended field counts), an enum value renumbered
   or a documented behaviour changed incompatibly. MINOR changes when functions or enum values
   are added; PATCH for fixes. Before 1.0, MINOR plays MAJOR's part and PATCH MINOR's.
   Tests/CABI/abi_check.sh compares the declared functions and the struct sizes with a committed
   baseline. */
#define SCORE_VERSION_MAJOR 0
#define SCORE_VERSION_MINOR 3
#define SCORE_VERSION_PATCH 0
/* MAJOR * 10000 + MINOR * 100 + PATCH, as score_version_number() returns it. */
#define SCORE_VERSION_NUMBER (SCORE_VERSION_MAJOR * 10000 + SCORE_VERSION_MINOR * 100 + SCORE_VERSION_PATCH)

/* The library's version as "MAJOR.MINOR.PATCH"; a static string owned by the library, never NULL. */
SCORE_API const char *score_version_string(void);

/* The library's version as MAJOR * 10000 + MINOR * 100 + PATCH; compare with SCORE_VERSION_NUMBER. */
SCORE_API int32_t score_version_number(void);

/* ---------------------------------------------------------------------------------------------
 * Status, errors, memory
 * ------------------------------------------------------------------------------------------- */

typedef int32_t score_status;

#define SCORE_OK 0
/* A NULL pointer, a bad length, a value out of range, an unknown enum value, a struct_size the
   library does not know, invalid UTF-8, a handle that is not live. */
#define SCORE_ERR_INVALID_ARGUMENT (-1)
/* A file or folder is missing, truncated, corrupt or holds something unexpected. */
#define SCORE_ERR_INVALID_FILE (-2)
/* Reading or writing failed at the operating-system level. */
#define SCORE_ERR_IO (-3)
/* A host callback (the verifier) returned an error status or a wrong result. */
#define SCORE_ERR_CALLBACK (-4)
/* A host callback asked to stop (returned SCORE_ERR_ABORTED). */
#define SCORE_ERR_ABORTED (-5)
/* A value that must be finite was not (a NaN or infinite reward, a diverged loss). */
#define SCORE_ERR_NON_FINITE (-6)
/* A caller buffer is smaller than *out_count says is needed. */
#define SCORE_ERR_BUFFER_TOO_SMALL (-7)
/* The call is not valid in the handle's current state (apply without computed gradients). */
#define SCORE_ERR_STATE (-8)
/* Anything else (a bug in the library: please report it with score_last_error()). */
#define SCORE_ERR_INTERNAL (-9)

/* A static English name for a status ("ok", "invalid argument", ...); "unknown status" for a code
   not listed above. Never NULL. */
SCORE_API const char *score_status_string(score_status status);

/* The message of the last failed call on this thread ("" when none failed yet). Never NULL; owned
   by the library and valid until the next call that fails on this thread. */
SCORE_API const char *score_last_error(void);

/* Releases a string the library returned through a `char **`. NULL is a no-op. */
SCORE_API void score_free(void *pointer);

/* Log levels of the log callback. */
#define SCORE_LOG_DEBUG 0
#define SCORE_LOG_INFO 1
#define SCORE_LOG_WARN 2
#define SCORE_LOG_ERROR 3

/* Receives the library's log lines (a NUL-terminated message without a trailing newline, valid
   during the call). Called on the thread whose call logs. */
typedef void (*score_log_fn)(int32_t level, const char *message, void *user_data);

/* Sends log lines of level >= min_level to `callback` (process-wide; NULL turns logging off, the
   default). Safe to call from any thread; a call already running on another thread may still
   deliver a line to the previous callback. Fails on an unknown level. */
SCORE_API score_status score_set_log_callback(score_log_fn callback, int32_t min_level, void *user_data);

/* ---------------------------------------------------------------------------------------------
 * Policy: a model, its tokenizer and the two-attempt format
 * ------------------------------------------------------------------------------------------- */

typedef struct score_policy score_policy;

/* The shape of a new model (Llama family: RMSNorm, rotary positions, grouped-query attention,
   SwiGLU). The defaults (score_model_config_init) are the library's `tiny` shape: vocabulary
   320, width 128, 4 layers, 4 heads over 2 key/value heads, MLP width 384, context 128. */
typedef struct score_model_config {
    uint32_t struct_size;      /* sizeof(score_model_config) */
    int32_t vocab_size;        /* at least the tokenizer's 262 ids */
    int32_t hidden_size;
    int32_t num_layers;
    int32_t num_heads;
    int32_t num_kv_heads;      /* divides num_heads */
    int32_t intermediate_size; /* MLP width */
    int32_t max_seq_len;       /* longest prompt + both attempts, in tokens */
    int32_t head_dim;          /* 0: hidden_size / num_heads, rounded down (as transformers) */
    float rope_theta;          /* 10000 */
    float norm_eps;            /* 1e-5 */
    bool tie_embeddings;       /* true */
    bool qkv_bias;             /* false (Qwen2 sets it) */
} score_model_config;

/* Fills *config with the defaults above. NULL is a no-op. */
SCORE_API void score_model_config_init(score_model_config *config);

/* A chat layout given by the host, for a model whose chat template the library cannot lay out.
   The library runs a model's Jinja chat template itself (the subset Hugging Face templates use)
   and reads the layout off its renderings; it refuses, naming the reason, templates whose layout
   depends on position (a generation prompt that differs from the text before a stored answer, as
   in reasoning templates or Mistral's), that trim only one role's messages, or that use Jinja it
   does not support. Each string may hold the tokenizer's special-token names, which become those tokens;
   the rest is encoded as text. NULL strings are "". Copied; need not outlive the call. */
typedef struct score_chat_template {
    uint32_t struct_size;            /* sizeof(score_chat_template) */
    const char *conversation_start;  /* once, before the first message: "<|begin_of_text|>" */
    const char *user_prefix;         /* before a user message: "<|im_start|>user\n" */
    const char *user_suffix;         /* after it: "<|im_end|>\n" */
    const char *assistant_prefix;    /* the generation prompt: "<|im_start|>assistant\n" */
    const char *end_of_turn;         /* the one special token that ends an answer: "<|im_end|>" */
    const char *after_assistant;     /* after end_of_turn, before the next message: "\n" */
    bool trim_messages;              /* strip whitespace around message text; default false */
} score_chat_template;

/* Fills *chat_template with NULL strings and trim_messages false. NULL is a no-op. */
SCORE_API void score_chat_template_init(score_chat_template *chat_template);

typedef struct score_policy_options {
    uint32_t struct_size;      /* sizeof(score_policy_options) */
    int32_t threads;           /* kernel threads, 1...256; default 1 */
    /* The self-correction instruction put between the attempts; NULL (default) keeps the
       library's wording: for the byte-level tokenizer (one token per character) the short "Check
       the answer and fix it if wrong.", for a model folder's own tokenizer the paper's. Copied;
       need not outlive the call. */
    const char *instruction;
    /* score_policy_load only: a layout replacing the model's chat template; NULL (default) uses
       the model's own (one the library cannot lay out is then an error naming why). */
    const score_chat_template *chat_template;
    /* score_policy_load only: the "Today Date" Llama-3.x templates write ("26 Jul 2024"); NULL
       (default) takes the template's own, which for Llama-3.2 is today's date, as transformers
       renders it. Set it for runs that must be reproducible. */
    const char *template_date;
} score_policy_options;

/* Fills *options with the defaults. NULL is a no-op. */
SCORE_API void score_policy_options_init(score_policy_options *options);

/* A new policy with random weights drawn from `seed`. `config` NULL means the defaults;
   `options` may be NULL. On success *out owns the policy (release with score_policy_free). */
SCORE_API score_status score_policy_create(const score_model_config *config, uint64_t seed,
                                           const score_policy_options *options, score_policy **out);

/* Loads a model folder: one saved by score_policy_save, or a Hugging Face folder
   (LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM; config.json, model.safetensors or
   shards with their index, f32/bf16/f16 weights, tokenizer.json, tokenizer_config.json with its
   chat template, generation_config.json). A folder without tokenizer.json uses the library's
   byte-level tokenizer, unless it holds tokenizer.model, vocab.json or merges.txt (a tokenizer
   form the library does not read: SCORE_ERR_INVALID_FILE). A missing, truncated or corrupt folder fails with SCORE_ERR_INVALID_FILE
   or SCORE_ERR_IO; a configuration the engine cannot compute (another architecture, a rope
   scaling other than llama3, a sliding window in effect) with SCORE_ERR_INVALID_FILE naming the
   field. A path ending in ".gguf" that names a file is read as a GGUF file (llama.cpp's format,
   versions 2 and 3): architecture llama or qwen2; tensors F32, F16, BF16, Q8_0, Q4_0, Q4_1,
   Q5_0, Q5_1, Q4_K, Q5_K or Q6_K, dequantized to f32; the embedded gpt2-style BPE tokenizer
   (tokenizer.ggml.*) and chat template (tokenizer.chat_template). score_policy_save then writes
   an ordinary Hugging Face folder. */
SCORE_API score_status score_policy_load(const char *path, const score_policy_options *options,
                                         score_policy **out);

/* Saves the weights and config to the folder `path` (created if needed; files replaced
   atomically), in the form Hugging Face transformers loads, with the tokenizer and generation
   files of the folder the policy was loaded from. With LoRA adapters attached, the weights
   written are the merged ones (a plain folder computing what the policy computes); the policy
   itself is unchanged. */
SCORE_API score_status score_policy_save(const score_policy *policy, const char *path);

/* LoRA adapters (Hu et al. 2021) on a frozen policy: a trainer whose options set lora_rank > 0
   attaches them (or trains those already attached, if their rank and targets match). The files
   are PEFT's: adapter_config.json and adapter_model.safetensors, tensors named
   base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight and so on, so that
   peft.PeftModel.from_pretrained(base, path) loads them onto the transformers model. */
#define SCORE_LORA_Q (1u << 0)
#define SCORE_LORA_K (1u << 1)
#define SCORE_LORA_V (1u << 2)
#define SCORE_LORA_O (1u << 3)
#define SCORE_LORA_GATE (1u << 4)
#define SCORE_LORA_UP (1u << 5)
#define SCORE_LORA_DOWN (1u << 6)
#define SCORE_LORA_ALL 0x7Fu

/* Writes the attached adapters as a PEFT folder `path` (created if needed). No adapters:
   SCORE_ERR_STATE. */
SCORE_API score_status score_policy_save_adapter(const score_policy *policy, const char *path);

/* Reads a PEFT LoRA folder and attaches its adapters, replacing any attached. A folder made for
   another base (a tensor shape that does not match), a missing or extra tensor, or an option the
   engine does not implement (DoRA, rsLoRA, adapter biases, per-layer ranks) fails with
   SCORE_ERR_INVALID_FILE naming the file and field; the policy is then unchanged. A policy in use
   by a trainer fails with SCORE_ERR_STATE. */
SCORE_API score_status score_policy_load_adapter(score_policy *policy, const char *path);

/* Adds the attached adapters into the weights (W + alpha/rank * B A) and detaches them. No
   adapters: SCORE_ERR_STATE; a policy in use by a trainer: SCORE_ERR_STATE. */
SCORE_API score_status score_policy_merge_adapter(score_policy *policy);

/* The attached adapters' rank (0 when none) and trainable values. Either out-pointer may be NULL. */
SCORE_API score_status score_policy_adapter_info(const score_policy *policy, int32_t *rank, int64_t *parameter_count);

/* Releases a policy handle. NULL or an already freed policy is a no-op. A trainer keeps its policy
   alive: after freeing the handle, the trainer still trains (and saves) those weights. */
SCORE_API void score_policy_free(score_policy *policy);

typedef struct score_policy_info {
    uint32_t struct_size;      /* set by the caller: sizeof(score_policy_info) */
    int32_t vocab_size;        /* rows of the model's embedding */
    int32_t tokenizer_size;    /* ids the tokenizer knows (<= vocab_size) */
    int32_t max_seq_len;
    int32_t threads;
    int64_t parameter_count;
} score_policy_info;

/* Describes the policy. The caller sets info->struct_size first. */
SCORE_API score_status score_policy_get_info(const score_policy *policy, score_policy_info *info);

/* Encodes plain text (special-token names are not parsed) into `tokens` (capacity entries);
   *out_count receives the number of tokens (see Buffers above). */
SCORE_API score_status score_tokenize(const score_policy *policy, const char *text, int32_t *tokens,
                                      size_t capacity, size_t *out_count);

/* Decodes `count` tokens into a new string (*out_text, release with score_free). Bytes that do
   not form valid UTF-8 become U+FFFD. An id outside the tokenizer fails. count 0 gives "" (and
   `tokens` may then be NULL). */
SCORE_API score_status score_detokenize(const score_policy *policy, const int32_t *tokens, size_t count,
                                        char **out_text);

/* Next-token logits for every position of `tokens` (count >= 1, at most max_seq_len): count rows
   of vocab_size floats, row-major, written to `logits` (capacity floats; *out_count receives
   count * vocab_size). */
SCORE_API score_status score_policy_logits(score_policy *policy, const int32_t *tokens, size_t count,
                                           float *logits, size_t capacity, size_t *out_count);

/* How a sampled answer is drawn. */
typedef struct score_sampling_options {
    uint32_t struct_size;      /* sizeof(score_sampling_options) */
    float temperature;         /* 0 (default) = greedy */
    int32_t top_k;             /* 0 (default) = off */
    float top_p;               /* 1 (default) = off */
    float min_p;               /* 0 (default) = off */
    int32_t max_new_tokens;    /* >= 1; default 16 (the end-of-turn token counts) */
    uint64_t seed;             /* default 0 */
} score_sampling_options;

SCORE_API void score_sampling_options_init(score_sampling_options *options);

/* One answer to `prompt`, as the first attempt of the two-attempt format (a user turn holding the
   prompt, then the model's assistant turn until it closes the turn or reaches max_new_tokens).
   *out_text receives the answer without the closing token (release with score_free). `options`
   may be NULL (greedy, 16 tokens). */
SCORE_API score_status score_generate(score_policy *policy, const char *prompt,
                                      const score_sampling_options *options, char **out_text);

/* How attempt 1's confidence is measured (each in [0, 1]). */
#define SCORE_CONFIDENCE_MEAN_PROBABILITY 0     /* exp(mean token log-prob) (default) */
#define SCORE_CONFIDENCE_MINIMUM_PROBABILITY 1  /* exp(min token log-prob) */
#define SCORE_CONFIDENCE_SEQUENCE_PROBABILITY 2 /* exp(sum of token log-probs) */

typedef struct score_correct_options {
    uint32_t struct_size;      /* sizeof(score_correct_options) */
    float temperature;         /* every attempt; 0 (default) = greedy */
    int32_t max_new_tokens;    /* per attempt, >= 1; default 16. Prompt, every attempt and the
                                  instructions must fit in the model's max_seq_len. */
    uint64_t seed;             /* default 0 */
    /* Gated mode: when true, attempt k + 1 is generated only if attempt k's confidence is below
       gate_threshold (un-gated revision of a confident answer mostly adds noise). Default false. */
    bool gated;
    float gate_threshold;      /* in [0, 1] (checked only when gated); default 0.9 */
    int32_t confidence;        /* SCORE_CONFIDENCE_*; default SCORE_CONFIDENCE_MEAN_PROBABILITY */
    /* Attempts at most, 1...SCORE_MAX_ATTEMPTS; default 2. Attempt k + 1 follows the instruction
       after attempt k over the whole conversation; 1 answers without revising. */
    int32_t attempts;
} score_correct_options;

/* The most attempts one self-correction or training episode may have. */
#define SCORE_MAX_ATTEMPTS 16

SCORE_API void score_correct_options_init(score_correct_options *options);

/* The attempts of one self-correction. Owned by the library: every pointer inside stays valid
   until score_correction_free. */
typedef struct score_correction {
    const char *attempt1;          /* text of attempt 1, without the closing token */
    const char *attempt2;          /* text of attempt 2; NULL when not revised */
    const char *final_text;        /* attempt2 when revised, else attempt1 */
    const int32_t *tokens1;        /* attempt 1's sampled ids (closing token included) */
    const float *logprobs1;        /* log-prob of each of them */
    size_t count1;
    const int32_t *tokens2;        /* NULL when not revised */
    const float *logprobs2;
    size_t count2;                 /* 0 when not revised */
    float confidence;              /* of attempt 1, in [0, 1] */
    bool revised;                  /* attempt 2 was generated */
    int32_t attempt_count;         /* attempts generated, 1...options->attempts */
    const char *const *attempts;   /* their texts, attempt_count of them; final_text is the last */
} score_correction;

/* Self-correction: attempt 1, then the instruction and attempt 2 continuing from attempt 1's
   cache, and so on up to options->attempts (default 2). `options` may be NULL. On success *out
   owns the result. */
SCORE_API score_status score_self_correct(score_policy *policy, const char *prompt,
                                          const score_correct_options *options, score_correction **out);

/* Releases a correction. NULL is a no-op. */
SCORE_API void score_correction_free(score_correction *correction);

/* Inference-time scaling by voting (the paper's section 6.3): `samples` (1...1024) attempts of
   `prompt` sampled at options->temperature (set it above 0: at the default 0 every sample is the
   same), each self-corrected to options->attempts attempts (default 2: one revision; 1: none)
   when `self_correct` is true; the final texts vote with the answer the final-answer verifier
   extracts (the \boxed{} content, else the last number), ties going to the answer that reached
   the count first. *out_answer receives the winning answer (release with score_free; NULL when
   no sample had an answer), *out_votes (may be NULL) its votes. At an equal budget of K
   generated attempts, compare K samples without self-correction against K/N with N attempts
   each. `options` may be NULL; its gate fields are ignored. */
SCORE_API score_status score_majority_vote(score_policy *policy, const char *prompt, int32_t samples,
                                           bool self_correct, const score_correct_options *options,
                                           char **out_answer, int32_t *out_votes);

/* ---------------------------------------------------------------------------------------------
 * Verifier: the host's reward
 * ------------------------------------------------------------------------------------------- */

/* One attempt to score. All strings are NUL-terminated UTF-8, valid during the callback only. */
typedef struct score_verify_item {
    const char *prompt;        /* the problem as the host gave it */
    const char *response;      /* the attempt's text */
    const char *reference;     /* the reference answer the host gave with the prompt */
    int32_t turn;              /* the attempt's number: 1, 2 (or more when training on more attempts) */
    const char *first_attempt; /* attempt 1's text from turn 2 on; NULL on turn 1 */
} score_verify_item;

/* Scores `count` items at once, writing one finite reward per item to rewards[0..count-1]
   (typically 1 correct, 0 wrong; a reward >= 0.5 counts as correct in the metrics). Return
   SCORE_OK to accept, SCORE_ERR_ABORTED to stop the step, any other value for an error: the
   step then ends with SCORE_ERR_ABORTED or SCORE_ERR_CALLBACK and changes nothing. */
typedef score_status (*score_verifier_fn)(const score_verify_item *items, size_t count, float *rewards,
                                          void *user_data);

/* Built-in verifiers (score_trainer_set_builtin_verifier). */
#define SCORE_VERIFIER_EXACT_MATCH 0  /* equal after trimming, collapsing whitespace, lowercasing and
                                         dropping one trailing period */
#define SCORE_VERIFIER_FINAL_ANSWER 1 /* "Final Answer: X" or else the last number, vs reference */
#define SCORE_VERIFIER_ARITHMETIC 2   /* the built-in arithmetic task's checker (integers) */

/* Progress of a long call: `done` of `total` units of `phase` finished. Return SCORE_OK to go on,
   anything else to abort the call (it then fails with SCORE_ERR_ABORTED and changes nothing). */
typedef score_status (*score_progress_fn)(int32_t phase, size_t done, size_t total, void *user_data);

/* Phases reported to the progress callback. */
#define SCORE_PHASE_ROLLOUT 0   /* a training step sampled both attempts */
#define SCORE_PHASE_VERIFY 1    /* a training step scored them */
#define SCORE_PHASE_BACKWARD 2  /* a training step computed gradients */
#define SCORE_PHASE_EVALUATE 3  /* evaluation finished a batch of prompts */

/* ---------------------------------------------------------------------------------------------
 * Trainer: SCoRe on a policy
 * ------------------------------------------------------------------------------------------- */

typedef struct score_trainer score_trainer;

/* Which objective each step optimises. */
#define SCORE_STAGE_I 1           /* r(y2) - beta2 KL(turn 1) - beta1 KL(turn 2) */
#define SCORE_STAGE_II 2          /* r(y1) + shaped r(y2) - beta1 KL(both turns) */
#define SCORE_STAGE_SINGLE_TURN 3 /* r(y1) - beta1 KL(turn 1): the single-turn RL ablation */

/* Stage plans. */
#define SCORE_PLAN_SCORE 0        /* stage_i_steps of Stage I, then stage_ii_steps of Stage II, x rounds */
#define SCORE_PLAN_SINGLE_TURN 1  /* single_turn_steps of single-turn RL */

/* Stage II shaping of the second-turn reward. */
#define SCORE_SHAPING_PROGRESS 0  /* r2 + alpha (r2 - r1) (the paper's) */
#define SCORE_SHAPING_FLIP 1      /* r2 + alpha [r2 correct and r1 wrong] */
#define SCORE_SHAPING_NONE 2      /* r2 */

/* How the KL penalty enters, with d = log pi - log pi_ref per sampled token. The paper penalises
   KL(pi || pi_ref): K1_IN_REWARD follows its gradient exactly (the penalty is part of the return,
   each token credited with beta * the sum of d over the rest of its turn), K2 per token; K3
   follows the reverse KL(pi_ref || pi) per token; K1 has a zero-mean gradient (no pull). */
#define SCORE_KL_K1 1             /* d, slope 1 */
#define SCORE_KL_K2 2             /* d^2 / 2, slope d */
#define SCORE_KL_K3 3             /* exp(-d) + d - 1, slope 1 - exp(-d) (default) */
#define SCORE_KL_K1_IN_REWARD 4   /* d, in the return */

/* Baselines subtracted from each turn's returns. */
#define SCORE_BASELINE_LEAVE_ONE_OUT 0 /* mean of the other samples of the prompt (default) */
#define SCORE_BASELINE_BATCH_MEAN 1
#define SCORE_BASELINE_NONE 2

/* Evaluation protocols. */
#define SCORE_EVAL_GREEDY 0       /* both attempts greedy (the paper's) */
#define SCORE_EVAL_MIXED 1        /* attempt 1 sampled at temperature 1, attempt 2 greedy */

typedef struct score_trainer_options {
    uint32_t struct_size;      /* sizeof(score_trainer_options) */
    int32_t plan;              /* SCORE_PLAN_*; default SCORE_PLAN_SCORE */
    int32_t stage_i_steps;     /* default 150; 0 is the "w/o Stage I" ablation */
    int32_t stage_ii_steps;    /* default 150 */
    int32_t rounds;            /* >= 1; more than 1 interleaves the stages; default 1 */
    int32_t single_turn_steps; /* for SCORE_PLAN_SINGLE_TURN (checked only then); default 300 */
    float beta1;               /* KL weight of the last attempt in Stage I, of all in Stage II; 0.01 */
    float beta2;               /* KL weight in Stage I of the attempts before the last; 1.0 */
    float alpha;               /* Stage II shaping scale; 10 */
    int32_t shaping;           /* SCORE_SHAPING_*; default PROGRESS */
    int32_t kl_estimator;      /* SCORE_KL_*; default K3 */
    int32_t baseline;          /* SCORE_BASELINE_*; default LEAVE_ONE_OUT */
    /* Stage II with progress shaping: leave out of the turn-2 return the part that depends on
       attempt 1 alone (-alpha r1), fixed before attempt 2 is sampled: the same expected gradient,
       much less noise. Default false: turn 2 is credited with the shaped reward as written. */
    bool turn2_state_baseline;
    float learning_rate;       /* AdamW; default 1e-4 */
    float weight_decay;        /* default 0 */
    float grad_clip;           /* global norm; 0 = no clipping; default 1 */
    int32_t samples_per_prompt;/* k, 1...1024; default 4 (with 1, leave-one-out has no other
                                  sample and subtracts nothing); prompts x k <= 65536 a step */
    float temperature;         /* sampling of both attempts during training; default 1. The policy
                                  trained is the one sampled, softmax(logits / temperature) (0: greedy
                                  samples, log-probabilities at 1) */
    /* Attempt 1 of two-attempt steps only; < 0 (default -1) = temperature. When it differs from
       temperature, first attempts are not the policy's own samples, so turn 1's policy-gradient
       term is masked (it keeps its KL term); single-turn steps sample at temperature. */
    float first_temperature;
    int32_t max_new_tokens;    /* per attempt; default 8 */
    uint64_t seed;             /* sampling; default 0 */
    /* Episodes forwarded and back-propagated at once; their gradients accumulate, so the step is
       the same for any value (to float rounding) and only peak memory changes. -1 (default) = the
       largest that keeps one pass within memory_budget; 0 is an error. */
    int32_t micro_batch;
    /* Bytes the activations of one pass and the KV cache of one rollout chunk should stay within,
       beyond weights and optimizer state; default 1 GiB. A step whose estimate exceeds the
       machine's memory fails with SCORE_ERR_INVALID_ARGUMENT before sampling, naming the estimate
       and the option that would make it fit. */
    uint64_t memory_budget;
    /* LoRA: > 0 trains rank-r adapters on the frozen policy instead of every weight (the reference
       policy is then the base with the adapters off: no copy, AdamW moments for the adapters only);
       0 (default) trains every weight. At most the smaller side of each targeted layer. */
    int32_t lora_rank;
    float lora_alpha;          /* update scale numerator (alpha / rank); <= 0 (default) = 2 x rank */
    uint32_t lora_targets;     /* SCORE_LORA_* bits; 0 (default) = SCORE_LORA_ALL */
    /* Second attempts sampled from each first attempt, 1...64; default 1. From 2 on, a second
       attempt's baseline is the other second attempts of the same first attempt (a per-state
       baseline), and a step has prompts x samples_per_prompt x second_attempts episodes. */
    int32_t second_attempts;
    /* Attempts per training episode, 2...SCORE_MAX_ATTEMPTS; default 2. With more, Stage I keeps
       every attempt before the last near the reference (beta2) and rewards the last; Stage II
       rewards attempt 1 and shapes each later attempt's reward by its progress over the attempt
       before it; the step's "t2" statistics are the last attempt's. More than 2 needs
       second_attempts = 1. */
    int32_t attempts;
    /* With attempts > 2: Stage I holds only attempt 1 near the reference and rewards every later
       attempt with its own reward, instead of holding every attempt before the last. Default
       false; no effect with two attempts. */
    bool stage_i_holds_first_only;
} score_trainer_options;

SCORE_API void score_trainer_options_init(score_trainer_options *options);

/* A trainer over `policy`. The reference policy of the KL terms is a copy of `policy` as it is
   now (with lora_rank > 0: the policy with its adapters switched off, no copy). The trainer
   updates `policy`'s weights (or its adapters) in place and keeps the policy alive. Until a
   verifier is set, the trainer scores with SCORE_VERIFIER_FINAL_ANSWER. `options` may be NULL.
   The plan decides each step's stage; steps past its end start the plan over. */
SCORE_API score_status score_trainer_create(score_policy *policy, const score_trainer_options *options,
                                            score_trainer **out);

/* Releases a trainer (not its policy). NULL or an already freed trainer is a no-op. */
SCORE_API void score_trainer_free(score_trainer *trainer);

/* Scores attempts with the host's `verifier` (called with `user_data`, on the thread of the
   step or evaluation). NULL is refused: use score_trainer_set_builtin_verifier to go back. */
SCORE_API score_status score_trainer_set_verifier(score_trainer *trainer, score_verifier_fn verifier,
                                                  void *user_data);

/* Scores attempts with a built-in verifier (SCORE_VERIFIER_*). */
SCORE_API score_status score_trainer_set_builtin_verifier(score_trainer *trainer, int32_t kind);

/* Calls `progress` during steps and evaluations (NULL: no calls). */
SCORE_API score_status score_trainer_set_progress(score_trainer *trainer, score_progress_fn progress,
                                                  void *user_data);

/* What one training step measured (the SCoRe metrics over the step's rollouts). Accuracies and
   fractions are percentages where named pct, else plain numbers. */
typedef struct score_step_stats {
    uint32_t struct_size;      /* set by the caller: sizeof(score_step_stats) */
    int64_t step;              /* steps completed, this one included */
    int32_t stage;             /* SCORE_STAGE_* of this step */
    int32_t episodes;          /* prompts x samples */
    double acc_t1_pct, acc_t2_pct, delta_pct;       /* Acc@t1, Acc@t2, Delta(t1, t2) */
    double delta_i_to_c_pct, delta_c_to_i_pct;      /* wrong -> right, right -> wrong */
    double changed_pct;        /* second attempts that differ from the first */
    double edit_distance_ratio;/* mean token edit distance / longer attempt */
    double reward_mean_t1, reward_std_t1, reward_mean_t2, reward_std_t2;
    double zero_variance_groups_pct; /* prompts whose samples all got the same reward */
    double mean_length_t1, mean_length_t2;         /* tokens */
    double truncated_t1_pct, truncated_t2_pct;     /* attempts cut at max_new_tokens */
    double loss, kl_t1, kl_t2, entropy;
    double grad_norm;          /* before clipping; 0 until gradients are applied */
    double learning_rate;
    double seconds, rollout_seconds, tokens_per_second;
} score_step_stats;

/* One training step: samples samples_per_prompt episodes for each of the `count` prompts, scores
   them with the verifier (`references[i]` is handed to it with prompt i), forms the objective of
   the plan's next stage, and applies one AdamW update. `stats` may be NULL (else its struct_size
   must be set). On failure nothing changes. */
SCORE_API score_status score_trainer_step(score_trainer *trainer, const char *const *prompts,
                                          const char *const *references, size_t count,
                                          score_step_stats *stats);

/* Scale-out hook: the first half of score_trainer_step. Computes the step's gradients into the
   trainer's flat gradient buffer without updating the weights. A host that trains several
   replicas (MPI, torch.distributed, Ray) averages that buffer across them, then calls
   score_trainer_apply_gradients on each; replicas that start equal stay equal. Calling it again
   before applying discards the pending gradients. */
SCORE_API score_status score_trainer_compute_gradients(score_trainer *trainer, const char *const *prompts,
                                                       const char *const *references, size_t count,
                                                       score_step_stats *stats);

/* The flat gradient buffer (one float per trained value, in the checkpoint's tensor order; with
   LoRA, per adapter value in the adapter file's order): *out_data
   points into the trainer and may be read and written until the next call on the trainer;
   *out_count receives its length. Its contents are the step's gradients only between
   score_trainer_compute_gradients and score_trainer_apply_gradients. */
SCORE_API score_status score_trainer_gradients(score_trainer *trainer, float **out_data, size_t *out_count);

/* The second half of a step: clips the gradient buffer (as it is now), applies AdamW, and counts
   the step. SCORE_ERR_STATE without pending gradients; SCORE_ERR_NON_FINITE (nothing applied)
   when the buffer holds a NaN or infinity. `grad_norm` (may be NULL) receives the norm before
   clipping. */
SCORE_API score_status score_trainer_apply_gradients(score_trainer *trainer, double *grad_norm);

/* The stage (SCORE_STAGE_*) the next step runs, and the steps completed (either may be NULL). */
SCORE_API score_status score_trainer_progress(const score_trainer *trainer, int32_t *next_stage,
                                              int64_t *completed_steps);

/* ---------------------------------------------------------------------------------------------
 * Data-parallel training: replicas of one trainer on several processes
 * ------------------------------------------------------------------------------------------- */

/* The recipe (examples/c/mpi_train.c and examples/python/mpi_train.py follow it over MPI):
   1. Every rank creates the same policy (same folder, or same config and seed) and a trainer
      whose options.seed differs per rank, so that each samples its own episodes.
   2. Rank 0's trained values are copied into every rank's (score_trainer_parameters, then a
      broadcast into that buffer); score_trainer_checksum then agrees on every rank (compare it
      before the first step: it also catches replicas of different shapes).
   3. Each step: score_trainer_compute_gradients on the rank's own prompts; an allreduce (MIN) of
      a success flag, so that a rank whose verifier failed makes every rank skip the step instead
      of waiting in the next collective; the gradient buffer allreduced with SUM, then divided by
      the number of ranks by the host (the library applies the buffer as it finds it); then
      score_trainer_apply_gradients on every rank. Ranks with equal episode counts then take
      exactly the step one process would take on all their episodes (to float-summation order).
   4. score_step_stats_combine turns the ranks' statistics (gathered on rank 0) into the global
      step's. Rank 0 saves the trainer; every rank resumes from that folder and then calls
      score_trainer_set_sampling_seed with its own seed (the saved stream is rank 0's). */

/* The flat buffer of trained values (every weight in the checkpoint's tensor order; with LoRA,
   the adapters in the adapter file's order), the same layout as score_trainer_gradients':
   *out_data points into the policy and may be read and written until the next call on the
   trainer or its policy; writing changes the policy. A full fine-tune whose replicas did not
   start equal should call score_trainer_reset_reference after writing (the reference is a copy
   of the weights the trainer started from). */
SCORE_API score_status score_trainer_parameters(score_trainer *trainer, float **out_data, size_t *out_count);

/* A 64-bit checksum (FNV-1a over the bit patterns) of the trained values: equal on replicas
   holding bit-identical values, different (almost surely) otherwise. */
SCORE_API score_status score_trainer_checksum(const score_trainer *trainer, uint64_t *out_checksum);

/* Restarts the trainer's prompt choice and sampling from `seed`, keeping weights, optimizer and
   step count; pending gradients are discarded. */
SCORE_API score_status score_trainer_set_sampling_seed(score_trainer *trainer, uint64_t seed);

/* One step's statistics from `count` parts, each over its own episodes (one per rank): rates,
   means, loss and KL weighted by episodes, reward standard deviations pooled, the slowest part's
   seconds, tokens per second summed; step and stage must agree (else INVALID_ARGUMENT);
   grad_norm and learning_rate are parts[0]'s. Every struct_size (parts and *out) must be set. */
SCORE_API score_status score_step_stats_combine(const score_step_stats *parts, size_t count,
                                                score_step_stats *out);

/* ---------------------------------------------------------------------------------------------
 * Trainer: evaluation, supervised steps, saving
 * ------------------------------------------------------------------------------------------- */

typedef struct score_eval_result {
    uint32_t struct_size;      /* set by the caller: sizeof(score_eval_result) */
    int64_t count;             /* problems evaluated */
    double acc_t1_pct, acc_t2_pct, delta_pct, delta_i_to_c_pct, delta_c_to_i_pct;
    double changed_pct, edit_distance_ratio;
    double fix_rate_pct;       /* of the problems wrong at attempt 1, those right at attempt 2 */
    double break_rate_pct;     /* of the problems right at attempt 1, those wrong at attempt 2 */
} score_eval_result;

/* Two-attempt evaluation (one episode per prompt, SCORE_EVAL_* protocol, the training's
   max_new_tokens) scored by the trainer's verifier. Changes no weights. */
SCORE_API score_status score_trainer_evaluate(score_trainer *trainer, const char *const *prompts,
                                              const char *const *references, size_t count,
                                              int32_t protocol, uint64_t seed, score_eval_result *result);

/* A supervised example. With attempt2 NULL the model learns attempt1 as its answer to prompt.
   With attempt2 set the example is a two-attempt exchange (prompt, attempt 1, instruction,
   attempt 2) in which the model learns attempt 2 only, attempt 1 being context: Pair-SFT's data
   (a wrong first attempt followed by a correct second one). */
typedef struct score_sft_example {
    const char *prompt;
    const char *attempt1;
    const char *attempt2;      /* NULL: a single-turn example */
} score_sft_example;

/* One supervised step (cross-entropy on the attempts, clipping, AdamW at `learning_rate`) over
   `count` examples; *loss (may be NULL) receives the mean token loss. Shares the trainer's
   optimizer. To start RL from the result, call score_trainer_reset_reference. */
SCORE_API score_status score_trainer_sft_step(score_trainer *trainer, const score_sft_example *examples,
                                              size_t count, float learning_rate, float *loss);

/* Makes the reference policy a copy of the policy as it is now and clears the optimizer's moments
   and step count (for RL after supervised warm-up). With LoRA the adapters are merged into the
   frozen weights, which become the reference, and start again from zero updates. */
SCORE_API score_status score_trainer_reset_reference(score_trainer *trainer);

/* Saves everything a run needs to continue exactly (policy, reference or LoRA adapters, optimizer
   moments, sampling state, step, options) to the folder `path`. The folder is resumable only once the save
   has completed: saving over an earlier state and failing midway leaves neither, so save each
   checkpoint to a new folder to keep the previous one. */
SCORE_API score_status score_trainer_save(const score_trainer *trainer, const char *path);

/* Resumes a trainer saved by score_trainer_save: loads the saved policy weights into `policy`
   (whose shape must match), and the rest into a new trainer (*out). The verifier is not saved:
   set it again. A resumed run continues as the uninterrupted run would have (bit-identical with
   one thread). */
SCORE_API score_status score_trainer_resume(score_policy *policy, const char *path, score_trainer **out);

#ifdef __cplusplus
}
#endif

#endif /* SCORE_H */
