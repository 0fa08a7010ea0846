/*
 * threads_test.c — libscore used from several threads at once (Tests/sanitize.sh runs it under
 * ThreadSanitizer; it is an ordinary C program and runs without one too).
 *
 * 1. Separate handles are independent (score.h, "Threads"): 8 threads, each with its own tiny
 *    policy (half of them with 2 kernel threads) and trainer, start together (their calls are the
 *    process's first into the library) and each tokenize, compute logits, generate, run one
 *    training step scored by a C verifier, and compute the logits again. Every result must equal,
 *    to the bit, what the same calls give when run one after another on the main thread
 *    afterwards, and the verifier must run on the thread of the step.
 * 2. A handle serves one call at a time: two threads call score_policy_get_info and
 *    score_generate on ONE policy at the same time. Each call must return SCORE_OK with the right
 *    result, or SCORE_ERR_STATE with an "in use" message in that thread's score_last_error()
 *    and NULL out-pointers; anything else (another status, a wrong result, a crash) fails.
 *    Prints how many calls were refused (the number depends on timing; 0 is allowed).
 *
 * Build and run from the repository root (LIB_DIR is the folder holding libscore.so):
 *
 *   cc -std=c99 -Wall -Wextra -Werror -pthread -Iinclude Tests/CABI/threads_test.c -L"$LIB_DIR" \
 *      -lscore -Wl,-rpath,"$LIB_DIR" -o threads_test && ./threads_test
 *
 * Exits 1 when any check failed.
 */
#define _POSIX_C_SOURCE 200809L
#include "score.h"
#include "tiny_config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    WORKERS = 8,
    CONFIGS = 4,     /* worker i repeats configuration i % CONFIGS: two workers per configuration */
    VOCAB = 320,
    MAX_TOKENS = 32,
    SHARED_ROUNDS = 24, /* calls of each kind per thread on the shared policy */
};

/* -------------------------------------------------------------------------------------------
 * Checks (any thread)
 * ----------------------------------------------------------------------------------------- */

static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static int checks_run, checks_failed;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static bool check_at(bool ok, int line, const char *format, ...) {
    pthread_mutex_lock(&report_lock);
    checks_run++;
    if (!ok) {
        checks_failed++;
        fprintf(stderr, "FAIL line %d: ", line);
        va_list args;
        va_start(args, format);
        vfprintf(stderr, format, args);
        va_end(args);
        fputc('\n', stderr);
    }
    pthread_mutex_unlock(&report_lock);
    return ok;
}

#define CHECK(cond, ...) check_at((cond) ? true : false, __LINE__, __VA_ARGS__)

static bool contains(const char *text, const char *word) { return text && strstr(text, word) != NULL; }

/* -------------------------------------------------------------------------------------------
 * Part 1: one policy and trainer per thread
 * ----------------------------------------------------------------------------------------- */


static const char *const prompts[] = {"12+34=", "7+8="};
static const char *const references[] = {"46", "15"};
static const char probe_text[] = "12+34=46";

/* What one verifier saw; written only by the thread whose step runs it. */
typedef struct {
    pthread_t owner;
    int calls, wrong_thread, malformed;
    size_t items;
} verifier_log;

static uint32_t fnv1a(const char *text) {
    uint32_t hash = 2166136261u;
    for (; *text; text++) hash = (hash ^ (unsigned char)*text) * 16777619u;
    return hash;
}

/* Rewards 0.25 or 0.75 by a hash of the response, so a step has a gradient. */
static score_status hash_verifier(const score_verify_item *items, size_t count, float *rewards, void *user_data) {
    verifier_log *log = user_data;
    log->calls++;
    if (!pthread_equal(pthread_self(), log->owner)) log->wrong_thread++;
    for (size_t i = 0; i < count; i++) {
        const score_verify_item *item = &items[i];
        bool ok = item->prompt && item->response && item->reference && (item->turn == 1 || item->turn == 2) &&
                  ((item->turn == 1) == (item->first_attempt == NULL));
        if (!ok) log->malformed++;
        rewards[i] = (fnv1a(item->response ? item->response : "") & 1u) ? 0.75f : 0.25f;
    }
    log->items += count;
    return SCORE_OK;
}

/* Everything one run of the calls produced, to compare runs bit for bit. */
typedef struct {
    int config;            /* 0 ... CONFIGS-1 */
    bool ok;               /* every call succeeded */
    int32_t tokens[MAX_TOKENS];
    size_t token_count;
    float *logits_before;  /* token_count x VOCAB */
    char *generated;       /* score_free */
    int32_t stage;
    int episodes;
    int64_t steps;
    double loss;
    float *logits_after;
    verifier_log verifier;
} run_result;

static float *policy_logits(score_policy *policy, const int32_t *tokens, size_t count, int worker) {
    size_t capacity = count * VOCAB, got = 0;
    float *logits = calloc(capacity, sizeof(float));
    score_status status = score_policy_logits(policy, tokens, count, logits, capacity, &got);
    if (!CHECK(status == SCORE_OK && got == capacity, "worker %d: score_policy_logits: %d %s", worker, status,
               score_last_error())) {
        free(logits);
        return NULL;
    }
    return logits;
}

/* The calls of one worker, on its own policy and trainer; `worker` -1 is the reference run. */
static void run_calls(int config, int worker, run_result *out) {
    memset(out, 0, sizeof *out);
    out->config = config;
    out->verifier.owner = pthread_self();

    score_model_config model = tiny_config();
    score_policy_options options;
    score_policy_options_init(&options);
    options.threads = 1 + config % 2; /* half the workers split their kernels over 2 threads */
    score_policy *policy = NULL;
    score_status status = score_policy_create(&model, 100 + (uint64_t)config, &options, &policy);
    if (!CHECK(status == SCORE_OK && policy, "worker %d: score_policy_create: %d %s", worker, status,
               score_last_error()))
        return;

    status = score_tokenize(policy, probe_text, out->tokens, MAX_TOKENS, &out->token_count);
    bool ok = CHECK(status == SCORE_OK && out->token_count > 0, "worker %d: score_tokenize: %d %s", worker, status,
                    score_last_error());
    if (ok) ok = (out->logits_before = policy_logits(policy, out->tokens, out->token_count, worker)) != NULL;

    score_sampling_options sampling;
    score_sampling_options_init(&sampling);
    sampling.max_new_tokens = 8;
    status = score_generate(policy, prompts[0], &sampling, &out->generated);
    ok = CHECK(status == SCORE_OK && out->generated, "worker %d: score_generate: %d %s", worker, status,
               score_last_error()) && ok;

    score_trainer_options trainer_options;
    score_trainer_options_init(&trainer_options);
    trainer_options.stage_i_steps = 2;
    trainer_options.stage_ii_steps = 2;
    trainer_options.samples_per_prompt = 2;
    trainer_options.max_new_tokens = 6;
    trainer_options.baseline = SCORE_BASELINE_NONE;
    trainer_options.learning_rate = 1e-3f;
    trainer_options.seed = 3;
    score_trainer *trainer = NULL;
    status = score_trainer_create(policy, &trainer_options, &trainer);
    if (CHECK(status == SCORE_OK && trainer, "worker %d: score_trainer_create: %d %s", worker, status,
              score_last_error())) {
        status = score_trainer_set_verifier(trainer, hash_verifier, &out->verifier);
        ok = CHECK(status == SCORE_OK, "worker %d: score_trainer_set_verifier: %d %s", worker, status,
                   score_last_error()) && ok;
        score_step_stats stats = {.struct_size = sizeof stats};
        status = score_trainer_step(trainer, prompts, references, 2, &stats);
        ok = CHECK(status == SCORE_OK, "worker %d: score_trainer_step: %d %s", worker, status, score_last_error()) &&
             ok;
        out->stage = stats.stage;
        out->episodes = stats.episodes;
        out->steps = stats.step;
        out->loss = stats.loss;
        score_trainer_free(trainer);
    } else {
        ok = false;
    }
    if (ok) ok = (out->logits_after = policy_logits(policy, out->tokens, out->token_count, worker)) != NULL;
    score_policy_free(policy);
    out->ok = ok;
}

static void free_result(run_result *result) {
    free(result->logits_before);
    free(result->logits_after);
    score_free(result->generated);
}

static run_result reference[CONFIGS];
static run_result results[WORKERS];
static pthread_barrier_t start_line;

static void *worker_main(void *argument) {
    int worker = (int)(intptr_t)argument;
    pthread_barrier_wait(&start_line);
    run_calls(worker % CONFIGS, worker, &results[worker]);
    return NULL;
}

/* A worker's results equal the serial run of its configuration, bit for bit. */
static void compare_with_reference(int worker) {
    const run_result *got = &results[worker], *want = &reference[got->config];
    if (!CHECK(got->ok, "worker %d: a call failed (see above)", worker) || !want->ok) return;
    CHECK(got->token_count == want->token_count &&
              memcmp(got->tokens, want->tokens, got->token_count * sizeof(int32_t)) == 0,
          "worker %d: score_tokenize gave other tokens than the serial run", worker);
    size_t floats = want->token_count * VOCAB * sizeof(float);
    CHECK(memcmp(got->logits_before, want->logits_before, floats) == 0,
          "worker %d: score_policy_logits differ from the serial run", worker);
    CHECK(strcmp(got->generated, want->generated) == 0, "worker %d: score_generate gave \"%s\", serially \"%s\"",
          worker, got->generated, want->generated);
    CHECK(got->stage == want->stage && got->episodes == want->episodes && got->steps == 1 &&
              got->episodes == 4 && got->loss == want->loss,
          "worker %d: step stats (stage %d, %d episodes, step %lld, loss %.9g) differ from the serial run "
          "(stage %d, %d episodes, loss %.9g)",
          worker, got->stage, got->episodes, (long long)got->steps, got->loss, want->stage, want->episodes,
          want->loss);
    CHECK(memcmp(got->logits_after, want->logits_after, floats) == 0,
          "worker %d: the weights after the step differ from the serial run", worker);
    CHECK(memcmp(got->logits_after, got->logits_before, floats) != 0, "worker %d: the step did not change the weights",
          worker);
    CHECK(got->verifier.calls > 0 && got->verifier.items == want->verifier.items && got->verifier.malformed == 0 &&
              got->verifier.wrong_thread == 0,
          "worker %d: verifier calls %d (items %zu, serially %zu), malformed items %d, calls on another thread %d",
          worker, got->verifier.calls, got->verifier.items, want->verifier.items, got->verifier.malformed,
          got->verifier.wrong_thread);
}

/* The workers run first, so that their calls are the process's first calls into the library and
   its lazily made globals (handle tables, thread-local keys, OpenBLAS's setup) are made under
   contention; the serial runs to compare with come after. */
static void test_separate_handles(void) {
    pthread_barrier_init(&start_line, NULL, WORKERS);
    pthread_t threads[WORKERS];
    int started = 0;
    for (int i = 0; i < WORKERS; i++) {
        if (!CHECK(pthread_create(&threads[i], NULL, worker_main, (void *)(intptr_t)i) == 0, "pthread_create failed"))
            abort(); /* the barrier would wait forever */
        started++;
    }
    for (int i = 0; i < started; i++) pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&start_line);
    for (int config = 0; config < CONFIGS; config++) {
        run_calls(config, -1, &reference[config]);
        CHECK(reference[config].ok, "the serial run of configuration %d failed", config);
    }
    for (int i = 0; i < WORKERS; i++) compare_with_reference(i);
    int ok = 0;
    for (int i = 0; i < WORKERS; i++) ok += results[i].ok;
    printf("separate handles: %d threads, %d ran every call and matched the serial runs where checked\n", WORKERS, ok);
    for (int i = 0; i < WORKERS; i++) free_result(&results[i]);
    for (int i = 0; i < CONFIGS; i++) free_result(&reference[i]);
}

/* -------------------------------------------------------------------------------------------
 * Part 2: two threads on one policy
 * ----------------------------------------------------------------------------------------- */

typedef struct {
    int index;
    score_policy *policy;
    const score_policy_info *want_info;
    const char *want_text;
    long generate_nanoseconds; /* one generation alone */
    int info_ok, info_refused, generate_ok, generate_refused, wrong;
} sharer;

static pthread_barrier_t shared_start;

/* A refused call: SCORE_ERR_STATE, with this thread's message saying the handle is in use. */
static void check_refusal(sharer *self, const char *call) {
    const char *message = score_last_error();
    if (!CHECK(contains(message, "in use"), "sharer %d: %s refused with message \"%s\" (expected \"in use\")",
               self->index, call, message ? message : "(NULL)"))
        self->wrong++;
}

static void call_get_info(sharer *self) {
    score_policy_info info;
    memset(&info, 0xAB, sizeof info);
    info.struct_size = sizeof info;
    score_status status = score_policy_get_info(self->policy, &info);
    if (status == SCORE_OK) {
        self->info_ok++;
        if (!CHECK(info.vocab_size == self->want_info->vocab_size &&
                       info.tokenizer_size == self->want_info->tokenizer_size &&
                       info.max_seq_len == self->want_info->max_seq_len && info.threads == self->want_info->threads &&
                       info.parameter_count == self->want_info->parameter_count,
                   "sharer %d: score_policy_get_info gave vocab %d, tokenizer %d, context %d, threads %d, "
                   "%lld parameters; expected %d, %d, %d, %d, %lld",
                   self->index, info.vocab_size, info.tokenizer_size, info.max_seq_len, info.threads,
                   (long long)info.parameter_count, self->want_info->vocab_size, self->want_info->tokenizer_size,
                   self->want_info->max_seq_len, self->want_info->threads,
                   (long long)self->want_info->parameter_count))
            self->wrong++;
    } else if (status == SCORE_ERR_STATE) {
        self->info_refused++;
        check_refusal(self, "score_policy_get_info");
    } else {
        self->wrong++;
        CHECK(false, "sharer %d: score_policy_get_info returned %d (%s): %s", self->index, status,
              score_status_string(status), score_last_error());
    }
}

static void call_generate(sharer *self) {
    score_sampling_options sampling;
    score_sampling_options_init(&sampling);
    sampling.max_new_tokens = 8;
    char *text = (char *)"not set";
    score_status status = score_generate(self->policy, prompts[0], &sampling, &text);
    if (status == SCORE_OK) {
        self->generate_ok++;
        if (!CHECK(text && strcmp(text, self->want_text) == 0,
                   "sharer %d: score_generate gave \"%s\", alone it gives \"%s\"", self->index,
                   text ? text : "(NULL)", self->want_text))
            self->wrong++;
        score_free(text);
    } else if (status == SCORE_ERR_STATE) {
        self->generate_refused++;
        check_refusal(self, "score_generate");
        if (!CHECK(text == NULL, "sharer %d: a refused score_generate left *out_text set", self->index)) self->wrong++;
    } else {
        self->wrong++;
        CHECK(false, "sharer %d: score_generate returned %d (%s): %s", self->index, status,
              score_status_string(status), score_last_error());
    }
}

/* A refused call returns at once, far sooner than a generation, and a thread that calls again at
   once holds the policy nearly all the time: the other would spend all its calls refused inside
   one call of the first. Each thread pauses between rounds (as a host doing other work would),
   thread i for (i + 1) / 2 of a generation's time (measured, so it scales with the sanitizer's
   slowdown), so that both hold the policy in turn and meet each other mid-call. */
static void pause_between_rounds(const sharer *self) {
    long nanoseconds = self->generate_nanoseconds * (1 + self->index) / 2;
    struct timespec pause = {.tv_sec = nanoseconds / 1000000000L, .tv_nsec = nanoseconds % 1000000000L};
    nanosleep(&pause, NULL);
}

static long now_nanoseconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)now.tv_sec * 1000000000L + now.tv_nsec;
}

static void *sharer_main(void *argument) {
    sharer *self = argument;
    pthread_barrier_wait(&shared_start);
    for (int round = 0; round < SHARED_ROUNDS; round++) {
        /* The two threads interleave the calls in opposite orders, so each kind meets each. */
        if ((round + self->index) % 2 == 0) {
            call_generate(self);
            call_get_info(self);
        } else {
            call_get_info(self);
            call_generate(self);
        }
        pause_between_rounds(self);
    }
    return NULL;
}

static void test_shared_policy(void) {
    score_model_config model = tiny_config();
    score_policy *policy = NULL;
    score_status status = score_policy_create(&model, 7, NULL, &policy);
    if (!CHECK(status == SCORE_OK && policy, "score_policy_create: %d %s", status, score_last_error())) return;
    score_policy_info want_info = {.struct_size = sizeof want_info};
    status = score_policy_get_info(policy, &want_info);
    CHECK(status == SCORE_OK, "score_policy_get_info: %s", score_last_error());
    score_sampling_options sampling;
    score_sampling_options_init(&sampling);
    sampling.max_new_tokens = 8;
    char *want_text = NULL;
    status = score_generate(policy, prompts[0], &sampling, &want_text);
    if (!CHECK(status == SCORE_OK && want_text, "score_generate: %s", score_last_error())) {
        score_policy_free(policy);
        return;
    }
    long generate_nanoseconds = -1; /* the fastest of a few, past the first call's warm-up */
    for (int i = 0; i < 3; i++) {
        char *text = NULL;
        long started = now_nanoseconds();
        status = score_generate(policy, prompts[0], &sampling, &text);
        long took = now_nanoseconds() - started;
        CHECK(status == SCORE_OK && text && strcmp(text, want_text) == 0, "score_generate differs between calls");
        score_free(text);
        if (generate_nanoseconds < 0 || took < generate_nanoseconds) generate_nanoseconds = took;
    }

    sharer sharers[2];
    pthread_t threads[2];
    pthread_barrier_init(&shared_start, NULL, 2);
    for (int i = 0; i < 2; i++) {
        sharers[i] = (sharer){.index = i, .policy = policy, .want_info = &want_info, .want_text = want_text,
                               .generate_nanoseconds = generate_nanoseconds};
        if (!CHECK(pthread_create(&threads[i], NULL, sharer_main, &sharers[i]) == 0, "pthread_create failed")) abort();
    }
    for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&shared_start);

    int refused = 0, calls = 0, wrong = 0;
    for (int i = 0; i < 2; i++) {
        const sharer *s = &sharers[i];
        printf("shared policy, thread %d: get_info %d ok / %d refused, generate %d ok / %d refused, %d wrong\n", i,
               s->info_ok, s->info_refused, s->generate_ok, s->generate_refused, s->wrong);
        refused += s->info_refused + s->generate_refused;
        calls += s->info_ok + s->info_refused + s->generate_ok + s->generate_refused;
        wrong += s->wrong;
    }
    CHECK(calls == 2 * 2 * SHARED_ROUNDS, "%d calls on the shared policy returned, expected %d", calls,
          2 * 2 * SHARED_ROUNDS);
    printf("shared policy: %d of %d calls refused with SCORE_ERR_STATE, %d wrong results or statuses\n", refused, calls,
           wrong);

    /* Once both threads are done the policy serves calls again, and its results are unchanged. */
    char *after = NULL;
    status = score_generate(policy, prompts[0], &sampling, &after);
    CHECK(status == SCORE_OK && after && strcmp(after, want_text) == 0,
          "after the shared use, score_generate gave %d \"%s\", expected \"%s\"", status, after ? after : "(NULL)",
          want_text);
    score_free(after);
    score_free(want_text);
    score_policy_free(policy);
}

int main(void) {
    test_separate_handles();
    test_shared_policy();
    printf("%d checks, %d failed\n", checks_run, checks_failed);
    return checks_failed == 0 ? 0 : 1;
}
