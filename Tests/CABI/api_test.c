/*
 * api_test.c — the contract test of score.h.
 *
 * Calls every function of the C interface with good and bad input and checks what the header
 * promises: the status of each call, a message in score_last_error() after each failure, the
 * buffer protocol, handle liveness, and the training promises (a failed step changes nothing,
 * replicas that average their gradients stay equal, a resumed run continues bit-identically).
 *
 * Build and run from the repository root (LIB_DIR is the folder holding libscore.so):
 *
 *   cc -std=c99 -Wall -Wextra -Werror -Iinclude Tests/CABI/api_test.c -L"$LIB_DIR" -lscore \
 *      -Wl,-rpath,"$LIB_DIR" -o api_test && ./api_test
 *
 * Prints each failed check, then a summary; exits 1 when any check failed. Scratch files go to a
 * fresh folder under $TMPDIR (or /tmp) that is removed at the end.
 */
#define _POSIX_C_SOURCE 200809L
#include "score.h"
#include "tiny_config.h"

#include <stdint.h>

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* -------------------------------------------------------------------------------------------
 * Checks
 * ----------------------------------------------------------------------------------------- */

static int checks_run, checks_failed;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void check_at(bool ok, int line, const char *format, ...) {
    checks_run++;
    if (ok) return;
    checks_failed++;
    fprintf(stderr, "FAIL line %d: ", line);
    va_list args;
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    fputc('\n', stderr);
}

/* CHECK(condition, printf-style explanation) counts one check. */
#define CHECK(cond, ...) check_at((cond) ? true : false, __LINE__, __VA_ARGS__)

/* score_last_error() is only valid until the next score_* call, so it is copied at once. */
static void copy_last_error(char *out, size_t capacity) {
    const char *message = score_last_error();
    snprintf(out, capacity, "%s", message ? message : "(NULL)");
}

/* Before each checked call a cheap failing call (loading a folder that does not exist) leaves a
   known message; a failure that does not set its own message is then caught as "stale". */
static char primer_path[4096];
static char primer_message[1024];
static bool primer_usable; /* the primer's message names its path, so it cannot be confused */

static void prime_last_error(void) {
    score_policy *policy = NULL;
    if (score_policy_load(primer_path, NULL, &policy) == SCORE_OK) score_policy_free(policy);
    copy_last_error(primer_message, sizeof primer_message);
}

static bool contains_ignoring_case(const char *text, const char *word) {
    size_t n = strlen(word);
    for (; *text; text++) {
        size_t i = 0;
        while (i < n && text[i] && (text[i] | 0x20) == (word[i] | 0x20)) i++;
        if (i == n) return true;
    }
    return n == 0;
}

/* A failure's message must be set by that call, non-empty, one line, and mention `keyword`. */
static void check_message(const char *message, const char *keyword, const char *what, int line) {
    size_t length = strlen(message);
    check_at(length > 0, line, "%s: score_last_error() is empty after a failure", what);
    check_at(length == 0 || message[length - 1] != '\n', line, "%s: message ends with a newline", what);
    check_at(length < 1000, line, "%s: message is %zu bytes long", what, length);
    if (primer_usable)
        check_at(strcmp(message, primer_message) != 0, line,
                 "%s: score_last_error() still holds the previous failure's message \"%s\"", what, message);
    if (keyword)
        check_at(contains_ignoring_case(message, keyword), line, "%s: message \"%s\" does not mention \"%s\"",
                 what, message, keyword);
}

/* Checks that a call returned `want` (or `also`, when the header allows two codes); after a
   failure also checks the message. */
static bool expect_at(score_status got, score_status want, score_status also, const char *keyword,
                      const char *what, int line) {
    char message[1024];
    copy_last_error(message, sizeof message);
    checks_run++;
    if (got != want && got != also) {
        checks_failed++;
        const char *got_name = score_status_string(got);
        fprintf(stderr, "FAIL line %d: %s\n    returned %d (%s), expected %d (%s)", line, what, got, got_name,
                want, score_status_string(want));
        if (also != want) fprintf(stderr, " or %d (%s)", also, score_status_string(also));
        if (got == SCORE_OK) fprintf(stderr, "; the call succeeded\n");
        else fprintf(stderr, "; last error: \"%s\"\n", message);
        return false;
    }
    if (got != SCORE_OK) check_message(message, keyword, what, line);
    return true;
}

/* EXPECT(call, status): the call returns exactly `status`. */
#define EXPECT(call, want) (prime_last_error(), expect_at((call), (want), (want), NULL, #call, __LINE__))
/* EXPECT_MSG(call, status, keyword): ... and its message mentions `keyword` (any case). */
#define EXPECT_MSG(call, want, keyword) \
    (prime_last_error(), expect_at((call), (want), (want), (keyword), #call, __LINE__))
/* EXPECT_EITHER(call, a, b): the header allows either status. */
#define EXPECT_EITHER(call, a, b) (prime_last_error(), expect_at((call), (a), (b), NULL, #call, __LINE__))
/* A NULL pointer that is not a handle: refused, and the message says so. */
#define EXPECT_NULL_REFUSED(call) EXPECT_MSG(call, SCORE_ERR_INVALID_ARGUMENT, "null")
#define EXPECT_INVALID(call) EXPECT(call, SCORE_ERR_INVALID_ARGUMENT)

/* -------------------------------------------------------------------------------------------
 * Scratch files
 * ----------------------------------------------------------------------------------------- */

static char scratch[1024]; /* a fresh folder under $TMPDIR, removed at exit */

static const char *scratch_path(const char *name) {
    static char paths[8][4096];
    static int next;
    char *path = paths[next++ % 8];
    snprintf(path, sizeof paths[0], "%s/%s", scratch, name);
    return path;
}

static bool write_file(const char *path, const void *data, size_t size) {
    FILE *file = fopen(path, "wb");
    if (!file) return false;
    bool ok = fwrite(data, 1, size, file) == size;
    return fclose(file) == 0 && ok;
}

static void *read_file(const char *path, size_t *size) {
    FILE *file = fopen(path, "rb");
    if (!file) return NULL;
    char *data = NULL;
    size_t length = 0, capacity = 0, got;
    do {
        if (length == capacity) {
            capacity = capacity ? capacity * 2 : 65536;
            char *grown = realloc(data, capacity);
            if (!grown) break;
            data = grown;
        }
        got = fread(data + length, 1, capacity - length, file);
        length += got;
    } while (got > 0);
    fclose(file);
    *size = length;
    return data;
}

static bool copy_file(const char *from, const char *to, size_t keep /* bytes; (size_t)-1 = all */) {
    size_t size = 0;
    void *data = read_file(from, &size);
    if (!data) return false;
    bool ok = write_file(to, data, size < keep ? size : keep);
    free(data);
    return ok;
}

static bool is_folder(const char *path) {
    struct stat info;
    return stat(path, &info) == 0 && S_ISDIR(info.st_mode);
}

static void remove_tree(const char *path) {
    struct stat info;
    if (lstat(path, &info) != 0) return;
    if (S_ISDIR(info.st_mode)) {
        DIR *dir = opendir(path);
        struct dirent *entry;
        while (dir && (entry = readdir(dir)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
            char child[4096];
            snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
            remove_tree(child);
        }
        if (dir) closedir(dir);
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* Copies the folder tree `from` to `to`, replacing every file's content with garbage. */
static int garble_tree(const char *from, const char *to) {
    int files = 0;
    mkdir(to, 0700);
    DIR *dir = opendir(from);
    struct dirent *entry;
    while (dir && (entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
        char source[4096], target[4096];
        snprintf(source, sizeof source, "%s/%s", from, entry->d_name);
        snprintf(target, sizeof target, "%s/%s", to, entry->d_name);
        if (is_folder(source)) {
            files += garble_tree(source, target);
        } else {
            static const char garbage[] = "\x13\x37 this is not what the file should hold \xff\xfe{[";
            write_file(target, garbage, sizeof garbage - 1);
            files++;
        }
    }
    if (dir) closedir(dir);
    return files;
}

/* -------------------------------------------------------------------------------------------
 * Tiny models and weight snapshots
 * ----------------------------------------------------------------------------------------- */

/* VOCAB and CONTEXT are tiny_config.h's vocabulary and context. */
enum { VOCAB = 320, TOKENIZER_SIZE = 262, END_TURN = 261, CONTEXT = 96, MAX_NEW = 6 };


/* Parameters of tiny_config() (tied embedding, no biases). */
static int64_t tiny_parameter_count(void) {
    const int64_t d = 32, q = 32, kv = 16, f = 64, layers = 2;
    int64_t per_layer = d + q * d + 2 * kv * d + d * q + d + 3 * f * d;
    return VOCAB * d + layers * per_layer + d;
}

static score_policy *make_policy(uint64_t seed) {
    score_model_config config = tiny_config();
    score_policy *policy = NULL;
    score_status status = score_policy_create(&config, seed, NULL, &policy);
    CHECK(status == SCORE_OK && policy != NULL, "score_policy_create(tiny): %s", score_last_error());
    return policy;
}

/* The tiny policy with a short instruction ("Fix?"), so that three attempts fit its context. */
static score_policy *make_short_instruction_policy(uint64_t seed) {
    score_model_config config = tiny_config();
    score_policy_options options;
    score_policy_options_init(&options);
    options.instruction = "Fix?";
    score_policy *policy = NULL;
    score_status status = score_policy_create(&config, seed, &options, &policy);
    CHECK(status == SCORE_OK && policy != NULL, "score_policy_create(tiny, \"Fix?\"): %s", score_last_error());
    return policy;
}

/* The logits of a fixed probe sequence: equal snapshots mean equal weights, to the bit. */
static const int32_t probe[] = {256, 259, '1', '2', '+', '3', '4', '=', 261, 260, '4', '6'};
enum { PROBE_COUNT = sizeof probe / sizeof probe[0], PROBE_FLOATS = PROBE_COUNT * VOCAB };

static float *snapshot(score_policy *policy) {
    float *logits = calloc(PROBE_FLOATS, sizeof(float));
    size_t count = 0;
    score_status status = score_policy_logits(policy, probe, PROBE_COUNT, logits, PROBE_FLOATS, &count);
    CHECK(status == SCORE_OK && count == PROBE_FLOATS, "snapshot: score_policy_logits: %s", score_last_error());
    return logits;
}

static bool same_floats(const float *a, const float *b) { return memcmp(a, b, PROBE_FLOATS * sizeof(float)) == 0; }

/* Checks the policy's weights are bitwise those of `before`. */
static void check_unchanged(score_policy *policy, const float *before, const char *after_what) {
    float *now = snapshot(policy);
    CHECK(same_floats(before, now), "weights changed after %s", after_what);
    free(now);
}

static int64_t completed_steps(const score_trainer *trainer) {
    int64_t steps = -1;
    score_status status = score_trainer_progress(trainer, NULL, &steps);
    CHECK(status == SCORE_OK, "score_trainer_progress: %s", score_last_error());
    return steps;
}

static int32_t next_stage(const score_trainer *trainer) {
    int32_t stage = -1;
    score_status status = score_trainer_progress(trainer, &stage, NULL);
    CHECK(status == SCORE_OK, "score_trainer_progress: %s", score_last_error());
    return stage;
}

/* Small, fast training: 2 Stage I steps then Stage II, 2 samples per prompt, 6-token attempts,
   no baseline (so every reward moves the weights), a learning rate that visibly moves them. */
static score_trainer_options small_trainer_options(void) {
    score_trainer_options options;
    score_trainer_options_init(&options);
    options.stage_i_steps = 2;
    options.stage_ii_steps = 100; /* never runs out during a test */
    options.samples_per_prompt = 2;
    options.max_new_tokens = MAX_NEW;
    options.baseline = SCORE_BASELINE_NONE;
    options.learning_rate = 1e-3f;
    options.seed = 3;
    return options;
}

static score_trainer *make_trainer(score_policy *policy, const score_trainer_options *options) {
    score_trainer *trainer = NULL;
    score_status status = score_trainer_create(policy, options, &trainer);
    CHECK(status == SCORE_OK && trainer != NULL, "score_trainer_create: %s", score_last_error());
    return trainer;
}

static const char *const prompts_a[] = {"12+34=", "7+8="};
static const char *const references_a[] = {"46", "15"};
static const char *const prompts_b[] = {"50+25=", "3+4="};
static const char *const references_b[] = {"75", "7"};

/* exp without libm (the test links only libscore): squaring of a short Taylor series. */
static double exp_approx(double x) {
    int halvings = 0;
    while (x > 0.25 || x < -0.25) {
        x /= 2;
        halvings++;
    }
    double term = 1, sum = 1;
    for (int k = 1; k < 16; k++) {
        term *= x / k;
        sum += term;
    }
    while (halvings-- > 0) sum *= sum;
    return sum;
}

static bool close_to(double a, double b, double tolerance) {
    double difference = a > b ? a - b : b - a;
    double scale = (a > 0 ? a : -a) + (b > 0 ? b : -b);
    return difference <= tolerance * (scale > 1e-30 ? scale : 1e-30) || difference < 1e-12;
}

/* -------------------------------------------------------------------------------------------
 * Callbacks
 * ----------------------------------------------------------------------------------------- */

static uint32_t fnv1a(const char *text) {
    uint32_t hash = 2166136261u;
    for (; *text; text++) hash = (hash ^ (unsigned char)*text) * 16777619u;
    return hash;
}

/* A verifier that checks what it is handed and rewards 0.25 or 0.75 by a hash of the response
   (never all-equal rewards for long, so steps have a gradient). */
typedef struct verifier_log {
    const char *const *prompts; /* the pairs of the current call, to check prompt i comes with */
    const char *const *references; /* references[i]; NULL pointers skip that check */
    size_t count;
    int calls;
    size_t items_t1, items_t2, items_later, correct_t1, correct_t2;
    double reward_sum_t1;
    int malformed;
} verifier_log;

static void verifier_log_reset(verifier_log *log, const char *const *prompts, const char *const *references,
                               size_t count) {
    memset(log, 0, sizeof *log);
    log->prompts = prompts;
    log->references = references;
    log->count = count;
}

static score_status hash_verifier(const score_verify_item *items, size_t count, float *rewards, void *user_data) {
    verifier_log *log = user_data;
    log->calls++;
    for (size_t i = 0; i < count; i++) {
        const score_verify_item *item = &items[i];
        bool ok = item->prompt && item->response && item->reference && item->turn >= 1 && item->turn <= SCORE_MAX_ATTEMPTS &&
                  ((item->turn == 1) == (item->first_attempt == NULL));
        if (ok && log->prompts) {
            size_t j = 0;
            while (j < log->count && strcmp(log->prompts[j], item->prompt) != 0) j++;
            ok = j < log->count && strcmp(log->references[j], item->reference) == 0;
        }
        if (!ok) log->malformed++;
        float reward = (fnv1a(item->response ? item->response : "") & 1u) ? 0.75f : 0.25f;
        rewards[i] = reward;
        if (item->turn == 1) {
            log->items_t1++;
            log->correct_t1 += reward >= 0.5f;
            log->reward_sum_t1 += reward;
        } else if (item->turn == 2) {
            log->items_t2++;
            log->correct_t2 += reward >= 0.5f;
        } else {
            log->items_later++;
        }
    }
    return SCORE_OK;
}

/* Verifiers that misbehave in one way each. */
enum { BAD_ERROR_STATUS, BAD_POSITIVE_STATUS, BAD_NAN, BAD_INFINITY, BAD_ABORT, BAD_MODES };
static const char *const bad_names[] = {"returns SCORE_ERR_INTERNAL", "returns 42", "writes a NaN",
                                        "writes an infinity", "returns SCORE_ERR_ABORTED"};
static const score_status bad_expected[] = {SCORE_ERR_CALLBACK, SCORE_ERR_CALLBACK, SCORE_ERR_NON_FINITE,
                                            SCORE_ERR_NON_FINITE, SCORE_ERR_ABORTED};

static score_status bad_verifier(const score_verify_item *items, size_t count, float *rewards, void *user_data) {
    int mode = *(const int *)user_data;
    (void)items;
    for (size_t i = 0; i < count; i++) rewards[i] = 0.5f;
    if (count > 0 && mode == BAD_NAN) rewards[count - 1] = NAN;
    if (count > 0 && mode == BAD_INFINITY) rewards[0] = INFINITY;
    switch (mode) {
    case BAD_ERROR_STATUS: return SCORE_ERR_INTERNAL;
    case BAD_POSITIVE_STATUS: return 42;
    case BAD_ABORT: return SCORE_ERR_ABORTED;
    default: return SCORE_OK;
    }
}

/* Records progress calls; returns `abort_value` at phase `abort_phase`. */
typedef struct progress_log {
    int calls, per_phase[4], malformed;
    int32_t abort_phase; /* -1: never */
    score_status abort_value;
} progress_log;

static score_status record_progress(int32_t phase, size_t done, size_t total, void *user_data) {
    progress_log *log = user_data;
    log->calls++;
    if (phase < SCORE_PHASE_ROLLOUT || phase > SCORE_PHASE_EVALUATE || done > total) log->malformed++;
    else log->per_phase[phase]++;
    return phase == log->abort_phase ? log->abort_value : SCORE_OK;
}

typedef struct log_record {
    int lines, malformed, below_min;
    int32_t min_level;
} log_record;

static void record_log(int32_t level, const char *message, void *user_data) {
    log_record *log = user_data;
    log->lines++;
    size_t length = message ? strlen(message) : 0;
    if (!message || (length > 0 && message[length - 1] == '\n') || level < SCORE_LOG_DEBUG || level > SCORE_LOG_ERROR)
        log->malformed++;
    if (level < log->min_level) log->below_min++;
}

/* -------------------------------------------------------------------------------------------
 * Version, statuses, memory, defaults
 * ----------------------------------------------------------------------------------------- */

static void test_version_and_status(void) {
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", SCORE_VERSION_MAJOR, SCORE_VERSION_MINOR, SCORE_VERSION_PATCH);
    const char *version = score_version_string();
    CHECK(version && strcmp(version, expected) == 0, "score_version_string: %s, header %s", version, expected);
    CHECK(score_version_number() == SCORE_VERSION_NUMBER, "score_version_number: %d", score_version_number());

    /* Each code has its own name; "ok" and "invalid argument" are spelled out in the header. */
    CHECK(strcmp(score_status_string(SCORE_OK), "ok") == 0, "status 0 is \"%s\"", score_status_string(SCORE_OK));
    CHECK(strcmp(score_status_string(SCORE_ERR_INVALID_ARGUMENT), "invalid argument") == 0,
          "status -1 is \"%s\"", score_status_string(SCORE_ERR_INVALID_ARGUMENT));
    const char *names[10];
    for (int code = 0; code >= SCORE_ERR_INTERNAL; code--) {
        const char *name = score_status_string(code);
        names[-code] = name;
        CHECK(name && name[0] && strcmp(name, "unknown status") != 0, "score_status_string(%d) = \"%s\"", code,
              name ? name : "(NULL)");
        for (int other = 0; name && other < -code; other++)
            CHECK(strcmp(names[other], name) != 0, "statuses %d and %d share the name \"%s\"", -other, code, name);
    }
    const score_status unknown[] = {1, 42, -10, -100, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *name = score_status_string(unknown[i]);
        CHECK(name && strcmp(name, "unknown status") == 0, "score_status_string(%d) = \"%s\"", unknown[i],
              name ? name : "(NULL)");
    }
}

static void test_free_functions_accept_null(void) {
    /* Every release function takes NULL as a no-op; so do the init functions. */
    score_free(NULL);
    score_correction_free(NULL);
    score_policy_free(NULL);
    score_trainer_free(NULL);
    score_model_config_init(NULL);
    score_policy_options_init(NULL);
    score_sampling_options_init(NULL);
    score_correct_options_init(NULL);
    score_trainer_options_init(NULL);
    /* Reaching this line is the check: a crash above fails the whole program. */
}

static void test_defaults(void) {
    /* The init functions fill struct_size and the defaults the header documents. */
    score_model_config c;
    memset(&c, 0x5A, sizeof c);
    score_model_config_init(&c);
    CHECK(c.struct_size == sizeof c && c.vocab_size == 320 && c.hidden_size == 128 && c.num_layers == 4 &&
              c.num_heads == 4 && c.num_kv_heads == 2 && c.intermediate_size == 384 && c.max_seq_len == 128 &&
              c.head_dim == 0 && c.rope_theta == 10000.0f && c.norm_eps == 1e-5f && c.tie_embeddings &&
              !c.qkv_bias,
          "score_model_config_init defaults differ from the header");

    score_policy_options p;
    memset(&p, 0x5A, sizeof p);
    score_policy_options_init(&p);
    CHECK(p.struct_size == sizeof p && p.threads == 1 && p.instruction == NULL,
          "score_policy_options_init defaults differ from the header");

    score_sampling_options s;
    memset(&s, 0x5A, sizeof s);
    score_sampling_options_init(&s);
    CHECK(s.struct_size == sizeof s && s.temperature == 0 && s.top_k == 0 && s.top_p == 1 && s.min_p == 0 &&
              s.max_new_tokens == 16 && s.seed == 0,
          "score_sampling_options_init defaults differ from the header (max_new_tokens %d, expected 16)",
          s.max_new_tokens);

    score_correct_options k;
    memset(&k, 0x5A, sizeof k);
    score_correct_options_init(&k);
    CHECK(k.struct_size == sizeof k && k.temperature == 0 && k.max_new_tokens == 16 && k.seed == 0 && !k.gated &&
              k.gate_threshold == 0.9f && k.confidence == SCORE_CONFIDENCE_MEAN_PROBABILITY && k.attempts == 2,
          "score_correct_options_init defaults differ from the header (max_new_tokens %d, expected 16)",
          k.max_new_tokens);

    score_trainer_options t;
    memset(&t, 0x5A, sizeof t);
    score_trainer_options_init(&t);
    CHECK(t.struct_size == sizeof t && t.plan == SCORE_PLAN_SCORE && t.stage_i_steps == 150 &&
              t.stage_ii_steps == 150 && t.rounds == 1 && t.single_turn_steps == 300 && t.beta1 == 0.01f &&
              t.beta2 == 1.0f && t.alpha == 10.0f && t.shaping == SCORE_SHAPING_PROGRESS &&
              t.kl_estimator == SCORE_KL_K3 && t.baseline == SCORE_BASELINE_LEAVE_ONE_OUT &&
              t.learning_rate == 1e-4f && t.weight_decay == 0 && t.grad_clip == 1 && t.samples_per_prompt == 4 &&
              t.temperature == 1 && t.first_temperature == -1 && t.max_new_tokens == 8 && t.seed == 0 &&
              t.second_attempts == 1 && t.attempts == 2 && !t.stage_i_holds_first_only,
          "score_trainer_options_init defaults differ from the header");
}

/* -------------------------------------------------------------------------------------------
 * Logging
 * ----------------------------------------------------------------------------------------- */

/* Work that should log something at DEBUG: a policy, a trainer, a step, an evaluation, a failure. */
static void do_some_logged_work(void) {
    score_policy *policy = make_policy(1);
    score_trainer_options options = small_trainer_options();
    score_trainer *trainer = make_trainer(policy, &options);
    score_trainer_set_builtin_verifier(trainer, SCORE_VERIFIER_ARITHMETIC);
    score_trainer_step(trainer, prompts_a, references_a, 2, NULL);
    score_eval_result result = {.struct_size = sizeof result};
    score_trainer_evaluate(trainer, prompts_a, references_a, 2, SCORE_EVAL_GREEDY, 0, &result);
    score_trainer_step(trainer, prompts_a, NULL, 2, NULL); /* fails */
    score_trainer_free(trainer);
    score_policy_free(policy);
}

static void test_logging(void) {
    log_record log = {0};
    EXPECT_MSG(score_set_log_callback(record_log, 4, &log), SCORE_ERR_INVALID_ARGUMENT, "level");
    EXPECT_MSG(score_set_log_callback(record_log, -1, &log), SCORE_ERR_INVALID_ARGUMENT, "level");
    EXPECT_MSG(score_set_log_callback(NULL, 99, NULL), SCORE_ERR_INVALID_ARGUMENT, "level");

    /* At DEBUG the callback receives well-formed lines. */
    log.min_level = SCORE_LOG_DEBUG;
    EXPECT(score_set_log_callback(record_log, SCORE_LOG_DEBUG, &log), SCORE_OK);
    do_some_logged_work();
    CHECK(log.lines > 0, "no log line at level DEBUG during create, step, evaluate and a failed step");
    CHECK(log.malformed == 0, "%d malformed log lines (NULL, trailing newline or unknown level)", log.malformed);

    /* min_level filters. */
    memset(&log, 0, sizeof log);
    log.min_level = SCORE_LOG_WARN;
    EXPECT(score_set_log_callback(record_log, SCORE_LOG_WARN, &log), SCORE_OK);
    do_some_logged_work();
    CHECK(log.below_min == 0, "%d lines below min_level WARN were delivered", log.below_min);

    /* NULL turns logging off. */
    EXPECT(score_set_log_callback(NULL, SCORE_LOG_DEBUG, NULL), SCORE_OK);
    int before = log.lines;
    do_some_logged_work();
    CHECK(log.lines == before, "log lines delivered after logging was turned off");
}

/* -------------------------------------------------------------------------------------------
 * Policy creation
 * ----------------------------------------------------------------------------------------- */

static const uint32_t huge_size = 0xFFFFFFFFu;

/* SET(object, field, value) changes one field of a valid struct and names the case after it. */
#define SET(object, field, value) ((object).field = (value), name = #field " = " #value)

/* Makes one model shape out of range per case and names it; NULL after the last case. */
static const char *break_config(score_model_config *c, int which) {
    const char *name = NULL;
    switch (which) {
    case 0: SET(*c, vocab_size, TOKENIZER_SIZE - 1); break; /* below the tokenizer's 262 ids */
    case 1: SET(*c, vocab_size, -320); break;
    case 2: SET(*c, hidden_size, 0); break;
    case 3: SET(*c, hidden_size, -32); break;
    case 4: SET(*c, num_layers, -1); break;
    case 5: SET(*c, num_heads, 0); break;
    case 6: SET(*c, num_kv_heads, 0); break;
    case 7: SET(*c, num_kv_heads, 3); break; /* does not divide 2 heads */
    case 8: SET(*c, head_dim, 15); break; /* odd: rotary embeddings pair dimensions */
    case 9: SET(*c, intermediate_size, 0); break;
    case 10: SET(*c, max_seq_len, 0); break;
    case 11: SET(*c, max_seq_len, -5); break;
    case 12: SET(*c, head_dim, -1); break;
    case 13: SET(*c, rope_theta, 0); break;
    case 14: SET(*c, rope_theta, NAN); break;
    case 15: SET(*c, norm_eps, NAN); break;
    case 16: SET(*c, norm_eps, -1e-5f); break;
    case 17: SET(*c, rope_theta, INFINITY); break;
    }
    return name;
}

static void test_policy_create_errors(void) {
    score_model_config config = tiny_config();
    score_policy *policy = NULL;
    score_policy *const sentinel = (score_policy *)&config; /* "not NULL": must be reset on failure */

    EXPECT_NULL_REFUSED(score_policy_create(&config, 1, NULL, NULL));

    /* The conventions say a NULL options pointer means the defaults; whether that covers the model
       config is not stated, so both readings are accepted here. */
    policy = sentinel;
    if (EXPECT_EITHER(score_policy_create(NULL, 1, NULL, &policy), SCORE_OK, SCORE_ERR_INVALID_ARGUMENT) &&
        policy != sentinel)
        score_policy_free(policy);

    const uint32_t bad_sizes[] = {0, sizeof(score_model_config) - 1, huge_size};
    for (int i = 0; i < 3; i++) {
        config = tiny_config();
        config.struct_size = bad_sizes[i];
        policy = sentinel;
        EXPECT_MSG(score_policy_create(&config, 1, NULL, &policy), SCORE_ERR_INVALID_ARGUMENT, "struct");
        CHECK(policy == NULL, "*out is not NULL after a failed score_policy_create (struct_size %u)", bad_sizes[i]);
    }
    for (int which = 0;; which++) {
        config = tiny_config();
        const char *name = break_config(&config, which);
        if (!name) break;
        policy = sentinel;
        score_status status = (prime_last_error(), score_policy_create(&config, 1, NULL, &policy));
        char what[128];
        snprintf(what, sizeof what, "score_policy_create(config with %s)", name);
        expect_at(status, SCORE_ERR_INVALID_ARGUMENT, SCORE_ERR_INVALID_ARGUMENT, NULL, what, __LINE__);
        if (status != SCORE_OK) CHECK(policy == NULL, "*out is not NULL after a failed %s", what);
        if (status == SCORE_OK && policy != sentinel) score_policy_free(policy);
    }

    /* Policy options: struct_size, threads in 1...256, instruction in UTF-8. */
    config = tiny_config();
    score_policy_options options;
    for (int i = 0; i < 3; i++) {
        score_policy_options_init(&options);
        options.struct_size = i == 0 ? 0 : i == 1 ? sizeof options - 1 : huge_size;
        EXPECT_MSG(score_policy_create(&config, 1, &options, &policy), SCORE_ERR_INVALID_ARGUMENT, "struct");
    }
    const int32_t bad_threads[] = {0, -1, 257, INT32_MIN};
    for (int i = 0; i < 4; i++) {
        score_policy_options_init(&options);
        options.threads = bad_threads[i];
        EXPECT_MSG(score_policy_create(&config, 1, &options, &policy), SCORE_ERR_INVALID_ARGUMENT, "thread");
    }
    score_policy_options_init(&options);
    options.instruction = "Fix it \xff\xfe please";
    EXPECT_MSG(score_policy_create(&config, 1, &options, &policy), SCORE_ERR_INVALID_ARGUMENT, "utf");

    /* Valid options are taken: 2 threads and a custom instruction. */
    score_policy_options_init(&options);
    options.threads = 2;
    char instruction[] = "Check the answer and fix it.";
    options.instruction = instruction;
    policy = NULL;
    if (EXPECT(score_policy_create(&config, 1, &options, &policy), SCORE_OK)) {
        instruction[0] = 'X'; /* copied: the caller's buffer need not outlive the call */
        score_policy_info info = {.struct_size = sizeof info};
        EXPECT(score_policy_get_info(policy, &info), SCORE_OK);
        CHECK(info.threads == 2, "info.threads %d after creating with 2 threads", info.threads);
        score_correction *correction = NULL;
        score_correct_options correct;
        score_correct_options_init(&correct);
        correct.max_new_tokens = MAX_NEW;
        EXPECT(score_self_correct(policy, "1+1=", &correct, &correction), SCORE_OK);
        score_correction_free(correction);
        score_policy_free(policy);
    }

    /* Same seed, same weights; another seed, other weights. */
    score_policy *a = make_policy(7), *b = make_policy(7), *c = make_policy(8);
    float *la = snapshot(a), *lb = snapshot(b), *lc = snapshot(c);
    CHECK(same_floats(la, lb), "two policies created with seed 7 differ");
    CHECK(!same_floats(la, lc), "policies created with seeds 7 and 8 are equal");
    free(la), free(lb), free(lc);
    score_policy_free(a), score_policy_free(b), score_policy_free(c);
}

/* -------------------------------------------------------------------------------------------
 * Policy info, tokens, logits
 * ----------------------------------------------------------------------------------------- */

static void test_policy_info(score_policy *policy) {
    score_policy_info info;
    EXPECT_NULL_REFUSED(score_policy_get_info(policy, NULL));
    info.struct_size = sizeof info;
    EXPECT_INVALID(score_policy_get_info(NULL, &info));
    const uint32_t bad_sizes[] = {0, sizeof info - 1, huge_size};
    for (int i = 0; i < 3; i++) {
        info.struct_size = bad_sizes[i];
        EXPECT_MSG(score_policy_get_info(policy, &info), SCORE_ERR_INVALID_ARGUMENT, "struct");
    }
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    EXPECT(score_policy_get_info(policy, &info), SCORE_OK);
    CHECK(info.vocab_size == VOCAB && info.tokenizer_size == TOKENIZER_SIZE && info.max_seq_len == CONTEXT &&
              info.threads == 1,
          "info: vocab %d tokenizer %d context %d threads %d", info.vocab_size, info.tokenizer_size,
          info.max_seq_len, info.threads);
    CHECK(info.parameter_count == tiny_parameter_count(), "info.parameter_count %lld, expected %lld",
          (long long)info.parameter_count, (long long)tiny_parameter_count());
}

static void test_tokenize(score_policy *policy) {
    int32_t tokens[16];
    size_t count = 0;
    EXPECT_INVALID(score_tokenize(NULL, "hello", tokens, 16, &count));
    EXPECT_NULL_REFUSED(score_tokenize(policy, NULL, tokens, 16, &count));
    EXPECT_NULL_REFUSED(score_tokenize(policy, "hello", tokens, 16, NULL));
    EXPECT_NULL_REFUSED(score_tokenize(policy, "hello", NULL, 16, &count)); /* NULL buffer, capacity 16 */

    /* The size query: capacity 0, NULL buffer. */
    count = 0;
    EXPECT(score_tokenize(policy, "hello", NULL, 0, &count), SCORE_ERR_BUFFER_TOO_SMALL);
    CHECK(count == 5, "size query for \"hello\": *out_count %zu, expected 5", count);

    /* Too small: the needed size, and nothing written. */
    for (int i = 0; i < 16; i++) tokens[i] = -7;
    count = 0;
    EXPECT(score_tokenize(policy, "hello", tokens, 4, &count), SCORE_ERR_BUFFER_TOO_SMALL);
    CHECK(count == 5, "capacity 4 for \"hello\": *out_count %zu, expected 5", count);
    CHECK(tokens[0] == -7 && tokens[3] == -7, "score_tokenize wrote into a buffer that was too small");

    /* Byte-level ids; special-token names are plain text. */
    EXPECT(score_tokenize(policy, "hello", tokens, 5, &count), SCORE_OK);
    CHECK(count == 5 && tokens[0] == 'h' && tokens[4] == 'o', "\"hello\" -> %zu tokens starting %d", count,
          tokens[0]);
    EXPECT(score_tokenize(policy, "<|bos|>", tokens, 16, &count), SCORE_OK);
    CHECK(count == 7 && tokens[0] == '<', "\"<|bos|>\" was parsed as a special token (%zu tokens)", count);
    EXPECT(score_tokenize(policy, "\xc3\xa9", tokens, 16, &count), SCORE_OK);
    CHECK(count == 2 && tokens[0] == 0xC3 && tokens[1] == 0xA9, "\"e-acute\" -> %zu tokens", count);

    /* The empty text needs no room: capacity 0 is enough. */
    count = 99;
    EXPECT(score_tokenize(policy, "", NULL, 0, &count), SCORE_OK);
    CHECK(count == 0, "\"\" -> %zu tokens", count);

    /* Invalid UTF-8: a stray byte, a truncated sequence, an overlong form, a surrogate. */
    const char *const bad_texts[] = {"\xff\xfe", "ab\xc3", "\xc0\xaf", "\xed\xa0\x80", "ok\x80"};
    for (int i = 0; i < 5; i++)
        EXPECT_MSG(score_tokenize(policy, bad_texts[i], tokens, 16, &count), SCORE_ERR_INVALID_ARGUMENT, "utf");
}

static void test_detokenize(score_policy *policy) {
    const int32_t hi[] = {'H', 'i'};
    char *text = NULL;
    EXPECT_INVALID(score_detokenize(NULL, hi, 2, &text));
    EXPECT_NULL_REFUSED(score_detokenize(policy, NULL, 2, &text));
    EXPECT_NULL_REFUSED(score_detokenize(policy, hi, 2, NULL));

    if (EXPECT(score_detokenize(policy, hi, 2, &text), SCORE_OK))
        CHECK(text && strcmp(text, "Hi") == 0, "detokenize {'H','i'} = \"%s\"", text ? text : "(NULL)");
    score_free(text);
    text = NULL;

    /* A lone byte that is not UTF-8 becomes U+FFFD. */
    const int32_t lone[] = {0xFF};
    if (EXPECT(score_detokenize(policy, lone, 1, &text), SCORE_OK))
        CHECK(text && strcmp(text, "\xef\xbf\xbd") == 0, "detokenize {0xFF} is not U+FFFD");
    score_free(text);
    text = NULL;

    /* Special ids decode to something; ids the tokenizer does not know are refused, including
       ids the model's larger vocabulary has (262...319). */
    const int32_t special[] = {END_TURN};
    EXPECT(score_detokenize(policy, special, 1, &text), SCORE_OK);
    score_free(text);
    text = NULL;
    const int32_t outside[][1] = {{TOKENIZER_SIZE}, {VOCAB - 1}, {VOCAB}, {-1}, {INT32_MAX}};
    for (int i = 0; i < 5; i++) EXPECT_INVALID(score_detokenize(policy, outside[i], 1, &text));

    /* Zero tokens give "" (score.h), with tokens NULL or not. */
    text = NULL;
    if (EXPECT(score_detokenize(policy, hi, 0, &text), SCORE_OK))
        CHECK(text && text[0] == '\0', "detokenize of 0 tokens is not \"\"");
    score_free(text);
    text = NULL;
    if (EXPECT(score_detokenize(policy, NULL, 0, &text), SCORE_OK))
        CHECK(text && text[0] == '\0', "detokenize of 0 tokens (NULL array) is not \"\"");
    score_free(text);
}

static void test_logits(score_policy *policy) {
    size_t count = 0;
    float *logits = malloc(PROBE_FLOATS * sizeof(float));
    EXPECT_INVALID(score_policy_logits(NULL, probe, PROBE_COUNT, logits, PROBE_FLOATS, &count));
    EXPECT_NULL_REFUSED(score_policy_logits(policy, NULL, PROBE_COUNT, logits, PROBE_FLOATS, &count));
    EXPECT_NULL_REFUSED(score_policy_logits(policy, probe, PROBE_COUNT, NULL, PROBE_FLOATS, &count));
    EXPECT_NULL_REFUSED(score_policy_logits(policy, probe, PROBE_COUNT, logits, PROBE_FLOATS, NULL));
    EXPECT_INVALID(score_policy_logits(policy, probe, 0, logits, PROBE_FLOATS, &count)); /* count >= 1 */

    /* Longer than the context. */
    int32_t *long_input = calloc(CONTEXT + 1, sizeof(int32_t));
    for (int i = 0; i < CONTEXT + 1; i++) long_input[i] = 'a';
    float *big = malloc((size_t)(CONTEXT + 1) * VOCAB * sizeof(float));
    EXPECT_INVALID(score_policy_logits(policy, long_input, CONTEXT + 1, big, (size_t)(CONTEXT + 1) * VOCAB, &count));
    /* Exactly the context is fine. */
    EXPECT(score_policy_logits(policy, long_input, CONTEXT, big, (size_t)(CONTEXT + 1) * VOCAB, &count), SCORE_OK);
    CHECK(count == (size_t)CONTEXT * VOCAB, "logits of %d tokens: *out_count %zu", CONTEXT, count);
    free(big);
    free(long_input);

    /* Ids outside the model's vocabulary. */
    const int32_t bad_ids[][2] = {{'a', VOCAB}, {'a', -1}, {INT32_MIN, 'a'}};
    for (int i = 0; i < 3; i++)
        EXPECT_INVALID(score_policy_logits(policy, bad_ids[i], 2, logits, PROBE_FLOATS, &count));

    /* Size query, then a buffer one float short: the size, nothing written. */
    EXPECT(score_policy_logits(policy, probe, PROBE_COUNT, NULL, 0, &count), SCORE_ERR_BUFFER_TOO_SMALL);
    CHECK(count == PROBE_FLOATS, "logits size query: %zu, expected %d", count, PROBE_FLOATS);
    for (int i = 0; i < PROBE_FLOATS; i++) logits[i] = -12345.0f;
    EXPECT(score_policy_logits(policy, probe, PROBE_COUNT, logits, PROBE_FLOATS - 1, &count),
           SCORE_ERR_BUFFER_TOO_SMALL);
    CHECK(count == PROBE_FLOATS, "logits with a short buffer: *out_count %zu", count);
    bool untouched = true;
    for (int i = 0; i < PROBE_FLOATS; i++) untouched &= logits[i] == -12345.0f;
    CHECK(untouched, "score_policy_logits wrote into a buffer that was too small");

    /* Finite, and the same twice. */
    EXPECT(score_policy_logits(policy, probe, PROBE_COUNT, logits, PROBE_FLOATS, &count), SCORE_OK);
    bool finite = true;
    for (int i = 0; i < PROBE_FLOATS; i++) finite &= isfinite(logits[i]) != 0;
    CHECK(finite, "non-finite logits from a fresh policy");
    float *again = snapshot(policy);
    CHECK(same_floats(logits, again), "two score_policy_logits calls differ");
    free(again);
    free(logits);
}

/* -------------------------------------------------------------------------------------------
 * Generation and self-correction
 * ----------------------------------------------------------------------------------------- */

static char long_prompt[CONTEXT + 41]; /* longer than the context */

static void test_generate(score_policy *policy) {
    char *text = NULL;
    score_sampling_options options;
    score_sampling_options_init(&options);
    options.max_new_tokens = MAX_NEW;

    EXPECT_INVALID(score_generate(NULL, "1+1=", &options, &text));
    EXPECT_NULL_REFUSED(score_generate(policy, NULL, &options, &text));
    EXPECT_NULL_REFUSED(score_generate(policy, "1+1=", &options, NULL));
    EXPECT_MSG(score_generate(policy, "1+\xff\xfe=", &options, &text), SCORE_ERR_INVALID_ARGUMENT, "utf");
    EXPECT_INVALID(score_generate(policy, long_prompt, &options, &text));

    const uint32_t bad_sizes[] = {0, sizeof options - 1, huge_size};
    for (int i = 0; i < 3; i++) {
        score_sampling_options bad = options;
        bad.struct_size = bad_sizes[i];
        EXPECT_MSG(score_generate(policy, "1+1=", &bad, &text), SCORE_ERR_INVALID_ARGUMENT, "struct");
    }
    /* One out-of-range field per case. */
    for (int which = 0; which < 12; which++) {
        score_sampling_options bad = options;
        const char *keyword = NULL, *name = "";
        switch (which) {
        case 0: SET(bad, temperature, NAN); keyword = "temperature"; break;
        case 1: SET(bad, temperature, -1); keyword = "temperature"; break;
        case 2: SET(bad, temperature, INFINITY); keyword = "temperature"; break;
        case 3: SET(bad, top_k, -1); break;
        case 4: SET(bad, top_p, 1.5f); break;
        case 5: SET(bad, top_p, NAN); break;
        case 6: SET(bad, top_p, 0); break; /* top_p keeps the smallest set above p: p > 0 */
        case 7: SET(bad, min_p, -0.1f); break;
        case 8: SET(bad, min_p, 1.5f); break;
        case 9: SET(bad, min_p, NAN); break;
        case 10: SET(bad, max_new_tokens, 0); break;
        case 11: SET(bad, max_new_tokens, -3); break;
        }
        score_status status = (prime_last_error(), score_generate(policy, "1+1=", &bad, &text));
        char what[128];
        snprintf(what, sizeof what, "score_generate(options with %s)", name);
        expect_at(status, SCORE_ERR_INVALID_ARGUMENT, SCORE_ERR_INVALID_ARGUMENT, keyword, what, __LINE__);
        if (status == SCORE_OK) score_free(text);
    }

    /* NULL options: greedy, 16 tokens. Greedy is deterministic; so is sampling with a seed. */
    char *first = NULL, *second = NULL;
    if (EXPECT(score_generate(policy, "1+1=", NULL, &first), SCORE_OK)) CHECK(first != NULL, "NULL text");
    score_free(first);
    first = NULL;
    EXPECT(score_generate(policy, "1+1=", &options, &first), SCORE_OK);
    EXPECT(score_generate(policy, "1+1=", &options, &second), SCORE_OK);
    CHECK(first && second && strcmp(first, second) == 0, "greedy generation differs between two calls");
    score_free(first), score_free(second);
    options.temperature = 1;
    options.top_k = 50;
    options.top_p = 0.95f;
    options.min_p = 0.01f;
    options.seed = 9;
    first = second = NULL;
    EXPECT(score_generate(policy, "1+1=", &options, &first), SCORE_OK);
    EXPECT(score_generate(policy, "1+1=", &options, &second), SCORE_OK);
    CHECK(first && second && strcmp(first, second) == 0, "seeded sampling differs between two calls");
    score_free(first), score_free(second);
}

/* Structural checks of a correction made with `max_new` tokens per attempt. */
static void check_correction(score_policy *policy, const score_correction *r, int max_new, const char *what) {
    CHECK(r->attempt1 && r->final_text && r->tokens1 && r->logprobs1, "%s: NULL attempt 1 fields", what);
    CHECK(r->count1 >= 1 && r->count1 <= (size_t)max_new, "%s: count1 %zu", what, r->count1);
    if (!r->tokens1 || !r->logprobs1) return;
    bool ids_ok = true, logprobs_ok = true;
    for (size_t i = 0; i < r->count1; i++) {
        ids_ok &= r->tokens1[i] >= 0 && r->tokens1[i] < VOCAB;
        logprobs_ok &= isfinite(r->logprobs1[i]) && r->logprobs1[i] <= 0;
    }
    CHECK(ids_ok, "%s: attempt 1 has ids outside the vocabulary", what);
    CHECK(logprobs_ok, "%s: attempt 1 has log-probs that are not finite and <= 0", what);
    CHECK(r->tokens1[r->count1 - 1] == END_TURN || r->count1 == (size_t)max_new,
          "%s: attempt 1 has %zu tokens without closing the turn, max_new_tokens %d", what, r->count1, max_new);
    CHECK(r->confidence >= 0 && r->confidence <= 1, "%s: confidence %g", what, r->confidence);

    /* attempt1 is the text of tokens1 without the closing token. */
    size_t text_count = r->count1 - (r->tokens1[r->count1 - 1] == END_TURN);
    char *text = NULL;
    if (text_count > 0 && score_detokenize(policy, r->tokens1, text_count, &text) == SCORE_OK)
        CHECK(r->attempt1 && strcmp(text, r->attempt1) == 0, "%s: attempt1 is not the text of tokens1", what);
    else if (text_count > 0)
        CHECK(false, "%s: tokens1 do not detokenize: %s", what, score_last_error());
    score_free(text);

    /* attempts lists every attempt's text; final_text is the last. */
    CHECK(r->attempt_count == 1 + (r->revised ? 1 : 0) || (r->revised && r->attempt_count > 2),
          "%s: %d attempts, revised %d", what, r->attempt_count, r->revised);
    if (r->attempts && r->attempt_count >= 1) {
        CHECK(r->attempts[0] == r->attempt1 && (!r->revised || r->attempts[1] == r->attempt2) &&
                  r->final_text == r->attempts[r->attempt_count - 1],
              "%s: attempts[] does not list attempt1, attempt2 and end with final_text", what);
    } else {
        CHECK(false, "%s: no attempts array", what);
    }
    if (r->revised) {
        CHECK(r->attempt2 && r->tokens2 && r->logprobs2 && r->count2 >= 1 && r->count2 <= (size_t)max_new,
              "%s: revised but attempt 2 is incomplete", what);
        CHECK(r->attempt_count > 2 || (r->attempt2 && r->final_text && strcmp(r->final_text, r->attempt2) == 0),
              "%s: revised but final_text is not attempt2", what);
    } else {
        CHECK(!r->attempt2 && !r->tokens2 && r->count2 == 0, "%s: not revised but attempt 2 is set", what);
        CHECK(r->attempt1 && r->final_text && strcmp(r->final_text, r->attempt1) == 0,
              "%s: not revised but final_text is not attempt1", what);
    }
}

/* attempts = 3 continues the two-attempt conversation (greedy: its first two attempts are the
   two-attempt call's); attempts = 1 does not revise; a gate at 0 stops after attempt 1. */
static void test_more_attempts(void) {
    score_policy *policy = make_short_instruction_policy(27);
    score_correct_options options;
    score_correct_options_init(&options);
    options.max_new_tokens = 8;
    score_correction *two = NULL, *three = NULL, *one = NULL;
    EXPECT(score_self_correct(policy, "12+34=", &options, &two), SCORE_OK);
    options.attempts = 3;
    EXPECT(score_self_correct(policy, "12+34=", &options, &three), SCORE_OK);
    if (two && three) {
        check_correction(policy, three, 8, "three attempts");
        CHECK(two->attempt_count == 2 && three->attempt_count == 3, "attempt counts %d and %d", two->attempt_count,
              three->attempt_count);
        CHECK(strcmp(two->attempt1, three->attempt1) == 0 && three->attempt2 && strcmp(two->attempt2, three->attempt2) == 0,
              "three attempts began \"%s\", \"%s\"; two gave \"%s\", \"%s\"", three->attempt1,
              three->attempt2 ? three->attempt2 : "", two->attempt1, two->attempt2);
        CHECK(three->attempt_count == 3 && strcmp(three->final_text, three->attempts[2]) == 0,
              "the final text is not attempt 3");
    }
    options.attempts = 1;
    if (EXPECT(score_self_correct(policy, "12+34=", &options, &one), SCORE_OK) && one) {
        check_correction(policy, one, 8, "one attempt");
        CHECK(!one->revised && one->attempt_count == 1, "one attempt: revised %d, %d attempts", one->revised,
              one->attempt_count);
    }
    score_correction_free(one), score_correction_free(two), score_correction_free(three);
    options.attempts = 3;
    options.gated = true;
    options.gate_threshold = 0;
    one = NULL;
    if (EXPECT(score_self_correct(policy, "12+34=", &options, &one), SCORE_OK) && one)
        CHECK(one->attempt_count == 1, "gated at 0 with 3 attempts allowed: %d made", one->attempt_count);
    score_correction_free(one);
    /* Votes over samples each self-corrected to three attempts (greedy: all agree); attempts
       outside 1...max refused. */
    options.gated = false;
    options.attempts = 3;
    char *answer = NULL;
    int32_t votes = -1;
    EXPECT(score_majority_vote(policy, "12+34=", 3, true, &options, &answer, &votes), SCORE_OK);
    CHECK(answer == NULL || votes == 3, "greedy, 3 attempts: %s with %d of 3 votes", answer ? answer : "", votes);
    score_free(answer);
    answer = NULL;
    options.attempts = 0;
    EXPECT_MSG(score_majority_vote(policy, "12+34=", 3, true, &options, &answer, &votes), SCORE_ERR_INVALID_ARGUMENT,
               "attempts");
    /* Every attempt must fit the context, gated or not: refused before anything is generated. */
    options.gated = true;
    options.attempts = SCORE_MAX_ATTEMPTS;
    EXPECT_MSG(score_self_correct(policy, "12+34=", &options, &one), SCORE_ERR_INVALID_ARGUMENT, "context");
    score_policy_free(policy);
}

static void test_majority_vote(score_policy *policy) {
    score_correct_options options;
    score_correct_options_init(&options);
    options.max_new_tokens = MAX_NEW;
    options.temperature = 1.0f;
    options.seed = 4;
    char *answer = NULL, *again = NULL;
    int32_t votes = -1, votes_again = -1;
    EXPECT_INVALID(score_majority_vote(NULL, "1+1=", 4, true, &options, &answer, &votes));
    EXPECT_NULL_REFUSED(score_majority_vote(policy, NULL, 4, true, &options, &answer, &votes));
    EXPECT_NULL_REFUSED(score_majority_vote(policy, "1+1=", 4, true, &options, NULL, &votes));
    EXPECT_INVALID(score_majority_vote(policy, "1+1=", 0, true, &options, &answer, &votes));
    EXPECT_INVALID(score_majority_vote(policy, "1+1=", 1025, false, &options, &answer, &votes));
    EXPECT_MSG(score_majority_vote(policy, "\xff\xfe", 2, true, &options, &answer, &votes), SCORE_ERR_INVALID_ARGUMENT, "utf");
    CHECK(answer == NULL && votes == 0, "a refused vote left answer %p, votes %d", (void *)answer, votes);
    for (int self_correct = 0; self_correct < 2; self_correct++) {
        EXPECT(score_majority_vote(policy, "12+34=", 6, self_correct, &options, &answer, &votes), SCORE_OK);
        EXPECT(score_majority_vote(policy, "12+34=", 6, self_correct, &options, &again, NULL), SCORE_OK);
        CHECK((answer == NULL) == (votes == 0) && votes >= 0 && votes <= 6, "answer %s with %d votes of 6",
              answer ? answer : "(none)", votes);
        CHECK((answer == NULL && again == NULL) || (answer && again && strcmp(answer, again) == 0),
              "the same seed voted %s, then %s", answer ? answer : "(none)", again ? again : "(none)");
        score_free(answer), score_free(again);
        answer = again = NULL;
    }
    /* Greedy samples are all the same: a winning answer then has every vote. */
    options.temperature = 0;
    EXPECT(score_majority_vote(policy, "12+34=", 3, false, &options, &answer, &votes_again), SCORE_OK);
    CHECK(answer == NULL || votes_again == 3, "greedy: %s with %d of 3 votes", answer ? answer : "", votes_again);
    score_free(answer);

    EXPECT(score_majority_vote(policy, "12+34=", 2, true, NULL, &answer, NULL), SCORE_OK);
    score_free(answer);
}

static void test_self_correct(score_policy *policy) {
    score_correction *r = NULL;
    score_correct_options options;
    score_correct_options_init(&options);
    options.max_new_tokens = MAX_NEW;

    EXPECT_INVALID(score_self_correct(NULL, "1+1=", &options, &r));
    EXPECT_NULL_REFUSED(score_self_correct(policy, NULL, &options, &r));
    EXPECT_NULL_REFUSED(score_self_correct(policy, "1+1=", &options, NULL));
    EXPECT_MSG(score_self_correct(policy, "\xff\xfe", &options, &r), SCORE_ERR_INVALID_ARGUMENT, "utf");
    EXPECT_INVALID(score_self_correct(policy, long_prompt, &options, &r));
    const uint32_t bad_sizes[] = {0, sizeof options - 1, huge_size};
    for (int i = 0; i < 3; i++) {
        score_correct_options bad = options;
        bad.struct_size = bad_sizes[i];
        EXPECT_MSG(score_self_correct(policy, "1+1=", &bad, &r), SCORE_ERR_INVALID_ARGUMENT, "struct");
    }
    for (int which = 0; which < 11; which++) {
        score_correct_options bad = options;
        const char *keyword = NULL, *name = "";
        switch (which) {
        case 0: SET(bad, temperature, NAN); keyword = "temperature"; break;
        case 1: SET(bad, temperature, -0.5f); keyword = "temperature"; break;
        case 2: SET(bad, max_new_tokens, 0); break;
        case 3: bad.gated = true; SET(bad, gate_threshold, -0.1f); break;
        case 4: bad.gated = true; SET(bad, gate_threshold, 1.1f); break;
        case 5: bad.gated = true; SET(bad, gate_threshold, NAN); break;
        case 6: SET(bad, confidence, 3); keyword = "confidence"; break;
        case 7: SET(bad, confidence, -1); keyword = "confidence"; break;
        case 8: SET(bad, max_new_tokens, -1); break;
        case 9: SET(bad, attempts, 0); keyword = "attempts"; break;
        case 10: SET(bad, attempts, SCORE_MAX_ATTEMPTS + 1); keyword = "attempts"; break;
        }
        score_status status = (prime_last_error(), score_self_correct(policy, "1+1=", &bad, &r));
        char what[128];
        snprintf(what, sizeof what, "score_self_correct(options with %s)", name);
        expect_at(status, SCORE_ERR_INVALID_ARGUMENT, SCORE_ERR_INVALID_ARGUMENT, keyword, what, __LINE__);
        if (status == SCORE_OK) score_correction_free(r);
    }

    /* Un-gated greedy: both attempts; attempt 1 is what score_generate answers. */
    r = NULL;
    if (EXPECT(score_self_correct(policy, "12+34=", &options, &r), SCORE_OK) && r) {
        check_correction(policy, r, MAX_NEW, "greedy");
        CHECK(r->revised, "un-gated self-correction did not revise");
        score_sampling_options sampling;
        score_sampling_options_init(&sampling);
        sampling.max_new_tokens = MAX_NEW;
        char *generated = NULL;
        EXPECT(score_generate(policy, "12+34=", &sampling, &generated), SCORE_OK);
        CHECK(generated && r->attempt1 && strcmp(generated, r->attempt1) == 0,
              "greedy attempt 1 \"%s\" differs from score_generate \"%s\"", r->attempt1, generated);
        score_free(generated);

        /* The three confidence measures, from attempt 1's log-probs. */
        double sum = 0, minimum = 0;
        for (size_t i = 0; i < r->count1; i++) {
            sum += r->logprobs1[i];
            if (i == 0 || r->logprobs1[i] < minimum) minimum = r->logprobs1[i];
        }
        const double expected[3] = {exp_approx(sum / (double)r->count1), exp_approx(minimum), exp_approx(sum)};
        for (int measure = 0; measure < 3; measure++) {
            score_correct_options with = options;
            with.confidence = measure;
            score_correction *m = NULL;
            if (EXPECT(score_self_correct(policy, "12+34=", &with, &m), SCORE_OK) && m)
                CHECK(close_to(m->confidence, expected[measure], 1e-4), "confidence measure %d: %.9g, expected %.9g",
                      measure, m->confidence, expected[measure]);
            score_correction_free(m);
        }
    }
    score_correction_free(r);

    /* Gated: threshold 0 never revises, threshold 1 revises an unsure answer. */
    score_correct_options gated = options;
    gated.gated = true;
    gated.gate_threshold = 0;
    r = NULL;
    if (EXPECT(score_self_correct(policy, "7+8=", &gated, &r), SCORE_OK) && r) {
        check_correction(policy, r, MAX_NEW, "gated at 0");
        CHECK(!r->revised, "gated at threshold 0, yet revised (confidence %g)", r->confidence);
    }
    score_correction_free(r);
    gated.gate_threshold = 1;
    r = NULL;
    if (EXPECT(score_self_correct(policy, "7+8=", &gated, &r), SCORE_OK) && r) {
        check_correction(policy, r, MAX_NEW, "gated at 1");
        CHECK(r->revised || r->confidence >= 1, "gated at threshold 1 with confidence %g, not revised", r->confidence);
    }
    score_correction_free(r);

    /* Sampled with a seed: the same twice. NULL options: greedy with 16 tokens. */
    score_correct_options sampled = options;
    sampled.temperature = 1;
    sampled.seed = 21;
    score_correction *x = NULL, *y = NULL;
    EXPECT(score_self_correct(policy, "3+4=", &sampled, &x), SCORE_OK);
    EXPECT(score_self_correct(policy, "3+4=", &sampled, &y), SCORE_OK);
    if (x && y) {
        check_correction(policy, x, MAX_NEW, "sampled");
        CHECK(strcmp(x->attempt1, y->attempt1) == 0 && x->attempt2 && y->attempt2 &&
                  strcmp(x->attempt2, y->attempt2) == 0,
              "seeded self-correction differs between two calls");
    }
    score_correction_free(x), score_correction_free(y);
    r = NULL;
    if (EXPECT(score_self_correct(policy, "3+4=", NULL, &r), SCORE_OK) && r)
        check_correction(policy, r, 16, "NULL options");
    score_correction_free(r);

    /* Prompt, both attempts and the instruction must fit the context: the prompt (10 tokens)
       fits 40, but not with two 6-token attempts and the instruction. */
    score_model_config small = tiny_config();
    small.max_seq_len = 40;
    score_policy *short_context = NULL;
    if (EXPECT(score_policy_create(&small, 5, NULL, &short_context), SCORE_OK)) {
        EXPECT_INVALID(score_self_correct(short_context, "12+34=", &options, &r));
        score_policy_free(short_context);
    }
}

/* -------------------------------------------------------------------------------------------
 * Policy files
 * ----------------------------------------------------------------------------------------- */

static void expect_load_fails(const char *path, const char *what, int line) {
    score_policy *loaded = NULL;
    score_status status = (prime_last_error(), score_policy_load(path, NULL, &loaded));
    expect_at(status, SCORE_ERR_INVALID_FILE, SCORE_ERR_IO, NULL, what, line);
    if (status == SCORE_OK) score_policy_free(loaded);
}

static void test_policy_files(score_policy *policy) {
    const char *folder = scratch_path("policy");
    score_policy *loaded = NULL;

    /* Save errors. */
    EXPECT_INVALID(score_policy_save(NULL, folder));
    EXPECT_NULL_REFUSED(score_policy_save(policy, NULL));
    EXPECT_MSG(score_policy_save(policy, scratch_path("bad-\xff\xfe")), SCORE_ERR_INVALID_ARGUMENT, "utf");
    const char *plain_file = scratch_path("plain-file");
    write_file(plain_file, "x", 1);
    EXPECT(score_policy_save(policy, scratch_path("plain-file/policy")), SCORE_ERR_IO); /* a file is in the way */

    /* Round trip: the loaded policy computes the same logits, to the bit; saving twice works. */
    EXPECT(score_policy_save(policy, folder), SCORE_OK);
    EXPECT(score_policy_save(policy, folder), SCORE_OK);
    char config_path[4200], weights_path[4200];
    snprintf(config_path, sizeof config_path, "%s/config.json", folder);
    snprintf(weights_path, sizeof weights_path, "%s/model.safetensors", folder);
    CHECK(access(config_path, F_OK) == 0 && access(weights_path, F_OK) == 0,
          "the saved folder lacks config.json or model.safetensors");
    if (EXPECT(score_policy_load(folder, NULL, &loaded), SCORE_OK)) {
        float *a = snapshot(policy), *b = snapshot(loaded);
        CHECK(same_floats(a, b), "a loaded policy's logits differ from the saved one's");
        free(a), free(b);
        score_policy_info info = {.struct_size = sizeof info};
        EXPECT(score_policy_get_info(loaded, &info), SCORE_OK);
        CHECK(info.parameter_count == tiny_parameter_count() && info.max_seq_len == CONTEXT,
              "loaded policy info differs");
        score_policy_free(loaded);
    }
    score_policy_options options;
    score_policy_options_init(&options);
    options.threads = 2;
    loaded = NULL;
    if (EXPECT(score_policy_load(folder, &options, &loaded), SCORE_OK)) {
        score_policy_info info = {.struct_size = sizeof info};
        EXPECT(score_policy_get_info(loaded, &info), SCORE_OK);
        CHECK(info.threads == 2, "loaded with 2 threads, info.threads %d", info.threads);
        score_policy_free(loaded);
    }

    /* Load errors: arguments. */
    EXPECT_NULL_REFUSED(score_policy_load(NULL, NULL, &loaded));
    EXPECT_NULL_REFUSED(score_policy_load(folder, NULL, NULL));
    EXPECT_MSG(score_policy_load("\xff\xfe", NULL, &loaded), SCORE_ERR_INVALID_ARGUMENT, "utf");
    for (int i = 0; i < 3; i++) {
        score_policy_options_init(&options);
        options.struct_size = i == 0 ? 0 : i == 1 ? sizeof options - 1 : huge_size;
        EXPECT_MSG(score_policy_load(folder, &options, &loaded), SCORE_ERR_INVALID_ARGUMENT, "struct");
    }
    score_policy_options_init(&options);
    options.threads = -1;
    EXPECT_MSG(score_policy_load(folder, &options, &loaded), SCORE_ERR_INVALID_ARGUMENT, "thread");

    /* Load errors: files. A missing folder, an empty one, a plain file. */
    expect_load_fails(scratch_path("no-such-folder"), "load a missing folder", __LINE__);
    mkdir(scratch_path("empty"), 0700);
    expect_load_fails(scratch_path("empty"), "load an empty folder", __LINE__);
    expect_load_fails(plain_file, "load a plain file", __LINE__);

    /* Good config.json with bad weights: garbage, truncated, empty, a header length of 2^64-1. */
    const char *broken = scratch_path("broken");
    mkdir(broken, 0700);
    char broken_config[4200], broken_weights[4200];
    snprintf(broken_config, sizeof broken_config, "%s/config.json", broken);
    snprintf(broken_weights, sizeof broken_weights, "%s/model.safetensors", broken);
    copy_file(config_path, broken_config, (size_t)-1);
    static const char garbage[] = "this is not a safetensors file at all";
    write_file(broken_weights, garbage, sizeof garbage - 1);
    expect_load_fails(broken, "load garbage model.safetensors", __LINE__);
    size_t weights_size = 0;
    free(read_file(weights_path, &weights_size));
    const size_t cuts[] = {weights_size / 2, weights_size - 1, 8, 3};
    for (int i = 0; i < 4; i++) {
        copy_file(weights_path, broken_weights, cuts[i]);
        char what[64];
        snprintf(what, sizeof what, "load model.safetensors truncated to %zu bytes", cuts[i]);
        expect_load_fails(broken, what, __LINE__);
    }
    write_file(broken_weights, "", 0);
    expect_load_fails(broken, "load an empty model.safetensors", __LINE__);
    static const unsigned char huge_header[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'};
    write_file(broken_weights, huge_header, sizeof huge_header);
    expect_load_fails(broken, "load model.safetensors with a 2^64-1 header length", __LINE__);
    static const unsigned char bad_json_header[] = {12, 0, 0, 0, 0, 0, 0, 0, '{', '"', 'a', '"', ':', '[', ' ', ' ',
                                                    ' ', ' ', ' ', ' '};
    write_file(broken_weights, bad_json_header, sizeof bad_json_header);
    expect_load_fails(broken, "load model.safetensors with a broken JSON header", __LINE__);

    /* Good weights with a bad config.json: garbage, empty, valid JSON of another shape. */
    copy_file(weights_path, broken_weights, (size_t)-1);
    write_file(broken_config, "{ not json", 10);
    expect_load_fails(broken, "load garbage config.json", __LINE__);
    write_file(broken_config, "", 0);
    expect_load_fails(broken, "load an empty config.json", __LINE__);
    write_file(broken_config, "[1, 2, 3]", 9);
    expect_load_fails(broken, "load a config.json that is an array", __LINE__);
    size_t config_size = 0;
    char *config_text = read_file(config_path, &config_size);
    char *key = config_text ? strstr(config_text, "hidden_size") : NULL;
    char *digits = key ? strpbrk(key, "0123456789") : NULL;
    if (digits && strncmp(digits, "32", 2) == 0 && (digits[2] < '0' || digits[2] > '9')) {
        memcpy(digits, "48", 2); /* a valid shape that does not match the tensors */
        write_file(broken_config, config_text, config_size);
        expect_load_fails(broken, "load config.json whose hidden_size does not match the weights", __LINE__);
    } else {
        printf("  note: config.json has no \"hidden_size\": 32; the shape-mismatch case was skipped\n");
    }
    free(config_text);
    /* A missing file. */
    unlink(broken_config);
    expect_load_fails(broken, "load a folder without config.json", __LINE__);
}

/* -------------------------------------------------------------------------------------------
 * Trainer: creation and settings
 * ----------------------------------------------------------------------------------------- */

static void test_trainer_create(void) {
    score_policy *policy = make_policy(11);
    score_trainer *trainer = NULL;
    score_trainer_options options = small_trainer_options();

    EXPECT_INVALID(score_trainer_create(NULL, &options, &trainer));
    EXPECT_NULL_REFUSED(score_trainer_create(policy, &options, NULL));
    for (int i = 0; i < 3; i++) {
        score_trainer_options bad = options;
        bad.struct_size = i == 0 ? 0 : i == 1 ? sizeof bad - 1 : huge_size;
        EXPECT_MSG(score_trainer_create(policy, &bad, &trainer), SCORE_ERR_INVALID_ARGUMENT, "struct");
    }
    /* One unknown enum value or out-of-range number per case. */
    for (int which = 0; which < 36; which++) {
        score_trainer_options bad = options;
        const char *keyword = NULL, *name = "";
        switch (which) {
        case 0: SET(bad, plan, 2); keyword = "plan"; break;
        case 1: SET(bad, plan, -1); keyword = "plan"; break;
        case 2: SET(bad, shaping, 3); keyword = "shaping"; break;
        case 3: SET(bad, shaping, -1); keyword = "shaping"; break;
        case 4: SET(bad, kl_estimator, 0); keyword = "kl"; break;
        case 5: SET(bad, kl_estimator, 5); keyword = "kl"; break; /* past K1_IN_REWARD */
        case 6: SET(bad, kl_estimator, -1); keyword = "kl"; break;
        case 7: SET(bad, baseline, 3); keyword = "baseline"; break;
        case 8: SET(bad, baseline, -1); keyword = "baseline"; break;
        case 9: SET(bad, rounds, 0); break;
        case 10: SET(bad, stage_i_steps, -1); break;
        case 11: SET(bad, stage_ii_steps, -1); break;
        case 12: bad.plan = SCORE_PLAN_SINGLE_TURN; SET(bad, single_turn_steps, -1); break;
        case 13: SET(bad, beta1, -0.01f); break;
        case 14: SET(bad, beta1, NAN); break;
        case 15: SET(bad, beta2, NAN); break;
        case 16: SET(bad, alpha, NAN); break;
        case 17: SET(bad, learning_rate, NAN); break;
        case 18: SET(bad, learning_rate, -1e-4f); break;
        case 19: SET(bad, learning_rate, INFINITY); break;
        case 20: SET(bad, weight_decay, -1); break;
        case 21: SET(bad, grad_clip, -1); break;
        case 22: SET(bad, grad_clip, NAN); break;
        case 23: SET(bad, samples_per_prompt, 0); break;
        case 24: SET(bad, grad_clip, -1); break;
        case 25: SET(bad, temperature, NAN); keyword = "temperature"; break;
        case 26: SET(bad, temperature, -1); keyword = "temperature"; break;
        case 27: SET(bad, first_temperature, NAN); keyword = "temperature"; break;
        case 28: SET(bad, max_new_tokens, 0); break;
        case 29: SET(bad, rounds, -2); break;
        case 30: SET(bad, samples_per_prompt, -4); break;
        case 31: SET(bad, second_attempts, 0); keyword = "secondAttempts"; break;
        case 32: SET(bad, second_attempts, 65); keyword = "second_attempts"; break;
        case 33: SET(bad, attempts, 1); keyword = "attempts"; break;
        case 34: SET(bad, attempts, SCORE_MAX_ATTEMPTS + 1); keyword = "attempts"; break;
        case 35: bad.second_attempts = 2; SET(bad, attempts, 3); keyword = "attempts"; break;
        }
        trainer = NULL;
        score_status status = (prime_last_error(), score_trainer_create(policy, &bad, &trainer));
        char what[128];
        snprintf(what, sizeof what, "score_trainer_create(options with %s)", name);
        expect_at(status, SCORE_ERR_INVALID_ARGUMENT, SCORE_ERR_INVALID_ARGUMENT, keyword, what, __LINE__);
        if (status == SCORE_OK) score_trainer_free(trainer);
    }

    /* NULL options: the defaults, starting with Stage I at step 0. */
    trainer = NULL;
    if (EXPECT(score_trainer_create(policy, NULL, &trainer), SCORE_OK)) {
        int32_t stage = 0;
        int64_t steps = -1;
        EXPECT(score_trainer_progress(trainer, &stage, &steps), SCORE_OK);
        CHECK(stage == SCORE_STAGE_I && steps == 0, "a new trainer: next stage %d, %lld steps", stage,
              (long long)steps);
        EXPECT(score_trainer_progress(trainer, NULL, NULL), SCORE_OK);
        score_trainer_free(trainer);
    }
    EXPECT_INVALID(score_trainer_progress(NULL, NULL, NULL));

    /* The plan decides the first stage. */
    score_trainer_options plan = options;
    plan.stage_i_steps = 0; /* the "w/o Stage I" ablation */
    trainer = make_trainer(policy, &plan);
    CHECK(next_stage(trainer) == SCORE_STAGE_II, "stage_i_steps 0: next stage is not Stage II");
    score_trainer_free(trainer);
    plan = options;
    plan.plan = SCORE_PLAN_SINGLE_TURN;
    trainer = make_trainer(policy, &plan);
    CHECK(next_stage(trainer) == SCORE_STAGE_SINGLE_TURN, "single-turn plan: next stage is not single-turn");
    score_trainer_free(trainer);

    /* Verifier and progress settings. */
    trainer = make_trainer(policy, &options);
    verifier_log log;
    verifier_log_reset(&log, NULL, NULL, 0);
    EXPECT_NULL_REFUSED(score_trainer_set_verifier(trainer, NULL, &log));
    EXPECT_INVALID(score_trainer_set_verifier(NULL, hash_verifier, &log));
    EXPECT(score_trainer_set_verifier(trainer, hash_verifier, NULL), SCORE_OK); /* user_data may be NULL */
    EXPECT(score_trainer_set_verifier(trainer, hash_verifier, &log), SCORE_OK);
    const int32_t kinds[] = {SCORE_VERIFIER_EXACT_MATCH, SCORE_VERIFIER_FINAL_ANSWER, SCORE_VERIFIER_ARITHMETIC};
    for (int i = 0; i < 3; i++) EXPECT(score_trainer_set_builtin_verifier(trainer, kinds[i]), SCORE_OK);
    EXPECT_INVALID(score_trainer_set_builtin_verifier(trainer, 3));
    EXPECT_INVALID(score_trainer_set_builtin_verifier(trainer, -1));
    EXPECT_INVALID(score_trainer_set_builtin_verifier(NULL, SCORE_VERIFIER_ARITHMETIC));
    progress_log progress = {.abort_phase = -1};
    EXPECT(score_trainer_set_progress(trainer, record_progress, &progress), SCORE_OK);
    EXPECT(score_trainer_set_progress(trainer, NULL, NULL), SCORE_OK);
    EXPECT_INVALID(score_trainer_set_progress(NULL, record_progress, &progress));
    score_trainer_free(trainer);
    score_policy_free(policy);
}

/* -------------------------------------------------------------------------------------------
 * Trainer: steps
 * ----------------------------------------------------------------------------------------- */

static void test_trainer_step(void) {
    score_policy *policy = make_policy(12);
    score_trainer_options options = small_trainer_options();
    score_trainer *trainer = make_trainer(policy, &options);
    verifier_log log;
    verifier_log_reset(&log, prompts_a, references_a, 2);
    EXPECT(score_trainer_set_verifier(trainer, hash_verifier, &log), SCORE_OK);
    float *before = snapshot(policy);
    score_step_stats stats = {.struct_size = sizeof stats};

    /* Bad arguments: refused, nothing changes. */
    const char *const with_null[] = {"1+1=", NULL};
    const char *const bad_utf8[] = {"1+1=", "2+\xff\xfe="};
    const char *const too_long[] = {"1+1=", long_prompt};
    EXPECT_INVALID(score_trainer_step(NULL, prompts_a, references_a, 2, &stats));
    EXPECT_NULL_REFUSED(score_trainer_step(trainer, NULL, references_a, 2, &stats));
    EXPECT_NULL_REFUSED(score_trainer_step(trainer, prompts_a, NULL, 2, &stats));
    EXPECT_INVALID(score_trainer_step(trainer, prompts_a, references_a, 0, &stats));
    EXPECT_NULL_REFUSED(score_trainer_step(trainer, with_null, references_a, 2, &stats));
    EXPECT_NULL_REFUSED(score_trainer_step(trainer, prompts_a, with_null, 2, &stats));
    EXPECT_MSG(score_trainer_step(trainer, bad_utf8, references_a, 2, &stats), SCORE_ERR_INVALID_ARGUMENT, "utf");
    EXPECT_MSG(score_trainer_step(trainer, prompts_a, bad_utf8, 2, &stats), SCORE_ERR_INVALID_ARGUMENT, "utf");
    EXPECT_INVALID(score_trainer_step(trainer, too_long, references_a, 2, &stats));
    for (int i = 0; i < 3; i++) {
        score_step_stats bad = {.struct_size = i == 0 ? 0 : i == 1 ? sizeof bad - 1 : huge_size};
        EXPECT_MSG(score_trainer_step(trainer, prompts_a, references_a, 2, &bad), SCORE_ERR_INVALID_ARGUMENT,
                   "struct");
    }
    check_unchanged(policy, before, "refused steps");
    CHECK(completed_steps(trainer) == 0, "refused steps were counted");
    CHECK(log.calls == 0, "the verifier was called during refused steps");

    /* A good Stage I step: the verifier sees well-formed items with the right pairs, the metrics
       agree with the rewards it gave, and the weights move. */
    verifier_log_reset(&log, prompts_a, references_a, 2);
    if (EXPECT(score_trainer_step(trainer, prompts_a, references_a, 2, &stats), SCORE_OK)) {
        const size_t episodes = 2 * (size_t)options.samples_per_prompt;
        CHECK(log.malformed == 0, "%d verifier items were malformed or paired with the wrong reference",
              log.malformed);
        CHECK(log.items_t1 == episodes && log.items_t2 == episodes,
              "Stage I verified %zu + %zu items, expected %zu each", log.items_t1, log.items_t2, episodes);
        CHECK(stats.step == 1 && stats.stage == SCORE_STAGE_I && stats.episodes == (int32_t)episodes,
              "stats: step %lld stage %d episodes %d", (long long)stats.step, stats.stage, stats.episodes);
        if (log.items_t1 == episodes && log.items_t2 == episodes) {
            double acc1 = 100.0 * (double)log.correct_t1 / (double)episodes;
            double acc2 = 100.0 * (double)log.correct_t2 / (double)episodes;
            CHECK(close_to(stats.acc_t1_pct, acc1, 1e-9) && close_to(stats.acc_t2_pct, acc2, 1e-9),
                  "Acc@t1 %g Acc@t2 %g, the verifier's rewards give %g and %g", stats.acc_t1_pct, stats.acc_t2_pct,
                  acc1, acc2);
            CHECK(close_to(stats.delta_pct, stats.acc_t2_pct - stats.acc_t1_pct, 1e-9), "delta %g", stats.delta_pct);
            CHECK(close_to(stats.reward_mean_t1, log.reward_sum_t1 / (double)episodes, 1e-6),
                  "reward_mean_t1 %g, expected %g", stats.reward_mean_t1, log.reward_sum_t1 / (double)episodes);
        }
        CHECK(isfinite(stats.loss) && isfinite(stats.kl_t1) && isfinite(stats.kl_t2) && isfinite(stats.entropy),
              "non-finite loss, KL or entropy");
        CHECK(stats.kl_t1 >= -1e-9 && stats.kl_t2 >= -1e-9 && stats.kl_t1 < 1e-6 && stats.kl_t2 < 1e-6,
              "first step: KL %g %g, expected 0 (policy == reference)", stats.kl_t1, stats.kl_t2);
        CHECK(stats.mean_length_t1 >= 1 && stats.mean_length_t1 <= MAX_NEW && stats.mean_length_t2 >= 1 &&
                  stats.mean_length_t2 <= MAX_NEW,
              "mean lengths %g %g", stats.mean_length_t1, stats.mean_length_t2);
        CHECK(stats.zero_variance_groups_pct >= 0 && stats.zero_variance_groups_pct <= 100 &&
                  stats.changed_pct >= 0 && stats.changed_pct <= 100 && stats.truncated_t1_pct >= 0 &&
                  stats.truncated_t1_pct <= 100,
              "percentages out of range");
        CHECK(isfinite(stats.grad_norm) && stats.grad_norm > 0, "grad_norm %g", stats.grad_norm);
        CHECK(stats.learning_rate > 0 && stats.seconds >= 0 && stats.rollout_seconds >= 0,
              "learning_rate %g seconds %g", stats.learning_rate, stats.seconds);
        float *after = snapshot(policy);
        CHECK(!same_floats(before, after), "a successful step left the weights unchanged");
        free(after);
    }
    CHECK(completed_steps(trainer) == 1 && next_stage(trainer) == SCORE_STAGE_I, "after 1 of 2 Stage I steps");

    /* stats may be NULL; the plan moves to Stage II after stage_i_steps. */
    verifier_log_reset(&log, prompts_b, references_b, 2);
    EXPECT(score_trainer_step(trainer, prompts_b, references_b, 2, NULL), SCORE_OK);
    CHECK(log.malformed == 0, "second step: %d malformed items", log.malformed);
    CHECK(completed_steps(trainer) == 2 && next_stage(trainer) == SCORE_STAGE_II, "after 2 Stage I steps");
    verifier_log_reset(&log, prompts_a, references_a, 2);
    if (EXPECT(score_trainer_step(trainer, prompts_a, references_a, 2, &stats), SCORE_OK))
        CHECK(stats.stage == SCORE_STAGE_II && stats.step == 3, "third step: stage %d step %lld", stats.stage,
              (long long)stats.step);

    /* A single prompt, and a prompt given twice in one batch. */
    const char *const twice[] = {"7+8=", "7+8="};
    const char *const twice_refs[] = {"15", "15"};
    verifier_log_reset(&log, twice, twice_refs, 2);
    EXPECT(score_trainer_step(trainer, twice, twice_refs, 1, NULL), SCORE_OK);
    EXPECT(score_trainer_step(trainer, twice, twice_refs, 2, NULL), SCORE_OK);
    CHECK(log.malformed == 0, "%d malformed items with a repeated prompt", log.malformed);
    free(before);
    score_trainer_free(trainer);

    /* The single-turn plan verifies attempt 1 and reports its stage. */
    options.plan = SCORE_PLAN_SINGLE_TURN;
    trainer = make_trainer(policy, &options);
    EXPECT(score_trainer_set_verifier(trainer, hash_verifier, &log), SCORE_OK);
    verifier_log_reset(&log, prompts_a, references_a, 2);
    if (EXPECT(score_trainer_step(trainer, prompts_a, references_a, 2, &stats), SCORE_OK)) {
        CHECK(stats.stage == SCORE_STAGE_SINGLE_TURN, "single-turn step reports stage %d", stats.stage);
        CHECK(log.items_t1 == 4 && log.malformed == 0, "single-turn step verified %zu turn-1 items", log.items_t1);
    }
    score_trainer_free(trainer);

    /* A step after the plan's last one: the header does not say; either it runs or it is refused
       as a state error, with a message. */
    options = small_trainer_options();
    options.stage_i_steps = 1;
    options.stage_ii_steps = 1;
    trainer = make_trainer(policy, &options);
    EXPECT(score_trainer_set_verifier(trainer, hash_verifier, &log), SCORE_OK);
    verifier_log_reset(&log, prompts_a, references_a, 2);
    EXPECT(score_trainer_step(trainer, prompts_a, references_a, 2, NULL), SCORE_OK);
    EXPECT(score_trainer_step(trainer, prompts_a, references_a, 2, NULL), SCORE_OK);
    int32_t stage_after = -1;
    EXPECT(score_trainer_progress(trainer, &stage_after, NULL), SCORE_OK);
    score_status status = (prime_last_error(), score_trainer_step(trainer, prompts_a, references_a, 2, &stats));
    expect_at(status, SCORE_OK, SCORE_ERR_STATE, NULL, "a step after the plan's end", __LINE__);
    printf("  note: after the plan's last step, next_stage is %d and another step gives %s%s%s\n", stage_after,
           score_status_string(status), status ? ": " : "", status ? score_last_error() : "");
    score_trainer_free(trainer);
    score_policy_free(policy);
}

/* -------------------------------------------------------------------------------------------
 * Trainer: failing callbacks change nothing
 * ----------------------------------------------------------------------------------------- */

static void test_callback_failures(void) {
    score_policy *policy = make_policy(13);
    score_trainer_options options = small_trainer_options();
    score_trainer *trainer = make_trainer(policy, &options);
    verifier_log log;
    verifier_log_reset(&log, NULL, NULL, 0);
    score_eval_result result = {.struct_size = sizeof result};

    /* Each bad verifier fails the step, the half step and the evaluation with its status; the
       weights stay bitwise the same; then a good verifier steps normally. */
    for (int mode = 0; mode < BAD_MODES; mode++) {
        char what[96];
        EXPECT(score_trainer_set_verifier(trainer, bad_verifier, &mode), SCORE_OK);
        float *before = snapshot(policy);
        int64_t steps = completed_steps(trainer);
        int32_t stage = next_stage(trainer);

        snprintf(what, sizeof what, "step with a verifier that %s", bad_names[mode]);
        expect_at((prime_last_error(), score_trainer_step(trainer, prompts_a, references_a, 2, NULL)),
                  bad_expected[mode], bad_expected[mode], NULL, what, __LINE__);
        snprintf(what, sizeof what, "compute_gradients with a verifier that %s", bad_names[mode]);
        expect_at((prime_last_error(), score_trainer_compute_gradients(trainer, prompts_a, references_a, 2, NULL)),
                  bad_expected[mode], bad_expected[mode], NULL, what, __LINE__);
        EXPECT(score_trainer_apply_gradients(trainer, NULL), SCORE_ERR_STATE); /* nothing pending */
        snprintf(what, sizeof what, "evaluate with a verifier that %s", bad_names[mode]);
        expect_at((prime_last_error(),
                   score_trainer_evaluate(trainer, prompts_a, references_a, 2, SCORE_EVAL_GREEDY, 0, &result)),
                  bad_expected[mode], bad_expected[mode], NULL, what, __LINE__);

        snprintf(what, sizeof what, "a verifier that %s", bad_names[mode]);
        check_unchanged(policy, before, what);
        CHECK(completed_steps(trainer) == steps && next_stage(trainer) == stage, "%s: the step was counted", what);
        EXPECT(score_trainer_set_verifier(trainer, hash_verifier, &log), SCORE_OK);
        EXPECT(score_trainer_step(trainer, prompts_a, references_a, 2, NULL), SCORE_OK);
        CHECK(completed_steps(trainer) == steps + 1, "the step after %s was not counted", what);
        free(before);
    }

    /* Progress: a step reports rollout, verify and backward; an evaluation reports evaluate. */
    progress_log progress = {.abort_phase = -1};
    EXPECT(score_trainer_set_progress(trainer, record_progress, &progress), SCORE_OK);
    EXPECT(score_trainer_step(trainer, prompts_a, references_a, 2, NULL), SCORE_OK);
    CHECK(progress.per_phase[SCORE_PHASE_ROLLOUT] > 0 && progress.per_phase[SCORE_PHASE_VERIFY] > 0 &&
              progress.per_phase[SCORE_PHASE_BACKWARD] > 0,
          "a step reported rollout %d, verify %d, backward %d times", progress.per_phase[0], progress.per_phase[1],
          progress.per_phase[2]);
    EXPECT(score_trainer_evaluate(trainer, prompts_a, references_a, 2, SCORE_EVAL_GREEDY, 0, &result), SCORE_OK);
    CHECK(progress.per_phase[SCORE_PHASE_EVALUATE] > 0, "an evaluation reported no progress");
    CHECK(progress.malformed == 0, "%d progress calls had a bad phase or done > total", progress.malformed);

    /* Aborting in any phase: SCORE_ERR_ABORTED, nothing changes. A non-zero value that is not
       SCORE_ERR_ABORTED aborts too. */
    const int32_t phases[] = {SCORE_PHASE_ROLLOUT, SCORE_PHASE_VERIFY, SCORE_PHASE_BACKWARD, SCORE_PHASE_BACKWARD};
    const score_status values[] = {SCORE_ERR_ABORTED, SCORE_ERR_ABORTED, SCORE_ERR_ABORTED, 1};
    for (int i = 0; i < 4; i++) {
        float *before = snapshot(policy);
        int64_t steps = completed_steps(trainer);
        progress = (progress_log){.abort_phase = phases[i], .abort_value = values[i]};
        char what[64];
        snprintf(what, sizeof what, "step aborted by progress in phase %d (returning %d)", phases[i], values[i]);
        expect_at((prime_last_error(), score_trainer_step(trainer, prompts_a, references_a, 2, NULL)),
                  SCORE_ERR_ABORTED, SCORE_ERR_ABORTED, NULL, what, __LINE__);
        check_unchanged(policy, before, what);
        CHECK(completed_steps(trainer) == steps, "%s: the step was counted", what);
        free(before);
    }
    progress = (progress_log){.abort_phase = SCORE_PHASE_BACKWARD, .abort_value = SCORE_ERR_ABORTED};
    EXPECT(score_trainer_compute_gradients(trainer, prompts_a, references_a, 2, NULL), SCORE_ERR_ABORTED);
    EXPECT(score_trainer_apply_gradients(trainer, NULL), SCORE_ERR_STATE);
    progress = (progress_log){.abort_phase = SCORE_PHASE_EVALUATE, .abort_value = SCORE_ERR_ABORTED};
    EXPECT(score_trainer_evaluate(trainer, prompts_a, references_a, 2, SCORE_EVAL_GREEDY, 0, &result),
           SCORE_ERR_ABORTED);

    /* Without the callback, steps run again. */
    EXPECT(score_trainer_set_progress(trainer, NULL, NULL), SCORE_OK);
    EXPECT(score_trainer_step(trainer, prompts_a, references_a, 2, NULL), SCORE_OK);
    score_trainer_free(trainer);
    score_policy_free(policy);
}

/* -------------------------------------------------------------------------------------------
 * Trainer: the two halves of a step
 * ----------------------------------------------------------------------------------------- */

static void test_gradients(void) {
    score_policy *policy = make_policy(14);
    score_trainer_options options = small_trainer_options();
    score_trainer *trainer = make_trainer(policy, &options);
    verifier_log log;
    verifier_log_reset(&log, NULL, NULL, 0);
    EXPECT(score_trainer_set_verifier(trainer, hash_verifier, &log), SCORE_OK);
    float *data = NULL;
    size_t count = 0;
    double norm = -1;

    EXPECT(score_trainer_apply_gradients(trainer, &norm), SCORE_ERR_STATE); /* nothing computed yet */
    /* The buffer before any computation: the header does not say; a buffer or a state error. */
    EXPECT_EITHER(score_trainer_gradients(trainer, &data, &count), SCORE_OK, SCORE_ERR_STATE);
    EXPECT_INVALID(score_trainer_apply_gradients(NULL, &norm));
    EXPECT_INVALID(score_trainer_gradients(NULL, &data, &count));
    EXPECT_NULL_REFUSED(score_trainer_gradients(trainer, NULL, &count));
    EXPECT_NULL_REFUSED(score_trainer_gradients(trainer, &data, NULL));
    EXPECT_INVALID(score_trainer_compute_gradients(NULL, prompts_a, references_a, 2, NULL));
    EXPECT_NULL_REFUSED(score_trainer_compute_gradients(trainer, NULL, references_a, 2, NULL));
    EXPECT_NULL_REFUSED(score_trainer_compute_gradients(trainer, prompts_a, NULL, 2, NULL));
    EXPECT_INVALID(score_trainer_compute_gradients(trainer, prompts_a, references_a, 0, NULL));
    const char *const bad_utf8[] = {"\xff\xfe", "1+1="};
    EXPECT_MSG(score_trainer_compute_gradients(trainer, bad_utf8, references_a, 2, NULL), SCORE_ERR_INVALID_ARGUMENT,
               "utf");
    score_step_stats bad_stats = {.struct_size = 1};
    EXPECT_MSG(score_trainer_compute_gradients(trainer, prompts_a, references_a, 2, &bad_stats),
               SCORE_ERR_INVALID_ARGUMENT, "struct");
    EXPECT(score_trainer_apply_gradients(trainer, &norm), SCORE_ERR_STATE); /* refused calls left nothing */

    /* Compute: gradients, no update, not counted. */
    float *before = snapshot(policy);
    score_step_stats stats = {.struct_size = sizeof stats};
    EXPECT(score_trainer_compute_gradients(trainer, prompts_a, references_a, 2, &stats), SCORE_OK);
    CHECK(stats.grad_norm == 0, "compute_gradients reported grad_norm %g (0 until applied)", stats.grad_norm);
    check_unchanged(policy, before, "compute_gradients");
    CHECK(completed_steps(trainer) == 0, "compute_gradients counted a step");
    if (EXPECT(score_trainer_gradients(trainer, &data, &count), SCORE_OK)) {
        CHECK(data != NULL && (int64_t)count == tiny_parameter_count(), "gradient buffer of %zu floats, expected %lld",
              count, (long long)tiny_parameter_count());
        bool finite = true, nonzero = false;
        for (size_t i = 0; data && i < count; i++) {
            finite &= isfinite(data[i]) != 0;
            nonzero |= data[i] != 0;
        }
        CHECK(finite && nonzero, "gradients: finite %d, non-zero %d", finite, nonzero);
    }

    /* Apply: the norm, an update, one step; a second apply has nothing to apply. */
    if (EXPECT(score_trainer_apply_gradients(trainer, &norm), SCORE_OK))
        CHECK(isfinite(norm) && norm > 0, "grad_norm %g", norm);
    float *after = snapshot(policy);
    CHECK(!same_floats(before, after), "apply_gradients left the weights unchanged");
    CHECK(completed_steps(trainer) == 1, "apply_gradients did not count the step");
    EXPECT(score_trainer_apply_gradients(trainer, &norm), SCORE_ERR_STATE);

    /* A NaN in the buffer: SCORE_ERR_NON_FINITE, nothing applied. Computing again discards it. */
    EXPECT(score_trainer_compute_gradients(trainer, prompts_b, references_b, 2, NULL), SCORE_OK);
    if (EXPECT(score_trainer_gradients(trainer, &data, &count), SCORE_OK) && data && count > 0) {
        data[count / 2] = NAN;
        EXPECT(score_trainer_apply_gradients(trainer, NULL), SCORE_ERR_NON_FINITE);
        check_unchanged(policy, after, "apply_gradients of a buffer with a NaN");
        CHECK(completed_steps(trainer) == 1, "a refused apply counted a step");
    }
    EXPECT(score_trainer_compute_gradients(trainer, prompts_b, references_b, 2, NULL), SCORE_OK);
    EXPECT(score_trainer_compute_gradients(trainer, prompts_a, references_a, 2, NULL), SCORE_OK);
    EXPECT(score_trainer_apply_gradients(trainer, NULL), SCORE_OK);
    CHECK(completed_steps(trainer) == 2, "compute, compute, apply: %lld steps, expected 2",
          (long long)completed_steps(trainer));
    free(before), free(after);
    score_trainer_free(trainer);
    score_policy_free(policy);
}

/* Two replicas that average their gradients stay equal; a step is compute + apply. */
static void test_data_parallel(void) {
    score_policy *pa = make_policy(21), *pb = make_policy(21);
    score_trainer_options options = small_trainer_options();
    score_trainer *ta = make_trainer(pa, &options), *tb = make_trainer(pb, &options);
    verifier_log la, lb;
    verifier_log_reset(&la, prompts_a, references_a, 2);
    verifier_log_reset(&lb, prompts_b, references_b, 2);
    EXPECT(score_trainer_set_verifier(ta, hash_verifier, &la), SCORE_OK);
    EXPECT(score_trainer_set_verifier(tb, hash_verifier, &lb), SCORE_OK);
    float *start = snapshot(pa);

    for (int round = 0; round < 2; round++) {
        /* Each replica computes gradients on its own prompts. */
        EXPECT(score_trainer_compute_gradients(ta, prompts_a, references_a, 2, NULL), SCORE_OK);
        EXPECT(score_trainer_compute_gradients(tb, prompts_b, references_b, 2, NULL), SCORE_OK);
        float *ga = NULL, *gb = NULL;
        size_t na = 0, nb = 0;
        EXPECT(score_trainer_gradients(ta, &ga, &na), SCORE_OK);
        EXPECT(score_trainer_gradients(tb, &gb, &nb), SCORE_OK);
        if (!ga || !gb || na != nb || na == 0) {
            CHECK(false, "gradient buffers: %zu and %zu floats", na, nb);
            break;
        }
        CHECK(memcmp(ga, gb, na * sizeof(float)) != 0, "replicas on different prompts have equal gradients");
        /* The all-reduce: both buffers become the mean. */
        for (size_t i = 0; i < na; i++) ga[i] = gb[i] = 0.5f * (ga[i] + gb[i]);
        double norm_a = -1, norm_b = -2;
        EXPECT(score_trainer_apply_gradients(ta, &norm_a), SCORE_OK);
        EXPECT(score_trainer_apply_gradients(tb, &norm_b), SCORE_OK);
        CHECK(norm_a == norm_b, "round %d: the replicas' norms differ (%.17g, %.17g)", round, norm_a, norm_b);
        float *wa = snapshot(pa), *wb = snapshot(pb);
        CHECK(same_floats(wa, wb), "round %d: replicas that applied the same averaged gradients differ", round);
        CHECK(!same_floats(wa, start), "round %d: the replicas' weights did not change", round);
        free(wa), free(wb);
    }
    CHECK(la.malformed == 0 && lb.malformed == 0, "malformed verifier items in the replicas");
    free(start);

    /* Checksums and trained values: equal replicas agree; one written value breaks the
       agreement; copying the values back (a broadcast) restores it. */
    uint64_t ca = 0, cb = 0;
    EXPECT(score_trainer_checksum(ta, &ca), SCORE_OK);
    EXPECT(score_trainer_checksum(tb, &cb), SCORE_OK);
    CHECK(ca == cb && ca != 0, "equal replicas have checksums %llx and %llx", (unsigned long long)ca,
          (unsigned long long)cb);
    float *va = NULL, *vb = NULL, *ga = NULL;
    size_t nva = 0, nvb = 0, nga = 0;
    EXPECT(score_trainer_parameters(ta, &va, &nva), SCORE_OK);
    EXPECT(score_trainer_parameters(tb, &vb, &nvb), SCORE_OK);
    EXPECT(score_trainer_gradients(ta, &ga, &nga), SCORE_OK);
    CHECK(va && vb && nva == nvb && nva == nga && va != vb, "trained values: %zu and %zu floats (%zu gradients)",
          nva, nvb, nga);
    if (va && vb && nva == nvb && nva > 0) {
        vb[0] += 1.0f;
        EXPECT(score_trainer_checksum(tb, &cb), SCORE_OK);
        CHECK(ca != cb, "a changed value left the checksum at %llx", (unsigned long long)cb);
        memcpy(vb, va, nva * sizeof(float));
        EXPECT(score_trainer_checksum(tb, &cb), SCORE_OK);
        CHECK(ca == cb, "copied values give checksum %llx, not %llx", (unsigned long long)cb, (unsigned long long)ca);
    }
    EXPECT_NULL_REFUSED(score_trainer_checksum(ta, NULL));
    EXPECT_INVALID(score_trainer_checksum(NULL, &ca));
    EXPECT_NULL_REFUSED(score_trainer_parameters(ta, NULL, &nva));
    EXPECT_NULL_REFUSED(score_trainer_parameters(ta, &va, NULL));
    EXPECT_INVALID(score_trainer_set_sampling_seed(NULL, 1));

    /* The sampling seed: the same seed gives the same episodes, another seed others; reseeding
       discards pending gradients. */
    EXPECT(score_trainer_set_sampling_seed(ta, 77), SCORE_OK);
    EXPECT(score_trainer_set_sampling_seed(tb, 77), SCORE_OK);
    score_step_stats sa = {.struct_size = sizeof sa}, sb = {.struct_size = sizeof sb};
    EXPECT(score_trainer_compute_gradients(ta, prompts_a, references_a, 2, &sa), SCORE_OK);
    EXPECT(score_trainer_compute_gradients(tb, prompts_a, references_a, 2, &sb), SCORE_OK);
    CHECK(sa.loss == sb.loss && sa.mean_length_t1 == sb.mean_length_t1, "same sampling seed, different steps");
    EXPECT(score_trainer_set_sampling_seed(tb, 78), SCORE_OK);
    EXPECT(score_trainer_apply_gradients(tb, NULL), SCORE_ERR_STATE);

    /* Combined statistics: weighted by episodes; parts of different steps are refused. */
    score_step_stats parts[2] = {sa, sa}, total = {.struct_size = sizeof total};
    parts[1].episodes = 3 * sa.episodes;
    parts[1].acc_t1_pct = sa.acc_t1_pct + 40;
    parts[1].seconds = sa.seconds + 1;
    EXPECT(score_step_stats_combine(parts, 2, &total), SCORE_OK);
    CHECK(total.episodes == 4 * sa.episodes && total.seconds == sa.seconds + 1 &&
              total.acc_t1_pct > sa.acc_t1_pct + 29.99 && total.acc_t1_pct < sa.acc_t1_pct + 30.01,
          "combined: %d episodes, Acc@t1 %.3f (parts %.3f, %.3f)", total.episodes, total.acc_t1_pct,
          parts[0].acc_t1_pct, parts[1].acc_t1_pct);
    parts[1].step = sa.step + 1;
    EXPECT_INVALID(score_step_stats_combine(parts, 2, &total));
    EXPECT_INVALID(score_step_stats_combine(parts, 0, &total));
    EXPECT_NULL_REFUSED(score_step_stats_combine(NULL, 2, &total));
    EXPECT_NULL_REFUSED(score_step_stats_combine(parts, 1, NULL));
    parts[0].struct_size = 8;
    EXPECT_INVALID(score_step_stats_combine(parts, 1, &total));
    score_trainer_free(ta), score_trainer_free(tb);
    score_policy_free(pa), score_policy_free(pb);

    /* score_trainer_step equals compute_gradients then apply_gradients (one thread, same seeds). */
    score_policy *pc = make_policy(22), *pd = make_policy(22);
    score_trainer *tc = make_trainer(pc, &options), *td = make_trainer(pd, &options);
    verifier_log lc, ld;
    verifier_log_reset(&lc, NULL, NULL, 0);
    verifier_log_reset(&ld, NULL, NULL, 0);
    EXPECT(score_trainer_set_verifier(tc, hash_verifier, &lc), SCORE_OK);
    EXPECT(score_trainer_set_verifier(td, hash_verifier, &ld), SCORE_OK);
    score_step_stats sc = {.struct_size = sizeof sc}, sd = {.struct_size = sizeof sd};
    double norm = 0;
    EXPECT(score_trainer_step(tc, prompts_a, references_a, 2, &sc), SCORE_OK);
    EXPECT(score_trainer_compute_gradients(td, prompts_a, references_a, 2, &sd), SCORE_OK);
    EXPECT(score_trainer_apply_gradients(td, &norm), SCORE_OK);
    float *wc = snapshot(pc), *wd = snapshot(pd);
    CHECK(same_floats(wc, wd), "score_trainer_step differs from compute_gradients + apply_gradients");
    CHECK(sc.loss == sd.loss && sc.acc_t1_pct == sd.acc_t1_pct && sc.grad_norm == norm,
          "step vs halves: loss %.9g/%.9g, grad_norm %.9g/%.9g", sc.loss, sd.loss, sc.grad_norm, norm);
    free(wc), free(wd);
    score_trainer_free(tc), score_trainer_free(td);
    score_policy_free(pc), score_policy_free(pd);
}

/* -------------------------------------------------------------------------------------------
 * Supervised steps and the reference policy
 * ----------------------------------------------------------------------------------------- */

static void test_sft(void) {
    score_policy *policy = make_policy(15);
    score_trainer_options options = small_trainer_options();
    score_trainer *trainer = make_trainer(policy, &options);
    const score_sft_example examples[] = {
        {"12+34=", "46", NULL},
        {"7+8=", "15", NULL},
        {"50+25=", "70", "75"}, /* a two-attempt exchange: wrong, then right */
    };
    float loss = -1;
    float *before = snapshot(policy);

    EXPECT_INVALID(score_trainer_sft_step(NULL, examples, 3, 1e-3f, &loss));
    EXPECT_NULL_REFUSED(score_trainer_sft_step(trainer, NULL, 3, 1e-3f, &loss));
    EXPECT_INVALID(score_trainer_sft_step(trainer, examples, 0, 1e-3f, &loss));
    const float bad_rates[] = {NAN, -1e-3f, INFINITY};
    for (int i = 0; i < 3; i++) EXPECT_INVALID(score_trainer_sft_step(trainer, examples, 3, bad_rates[i], &loss));
    score_sft_example bad[2] = {examples[0], examples[1]};
    bad[1].prompt = NULL;
    EXPECT_NULL_REFUSED(score_trainer_sft_step(trainer, bad, 2, 1e-3f, &loss));
    bad[1] = examples[1];
    bad[1].attempt1 = NULL;
    EXPECT_NULL_REFUSED(score_trainer_sft_step(trainer, bad, 2, 1e-3f, &loss));
    const char *const bad_utf8 = "4\xff\xfe";
    for (int field = 0; field < 3; field++) {
        bad[1] = examples[2];
        if (field == 0) bad[1].prompt = bad_utf8;
        if (field == 1) bad[1].attempt1 = bad_utf8;
        if (field == 2) bad[1].attempt2 = bad_utf8;
        EXPECT_MSG(score_trainer_sft_step(trainer, bad, 2, 1e-3f, &loss), SCORE_ERR_INVALID_ARGUMENT, "utf");
    }
    bad[1] = examples[1];
    bad[1].prompt = long_prompt;
    EXPECT_INVALID(score_trainer_sft_step(trainer, bad, 2, 1e-3f, &loss));
    check_unchanged(policy, before, "refused SFT steps");

    /* Steps on the same examples lower the loss. */
    float first = -1;
    EXPECT(score_trainer_sft_step(trainer, examples, 3, 3e-3f, &first), SCORE_OK);
    CHECK(isfinite(first) && first > 0, "SFT loss %g", first);
    float *after = snapshot(policy);
    CHECK(!same_floats(before, after), "an SFT step left the weights unchanged");
    for (int i = 0; i < 8; i++)
        EXPECT(score_trainer_sft_step(trainer, examples, 3, 3e-3f, i == 7 ? &loss : NULL), SCORE_OK);
    CHECK(isfinite(loss) && loss < first, "SFT loss went from %g to %g in 9 steps", first, loss);

    /* RL after SFT without a reset: the policy has moved from the reference, so KL > 0. */
    verifier_log log;
    verifier_log_reset(&log, NULL, NULL, 0);
    EXPECT(score_trainer_set_verifier(trainer, hash_verifier, &log), SCORE_OK);
    score_step_stats stats = {.struct_size = sizeof stats};
    if (EXPECT(score_trainer_step(trainer, prompts_a, references_a, 2, &stats), SCORE_OK))
        CHECK(stats.kl_t1 > 0 || stats.kl_t2 > 0, "KL %g %g after SFT, expected > 0", stats.kl_t1, stats.kl_t2);

    /* After reset_reference the reference is the policy: KL 0 at the next step; steps restart. */
    EXPECT_INVALID(score_trainer_reset_reference(NULL));
    EXPECT(score_trainer_reset_reference(trainer), SCORE_OK);
    if (EXPECT(score_trainer_step(trainer, prompts_a, references_a, 2, &stats), SCORE_OK))
        CHECK(stats.kl_t1 >= -1e-9 && stats.kl_t1 < 1e-6 && stats.kl_t2 >= -1e-9 && stats.kl_t2 < 1e-6,
              "KL %g %g right after reset_reference, expected 0", stats.kl_t1, stats.kl_t2);
    free(before), free(after);
    score_trainer_free(trainer);
    score_policy_free(policy);
}

/* -------------------------------------------------------------------------------------------
 * Evaluation
 * ----------------------------------------------------------------------------------------- */

static void test_evaluate(void) {
    score_policy *policy = make_policy(16);
    score_trainer_options options = small_trainer_options();
    score_trainer *trainer = make_trainer(policy, &options);
    verifier_log log;
    verifier_log_reset(&log, prompts_a, references_a, 2);
    EXPECT(score_trainer_set_verifier(trainer, hash_verifier, &log), SCORE_OK);
    score_eval_result result = {.struct_size = sizeof result};
    const char *const with_null[] = {"1+1=", NULL};
    const char *const bad_utf8[] = {"1+1=", "\xff\xfe"};

    EXPECT_INVALID(score_trainer_evaluate(NULL, prompts_a, references_a, 2, SCORE_EVAL_GREEDY, 0, &result));
    EXPECT_NULL_REFUSED(score_trainer_evaluate(trainer, NULL, references_a, 2, SCORE_EVAL_GREEDY, 0, &result));
    EXPECT_NULL_REFUSED(score_trainer_evaluate(trainer, prompts_a, NULL, 2, SCORE_EVAL_GREEDY, 0, &result));
    EXPECT_NULL_REFUSED(score_trainer_evaluate(trainer, prompts_a, references_a, 2, SCORE_EVAL_GREEDY, 0, NULL));
    EXPECT_NULL_REFUSED(score_trainer_evaluate(trainer, with_null, references_a, 2, SCORE_EVAL_GREEDY, 0, &result));
    EXPECT_NULL_REFUSED(score_trainer_evaluate(trainer, prompts_a, with_null, 2, SCORE_EVAL_GREEDY, 0, &result));
    EXPECT_INVALID(score_trainer_evaluate(trainer, prompts_a, references_a, 0, SCORE_EVAL_GREEDY, 0, &result));
    EXPECT_MSG(score_trainer_evaluate(trainer, bad_utf8, references_a, 2, SCORE_EVAL_GREEDY, 0, &result),
               SCORE_ERR_INVALID_ARGUMENT, "utf");
    EXPECT_MSG(score_trainer_evaluate(trainer, prompts_a, bad_utf8, 2, SCORE_EVAL_GREEDY, 0, &result),
               SCORE_ERR_INVALID_ARGUMENT, "utf");
    EXPECT_MSG(score_trainer_evaluate(trainer, prompts_a, references_a, 2, 2, 0, &result), SCORE_ERR_INVALID_ARGUMENT,
               "protocol");
    EXPECT_MSG(score_trainer_evaluate(trainer, prompts_a, references_a, 2, -1, 0, &result), SCORE_ERR_INVALID_ARGUMENT,
               "protocol");
    for (int i = 0; i < 3; i++) {
        score_eval_result bad = {.struct_size = i == 0 ? 0 : i == 1 ? sizeof bad - 1 : huge_size};
        EXPECT_MSG(score_trainer_evaluate(trainer, prompts_a, references_a, 2, SCORE_EVAL_GREEDY, 0, &bad),
                   SCORE_ERR_INVALID_ARGUMENT, "struct");
    }
    CHECK(log.calls == 0, "the verifier ran during refused evaluations");

    /* Greedy: one episode per prompt, two attempts each; no weight changes; repeatable. */
    float *before = snapshot(policy);
    score_eval_result again = {.struct_size = sizeof again};
    if (EXPECT(score_trainer_evaluate(trainer, prompts_a, references_a, 2, SCORE_EVAL_GREEDY, 0, &result), SCORE_OK)) {
        CHECK(result.count == 2, "evaluated %lld problems, expected 2", (long long)result.count);
        CHECK(log.items_t1 == 2 && log.items_t2 == 2 && log.malformed == 0,
              "evaluation verified %zu + %zu items (%d malformed), expected 2 + 2", log.items_t1, log.items_t2,
              log.malformed);
        CHECK(close_to(result.acc_t1_pct, 50.0 * (double)log.correct_t1, 1e-9) &&
                  close_to(result.acc_t2_pct, 50.0 * (double)log.correct_t2, 1e-9),
              "Acc@t1 %g Acc@t2 %g disagree with the verifier", result.acc_t1_pct, result.acc_t2_pct);
        CHECK(result.changed_pct >= 0 && result.changed_pct <= 100 && result.edit_distance_ratio >= 0 &&
                  result.edit_distance_ratio <= 1,
              "changed %g edit ratio %g", result.changed_pct, result.edit_distance_ratio);
        double wrong = 100.0 - result.acc_t1_pct, right = result.acc_t1_pct;
        CHECK(close_to(result.fix_rate_pct, wrong > 0 ? 100.0 * result.delta_i_to_c_pct / wrong : 0, 1e-9) &&
                  close_to(result.break_rate_pct, right > 0 ? 100.0 * result.delta_c_to_i_pct / right : 0, 1e-9),
              "fix rate %g break rate %g disagree with the flips", result.fix_rate_pct, result.break_rate_pct);
    }
    EXPECT(score_trainer_evaluate(trainer, prompts_a, references_a, 2, SCORE_EVAL_GREEDY, 0, &again), SCORE_OK);
    CHECK(memcmp(&result, &again, sizeof result) == 0, "two greedy evaluations differ");
    check_unchanged(policy, before, "evaluate");
    CHECK(completed_steps(trainer) == 0, "evaluate counted a step");

    /* Mixed: repeatable for a seed. */
    score_eval_result mixed1 = {.struct_size = sizeof mixed1}, mixed2 = {.struct_size = sizeof mixed2};
    EXPECT(score_trainer_evaluate(trainer, prompts_b, references_b, 2, SCORE_EVAL_MIXED, 77, &mixed1), SCORE_OK);
    EXPECT(score_trainer_evaluate(trainer, prompts_b, references_b, 2, SCORE_EVAL_MIXED, 77, &mixed2), SCORE_OK);
    CHECK(memcmp(&mixed1, &mixed2, sizeof mixed1) == 0, "two mixed evaluations with seed 77 differ");

    /* The built-in verifiers evaluate too. */
    for (int32_t kind = SCORE_VERIFIER_EXACT_MATCH; kind <= SCORE_VERIFIER_ARITHMETIC; kind++) {
        EXPECT(score_trainer_set_builtin_verifier(trainer, kind), SCORE_OK);
        EXPECT(score_trainer_evaluate(trainer, prompts_a, references_a, 2, SCORE_EVAL_GREEDY, 0, &result), SCORE_OK);
    }
    check_unchanged(policy, before, "evaluations");
    free(before);
    score_trainer_free(trainer);
    score_policy_free(policy);
}

/* -------------------------------------------------------------------------------------------
 * Save and resume
 * ----------------------------------------------------------------------------------------- */

static char saved_trainer[4096]; /* a good trainer folder, for the handle tests */

static void test_save_resume(void) {
    score_policy_options single;
    score_policy_options_init(&single);
    single.threads = 1;
    score_model_config config = tiny_config();
    score_trainer_options options = small_trainer_options();
    options.stage_i_steps = 1; /* the resumed step is the first of Stage II */
    const char *folder = scratch_path("trainer");
    snprintf(saved_trainer, sizeof saved_trainer, "%s", folder);
    verifier_log log;
    verifier_log_reset(&log, NULL, NULL, 0);

    /* The uninterrupted run: step, save, step. */
    score_policy *pa = NULL;
    EXPECT(score_policy_create(&config, 31, &single, &pa), SCORE_OK);
    score_trainer *ta = make_trainer(pa, &options);
    EXPECT(score_trainer_set_verifier(ta, hash_verifier, &log), SCORE_OK);
    EXPECT(score_trainer_step(ta, prompts_a, references_a, 2, NULL), SCORE_OK);
    float *after_one = snapshot(pa);

    EXPECT_INVALID(score_trainer_save(NULL, folder));
    EXPECT_NULL_REFUSED(score_trainer_save(ta, NULL));
    EXPECT_MSG(score_trainer_save(ta, scratch_path("t-\xff\xfe")), SCORE_ERR_INVALID_ARGUMENT, "utf");
    EXPECT(score_trainer_save(ta, scratch_path("plain-file/trainer")), SCORE_ERR_IO);
    EXPECT(score_trainer_save(ta, folder), SCORE_OK);
    check_unchanged(pa, after_one, "score_trainer_save");

    score_step_stats sa = {.struct_size = sizeof sa};
    EXPECT(score_trainer_step(ta, prompts_b, references_b, 2, &sa), SCORE_OK);
    float *uninterrupted = snapshot(pa);

    /* The resumed run, over a policy with other weights: it gets the saved ones. */
    score_policy *pb = NULL;
    EXPECT(score_policy_create(&config, 32, &single, &pb), SCORE_OK);
    score_trainer *tb = NULL;
    if (EXPECT(score_trainer_resume(pb, folder, &tb), SCORE_OK) && tb) {
        check_unchanged(pb, after_one, "resume (the saved weights were not loaded)");
        int32_t stage = 0;
        int64_t steps = 0;
        EXPECT(score_trainer_progress(tb, &stage, &steps), SCORE_OK);
        CHECK(steps == 1 && stage == SCORE_STAGE_II, "resumed: %lld steps, next stage %d", (long long)steps, stage);
        EXPECT(score_trainer_set_verifier(tb, hash_verifier, &log), SCORE_OK); /* not saved */
        score_step_stats sb = {.struct_size = sizeof sb};
        EXPECT(score_trainer_step(tb, prompts_b, references_b, 2, &sb), SCORE_OK);
        float *resumed = snapshot(pb);
        CHECK(same_floats(uninterrupted, resumed), "the resumed step's weights differ from the uninterrupted run's");
        CHECK(sa.loss == sb.loss && sa.reward_mean_t1 == sb.reward_mean_t1 && sa.stage == sb.stage &&
                  sa.step == sb.step && sa.kl_t2 == sb.kl_t2,
              "resumed step stats differ: loss %.9g/%.9g step %lld/%lld", sa.loss, sb.loss, (long long)sa.step,
              (long long)sb.step);
        free(resumed);
        score_trainer_free(tb);
    }

    /* Resume errors. */
    tb = NULL;
    EXPECT_INVALID(score_trainer_resume(NULL, folder, &tb));
    EXPECT_NULL_REFUSED(score_trainer_resume(pb, NULL, &tb));
    EXPECT_NULL_REFUSED(score_trainer_resume(pb, folder, NULL));
    EXPECT_MSG(score_trainer_resume(pb, "\xff\xfe", &tb), SCORE_ERR_INVALID_ARGUMENT, "utf");
    EXPECT_EITHER(score_trainer_resume(pb, scratch_path("no-such-trainer"), &tb), SCORE_ERR_INVALID_FILE, SCORE_ERR_IO);
    EXPECT_EITHER(score_trainer_resume(pb, scratch_path("policy"), &tb), SCORE_ERR_INVALID_FILE, SCORE_ERR_IO);

    /* A corrupt trainer folder, and a policy of another shape: refused, the policy unchanged. */
    float *pb_now = snapshot(pb);
    const char *garbled = scratch_path("trainer-garbled");
    int files = garble_tree(folder, garbled);
    CHECK(files > 0, "the saved trainer folder holds no files");
    EXPECT_EITHER(score_trainer_resume(pb, garbled, &tb), SCORE_ERR_INVALID_FILE, SCORE_ERR_IO);
    check_unchanged(pb, pb_now, "a failed resume from a corrupt folder");
    score_model_config wider = config;
    wider.hidden_size = 48;
    score_policy *other = NULL;
    if (EXPECT(score_policy_create(&wider, 33, NULL, &other), SCORE_OK)) {
        EXPECT_EITHER(score_trainer_resume(other, folder, &tb), SCORE_ERR_INVALID_ARGUMENT, SCORE_ERR_INVALID_FILE);
        score_policy_free(other);
    }
    free(pb_now);
    free(after_one), free(uninterrupted);
    score_trainer_free(ta);
    score_policy_free(pa), score_policy_free(pb);
}

/* -------------------------------------------------------------------------------------------
 * Handles
 * ----------------------------------------------------------------------------------------- */

static void test_handles(void) {
    int32_t tokens[8];
    size_t count = 0;
    char *text = NULL;
    float logits[VOCAB];
    score_correction *correction = NULL;
    score_trainer *trainer = NULL;
    score_policy_info info = {.struct_size = sizeof info};

    /* A freed policy is refused by every function, and freeing it again does nothing. */
    score_policy *policy = make_policy(41);
    score_policy_free(policy);
    EXPECT_INVALID(score_policy_get_info(policy, &info));
    EXPECT_INVALID(score_tokenize(policy, "a", tokens, 8, &count));
    EXPECT_INVALID(score_detokenize(policy, probe, 2, &text));
    EXPECT_INVALID(score_policy_logits(policy, probe, 1, logits, VOCAB, &count));
    EXPECT_INVALID(score_generate(policy, "1+1=", NULL, &text));
    EXPECT_INVALID(score_self_correct(policy, "1+1=", NULL, &correction));
    EXPECT_INVALID(score_policy_save(policy, scratch_path("freed-policy")));
    EXPECT_INVALID(score_trainer_create(policy, NULL, &trainer));
    EXPECT_INVALID(score_trainer_resume(policy, saved_trainer, &trainer));
    score_policy_free(policy);

    /* A freed trainer likewise. */
    policy = make_policy(42);
    score_trainer_options options = small_trainer_options();
    trainer = make_trainer(policy, &options);
    score_trainer_free(trainer);
    score_trainer_free(trainer);
    verifier_log log;
    verifier_log_reset(&log, NULL, NULL, 0);
    score_step_stats stats = {.struct_size = sizeof stats};
    score_eval_result result = {.struct_size = sizeof result};
    const score_sft_example example = {"1+1=", "2", NULL};
    float *data = NULL;
    int64_t steps = 0;
    EXPECT_INVALID(score_trainer_set_verifier(trainer, hash_verifier, &log));
    EXPECT_INVALID(score_trainer_set_builtin_verifier(trainer, SCORE_VERIFIER_ARITHMETIC));
    EXPECT_INVALID(score_trainer_set_progress(trainer, NULL, NULL));
    EXPECT_INVALID(score_trainer_step(trainer, prompts_a, references_a, 2, &stats));
    EXPECT_INVALID(score_trainer_compute_gradients(trainer, prompts_a, references_a, 2, &stats));
    EXPECT_INVALID(score_trainer_gradients(trainer, &data, &count));
    EXPECT_INVALID(score_trainer_apply_gradients(trainer, NULL));
    EXPECT_INVALID(score_trainer_progress(trainer, NULL, &steps));
    EXPECT_INVALID(score_trainer_evaluate(trainer, prompts_a, references_a, 2, SCORE_EVAL_GREEDY, 0, &result));
    EXPECT_INVALID(score_trainer_sft_step(trainer, &example, 1, 1e-3f, NULL));
    EXPECT_INVALID(score_trainer_reset_reference(trainer));
    EXPECT_INVALID(score_trainer_save(trainer, scratch_path("freed-trainer")));

    /* The policy outlives its freed trainer and still works. */
    EXPECT(score_policy_get_info(policy, &info), SCORE_OK);

    /* Pointers the library never made, and handles of the other kind. */
    int32_t not_a_handle[64] = {0};
    EXPECT_INVALID(score_policy_get_info((score_policy *)not_a_handle, &info));
    EXPECT_INVALID(score_trainer_progress((const score_trainer *)not_a_handle, NULL, &steps));
    trainer = make_trainer(policy, &options);
    EXPECT_INVALID(score_policy_get_info((const score_policy *)trainer, &info));
    EXPECT_INVALID(score_trainer_progress((const score_trainer *)policy, NULL, &steps));
    score_trainer_free(trainer);
    score_policy_free(policy);
    score_policy_free(policy);
}

/* Shapes whose weights cannot exist: refused, not a crash (runs last for that reason). */
static void test_absurd_shapes(void) {
    score_model_config config = tiny_config();
    score_policy *policy = NULL;
    config.vocab_size = 1 << 30;
    config.hidden_size = 1 << 30;
    score_status status = (prime_last_error(), score_policy_create(&config, 1, NULL, &policy));
    CHECK(status != SCORE_OK, "a model with 2^60 embedding weights was created");
    if (status == SCORE_OK) score_policy_free(policy);
    config = tiny_config();
    config.num_layers = INT32_MAX;
    status = (prime_last_error(), score_policy_create(&config, 1, NULL, &policy));
    CHECK(status != SCORE_OK, "a model with 2^31-1 layers was created");
    if (status == SCORE_OK) score_policy_free(policy);
    /* A context of 2^31-1 tokens is a shape out of range, refused at creation (the engine caps
       max_seq_len at 2^20, its rotary tables' bound), and a failed create leaves *out NULL. */
    config = tiny_config();
    config.max_seq_len = INT32_MAX;
    policy = NULL;
    if (!EXPECT_INVALID(score_policy_create(&config, 1, NULL, &policy))) score_policy_free(policy);
    else CHECK(policy == NULL, "a refused score_policy_create left *out set");
    /* Widths whose per-layer parameter sum overflows 64 bits must be refused, not wrapped. */
    config = tiny_config();
    config.hidden_size = INT32_MAX;
    config.intermediate_size = INT32_MAX;
    config.num_heads = 1;
    config.num_kv_heads = 1;
    config.head_dim = 64;
    EXPECT_INVALID(score_policy_create(&config, 1, NULL, &policy));
    /* Reaching this line is the check: a crash above fails the whole program. */
}

/* A size_t count above INT64_MAX (SIZE_MAX) is refused before any read; a capacity that large is
   plenty. A freed handle stays refused even after a new object is made (handles are not reused
   addresses). */
static void test_huge_counts_and_stale_handles(void) {
    score_policy *policy = make_policy(5);
    int32_t ids[4] = {65, 66, 67, 68};
    char *text = NULL;
    EXPECT_INVALID(score_detokenize(policy, ids, SIZE_MAX, &text));
    size_t needed = 0;
    float logits[4];
    EXPECT_INVALID(score_policy_logits(policy, ids, SIZE_MAX, logits, 4, &needed));
    int32_t out[16];
    if (EXPECT(score_tokenize(policy, "abc", out, SIZE_MAX, &needed), SCORE_OK))
        CHECK(needed == 3 && out[0] == 97, "tokenize with capacity SIZE_MAX");
    score_trainer *trainer = NULL;
    if (EXPECT(score_trainer_create(policy, NULL, &trainer), SCORE_OK)) {
        const char *prompts[] = {"1+1="}, *references[] = {"2"};
        EXPECT_INVALID(score_trainer_step(trainer, prompts, references, SIZE_MAX, NULL));
        score_sft_example example = {"1+1=", "2", NULL};
        EXPECT_INVALID(score_trainer_sft_step(trainer, &example, SIZE_MAX, 1e-3f, NULL));
        score_eval_result result = {.struct_size = sizeof result};
        EXPECT_INVALID(score_trainer_evaluate(trainer, prompts, references, SIZE_MAX, SCORE_EVAL_GREEDY, 0, &result));
        score_trainer_free(trainer);
    }
    score_policy_free(policy);
    for (int i = 0; i < 8; i++) {
        score_policy *fresh = make_policy(6);
        score_policy_info info = {.struct_size = sizeof info};
        EXPECT_INVALID(score_policy_get_info(policy, &info));
        score_policy_free(policy);  /* stale: must not free `fresh` */
        if (fresh) {
            EXPECT(score_policy_get_info(fresh, &info), SCORE_OK);
            score_policy_free(fresh);
        }
    }
}

/* -------------------------------------------------------------------------------------------
 * Main
 * ----------------------------------------------------------------------------------------- */

#define RUN(test)                                  \
    do {                                           \
        int failed_before = checks_failed;         \
        test;                                      \
        printf("%-28s %s\n", #test, checks_failed == failed_before ? "ok" : "FAILED"); \
        fflush(stdout);                            \
    } while (0)

/* Model folders as Hugging Face writes them load (the repository's parity fixture, run from the
   repository root), and a host-given chat layout replaces the folder's: its special-token names
   become single ids, and an end of turn that is not one special token is refused. */
static void test_model_folders_and_chat_templates(void) {
    const char *folder = "Tests/ScoreEngineTests/Fixtures/pretrained/llama_tied";
    score_policy *policy = NULL;
    if (!EXPECT(score_policy_load(folder, NULL, &policy), SCORE_OK)) return;
    score_policy_info info = {.struct_size = sizeof info};
    if (EXPECT(score_policy_get_info(policy, &info), SCORE_OK))
        CHECK(info.vocab_size == 300 && info.parameter_count > 0, "llama_tied: vocab %d, %lld parameters",
              info.vocab_size, (long long)info.parameter_count);
    score_correction *plain = NULL;
    EXPECT(score_self_correct(policy, "1+1=", NULL, &plain), SCORE_OK);
    score_policy_free(policy);

    score_chat_template layout;
    score_chat_template_init(NULL);
    score_chat_template_init(&layout);
    CHECK(layout.struct_size == sizeof layout && layout.user_prefix == NULL && !layout.trim_messages,
          "score_chat_template_init fills NULL strings");
    layout.conversation_start = "<|bos|>";
    layout.user_prefix = "<|user|>Q: ";
    layout.user_suffix = "<|end_turn|>";
    layout.assistant_prefix = "<|assistant|>";
    layout.end_of_turn = "<|end_turn|>";
    score_policy_options options;
    score_policy_options_init(&options);
    CHECK(options.chat_template == NULL && options.template_date == NULL,
          "score_policy_options_init leaves chat_template and template_date NULL");
    options.template_date = "\xfe";
    policy = NULL;
    EXPECT_MSG(score_policy_load(folder, &options, &policy), SCORE_ERR_INVALID_ARGUMENT, "utf");
    options.template_date = "26 Jul 2024";
    options.chat_template = &layout;
    policy = NULL;
    if (EXPECT(score_policy_load(folder, &options, &policy), SCORE_OK)) {
        score_correction *custom = NULL;
        if (EXPECT(score_self_correct(policy, "1+1=", NULL, &custom), SCORE_OK) && plain)
            CHECK(custom->count1 > 0, "a custom layout answers");
        score_correction_free(custom);
        score_policy_free(policy);
    }
    score_correction_free(plain);

    layout.end_of_turn = "end";  /* text, not a special token */
    policy = (score_policy *)&layout;
    EXPECT_INVALID(score_policy_load(folder, &options, &policy));
    CHECK(policy == NULL, "*out is not NULL after a refused chat template");
    layout.end_of_turn = "<|end_turn|>";
    layout.user_prefix = "\xff";
    EXPECT_MSG(score_policy_load(folder, &options, &policy), SCORE_ERR_INVALID_ARGUMENT, "utf");
    layout.user_prefix = "<|user|>";
    layout.struct_size = 3;
    EXPECT_MSG(score_policy_load(folder, &options, &policy), SCORE_ERR_INVALID_ARGUMENT, "struct");
}

/* A GGUF file loads (weights, embedded tokenizer and chat template) and saves as a
   Hugging Face folder that loads back to the same logits; a truncated one is refused. */
static void test_gguf(void) {
    const char *file = "Tests/ScoreEngineTests/Fixtures/gguf/llama.gguf";
    score_policy *policy = NULL;
    if (!EXPECT(score_policy_load(file, NULL, &policy), SCORE_OK)) return;
    score_policy_info info = {.struct_size = sizeof info};
    if (EXPECT(score_policy_get_info(policy, &info), SCORE_OK))
        CHECK(info.vocab_size == 420, "llama.gguf: vocab %d", info.vocab_size);
    int32_t tokens[16];
    size_t count = 0;
    EXPECT(score_tokenize(policy, "What is 17*23?", tokens, 16, &count), SCORE_OK);
    CHECK(count > 0 && count <= 16, "llama.gguf tokenizes (%zu tokens)", count);
    char folder[1200];
    snprintf(folder, sizeof folder, "%s/from-gguf", scratch);
    score_policy *reloaded = NULL;
    static float before[16 * 420], after[16 * 420];
    size_t n_before = 0, n_after = 0;
    if (EXPECT(score_policy_save(policy, folder), SCORE_OK) && EXPECT(score_policy_load(folder, NULL, &reloaded), SCORE_OK)) {
        EXPECT(score_policy_logits(policy, tokens, count, before, 16 * 420, &n_before), SCORE_OK);
        EXPECT(score_policy_logits(reloaded, tokens, count, after, 16 * 420, &n_after), SCORE_OK);
        CHECK(n_before == n_after && n_before > 0 && memcmp(before, after, n_before * sizeof(float)) == 0,
              "the saved folder gives the GGUF file's logits");
    }
    score_policy_free(reloaded);
    score_policy_free(policy);

    char truncated[1200];
    snprintf(truncated, sizeof truncated, "%s/truncated.gguf", scratch);
    FILE *in = fopen(file, "rb"), *out = fopen(truncated, "wb");
    bool copied = in && out;
    CHECK(copied, "copy llama.gguf");
    if (copied) {
        char buffer[4096];
        size_t got = fread(buffer, 1, sizeof buffer, in);
        fwrite(buffer, 1, got, out);
    }
    if (in) fclose(in);
    if (out) fclose(out);
    policy = NULL;
    EXPECT_MSG(score_policy_load(truncated, NULL, &policy), SCORE_ERR_INVALID_FILE, "truncated");
    CHECK(policy == NULL, "*out stays NULL after a truncated GGUF file");
}

/* LoRA: a trainer with lora_rank trains adapters only (the base stays bitwise), they save as a
   PEFT folder that another policy of the same shape loads to the same logits, merging keeps the
   logits (to float rounding) and is refused while a trainer holds the policy; bad options and
   folders are refused and change nothing. */
static void test_lora(void) {
    score_policy *policy = make_policy(21);
    float *base = snapshot(policy);
    int32_t rank = -1;
    int64_t count = -1;
    EXPECT(score_policy_adapter_info(policy, &rank, &count), SCORE_OK);
    CHECK(rank == 0 && count == 0, "a fresh policy reports adapters of rank %d", rank);
    EXPECT(score_policy_save_adapter(policy, scratch_path("no-adapter")), SCORE_ERR_STATE);
    EXPECT(score_policy_merge_adapter(policy), SCORE_ERR_STATE);

    score_trainer_options options = small_trainer_options();
    score_trainer *refused = NULL;
    options.lora_rank = -1;
    EXPECT_INVALID(score_trainer_create(policy, &options, &refused));
    options.lora_rank = 4096;
    EXPECT_MSG(score_trainer_create(policy, &options, &refused), SCORE_ERR_INVALID_ARGUMENT, "rank");
    options.lora_rank = 4;
    options.lora_targets = 1u << 9;
    EXPECT_MSG(score_trainer_create(policy, &options, &refused), SCORE_ERR_INVALID_ARGUMENT, "lora_targets");
    CHECK(refused == NULL, "a refused trainer was returned");
    options.lora_targets = SCORE_LORA_Q | SCORE_LORA_V | SCORE_LORA_DOWN;
    options.learning_rate = 1e-2f;
    score_trainer *trainer = make_trainer(policy, &options);
    EXPECT(score_policy_adapter_info(policy, &rank, &count), SCORE_OK);
    CHECK(rank == 4 && count > 0, "adapter info after create: rank %d, %lld values", rank, (long long)count);
    verifier_log log;
    verifier_log_reset(&log, prompts_a, references_a, 2);
    EXPECT(score_trainer_set_verifier(trainer, hash_verifier, &log), SCORE_OK);
    for (int i = 0; i < 3; i++) EXPECT(score_trainer_step(trainer, prompts_a, references_a, 2, NULL), SCORE_OK);
    float *trained = snapshot(policy);
    CHECK(!same_floats(base, trained), "three LoRA steps did not change the logits");
    EXPECT(score_policy_merge_adapter(policy), SCORE_ERR_STATE);
    EXPECT(score_policy_load_adapter(policy, scratch_path("missing")), SCORE_ERR_STATE);

    const char *folder = scratch_path("adapter");
    EXPECT(score_policy_save_adapter(policy, folder), SCORE_OK);
    score_policy *other = make_policy(21);
    EXPECT_NULL_REFUSED(score_policy_load_adapter(other, NULL));
    EXPECT(score_policy_load_adapter(other, scratch_path("no-such-adapter")), SCORE_ERR_INVALID_FILE);
    check_unchanged(other, base, "a failed adapter load");
    EXPECT(score_policy_load_adapter(other, folder), SCORE_OK);
    check_unchanged(other, trained, "loading the saved adapters");
    score_trainer_free(trainer);
    check_unchanged(policy, trained, "freeing the trainer");

    /* Merge: the adapters fold into the weights; the policy computes the same. */
    EXPECT(score_policy_merge_adapter(other), SCORE_OK);
    EXPECT(score_policy_adapter_info(other, &rank, NULL), SCORE_OK);
    CHECK(rank == 0, "merged policy still reports rank %d", rank);
    float *merged = snapshot(other);
    /* Folding B·A into W rounds differently from adding B·(A·x): compare on the logits' scale. */
    double largest = 0, worst = 0;
    for (size_t i = 0; i < PROBE_FLOATS; i++) {
        double size = trained[i] < 0 ? -trained[i] : trained[i];
        double gap = merged[i] > trained[i] ? merged[i] - trained[i] : trained[i] - merged[i];
        if (size > largest) largest = size;
        if (gap > worst) worst = gap;
    }
    CHECK(worst <= 1e-5 * largest, "merged logits differ from the adapted ones by %g (largest logit %g)", worst, largest);
    free(merged);
    free(trained);
    free(base);
    score_policy_free(other);
    score_policy_free(policy);
}

/* A step whose activations cannot fit the machine is refused before anything is sampled, naming
   the option that would make it fit; micro_batch 0 is an error. */
static void test_memory_refusal(void) {
    score_policy *policy = make_policy(22);
    float *before = snapshot(policy);
    score_trainer_options options = small_trainer_options();
    score_trainer *refused = NULL;
    options.micro_batch = 0;
    EXPECT_MSG(score_trainer_create(policy, &options, &refused), SCORE_ERR_INVALID_ARGUMENT, "micro_batch");
    options.micro_batch = 1 << 20;
    options.samples_per_prompt = 1024;
    options.max_new_tokens = 48;
    score_trainer *trainer = make_trainer(policy, &options);
    verifier_log log;
    verifier_log_reset(&log, NULL, NULL, 0);
    EXPECT(score_trainer_set_verifier(trainer, hash_verifier, &log), SCORE_OK);
    const char *prompts[32], *references[32];
    for (int i = 0; i < 32; i++) {
        prompts[i] = "12+34=";
        references[i] = "46";
    }
    EXPECT_MSG(score_trainer_step(trainer, prompts, references, 32, NULL), SCORE_ERR_INVALID_ARGUMENT, "micro_batch");
    CHECK(log.calls == 0, "the verifier ran before the memory check refused the step");
    CHECK(completed_steps(trainer) == 0, "a refused step was counted");
    check_unchanged(policy, before, "a step refused for memory");
    free(before);
    score_trainer_free(trainer);
    score_policy_free(policy);
}

/* second_attempts = 3: every first attempt is continued three times, so a step has prompts x k x 3
   episodes (and single-turn steps prompts x k); the episode limit counts them before any prompt is read. */
static void test_second_attempts(void) {
    score_policy *policy = make_policy(23);
    score_trainer_options options = small_trainer_options();
    options.second_attempts = 3;
    score_trainer *trainer = make_trainer(policy, &options);
    verifier_log log;
    verifier_log_reset(&log, prompts_a, references_a, 2);
    EXPECT(score_trainer_set_verifier(trainer, hash_verifier, &log), SCORE_OK);
    score_step_stats stats = {.struct_size = sizeof stats};
    if (EXPECT(score_trainer_step(trainer, prompts_a, references_a, 2, &stats), SCORE_OK)) {
        const size_t episodes = 2 * (size_t)options.samples_per_prompt * 3;
        CHECK(stats.episodes == (int32_t)episodes && log.items_t1 == episodes && log.items_t2 == episodes &&
                  log.malformed == 0,
              "episodes %d, verified %zu + %zu items (%d malformed), expected %zu each", stats.episodes,
              log.items_t1, log.items_t2, log.malformed, episodes);
    }
    /* 65536 / (2 x 3) prompts are too many episodes: refused without reading the (short) arrays. */
    EXPECT_MSG(score_trainer_step(trainer, prompts_a, references_a, 65536 / 6 + 1, NULL), SCORE_ERR_INVALID_ARGUMENT,
               "episodes");
    score_trainer_free(trainer);
    options.plan = SCORE_PLAN_SINGLE_TURN;
    options.single_turn_steps = 1;
    trainer = make_trainer(policy, &options);
    if (EXPECT(score_trainer_step(trainer, prompts_a, references_a, 2, &stats), SCORE_OK))
        CHECK(stats.episodes == 2 * options.samples_per_prompt, "single-turn episodes %d", stats.episodes);
    score_trainer_free(trainer);
    score_policy_free(policy);
}

/* attempts = 3 in training: the verifier sees every episode's three attempts (the third as turn 3,
   with attempt 1 as first_attempt), the step trains; the statistics' "t2" is the last attempt. */
static void test_training_attempts(void) {
    score_policy *policy = make_short_instruction_policy(26);
    score_trainer_options options = small_trainer_options();
    options.attempts = 3;
    score_trainer *trainer = make_trainer(policy, &options);
    verifier_log log;
    verifier_log_reset(&log, prompts_a, references_a, 2);
    EXPECT(score_trainer_set_verifier(trainer, hash_verifier, &log), SCORE_OK);
    score_step_stats stats = {.struct_size = sizeof stats};
    if (EXPECT(score_trainer_step(trainer, prompts_a, references_a, 2, &stats), SCORE_OK)) {
        const size_t episodes = 2 * (size_t)options.samples_per_prompt;
        CHECK(stats.episodes == (int32_t)episodes && log.items_t1 == episodes && log.items_t2 == episodes &&
                  log.items_later == episodes && log.malformed == 0,
              "episodes %d, verified %zu + %zu + %zu items (%d malformed), expected %zu each", stats.episodes,
              log.items_t1, log.items_t2, log.items_later, log.malformed, episodes);
        CHECK(stats.grad_norm > 0 && isfinite(stats.loss), "three-attempt step: grad norm %g, loss %g", stats.grad_norm,
              stats.loss);
    }
    score_trainer_free(trainer);
    /* Stage I holding attempt 1 alone: the same episodes are sampled; attempt 2 now carries reward. */
    options.stage_i_holds_first_only = true;
    trainer = make_trainer(policy, &options);
    verifier_log_reset(&log, prompts_a, references_a, 2);
    EXPECT(score_trainer_set_verifier(trainer, hash_verifier, &log), SCORE_OK);
    if (EXPECT(score_trainer_step(trainer, prompts_a, references_a, 2, &stats), SCORE_OK))
        CHECK(stats.stage == SCORE_STAGE_I && log.items_later == 2 * (size_t)options.samples_per_prompt &&
                  stats.grad_norm > 0,
              "Stage I, attempt 1 held alone: stage %d, %zu third attempts, grad norm %g", stats.stage, log.items_later,
              stats.grad_norm);
    score_trainer_free(trainer);
    score_policy_free(policy);
}

/* What a verifier that calls back into the library saw. */
typedef struct {
    score_trainer *trainer;
    score_policy *policy;
    score_status nested_step, nested_policy, other_thread, other_policy;
    int calls;
} reentry_probe;

static void *call_policy_on_another_thread(void *argument) {
    reentry_probe *probe = argument;
    score_policy_info info = {.struct_size = sizeof info};
    probe->other_thread = score_policy_get_info(probe->policy, &info);
    return NULL;
}

static score_status reentrant_verifier(const score_verify_item *items, size_t count, float *rewards, void *user_data) {
    reentry_probe *probe = user_data;
    (void)items;
    for (size_t i = 0; i < count; i++) rewards[i] = (float)(i % 2);
    if (probe->calls++ > 0) return SCORE_OK;
    static const char *const prompts[] = {"1+1="}, *const references[] = {"2"};
    probe->nested_step = score_trainer_step(probe->trainer, prompts, references, 1, NULL);
    score_policy_info info = {.struct_size = sizeof info};
    probe->nested_policy = score_policy_get_info(probe->policy, &info);
    pthread_t thread;
    if (pthread_create(&thread, NULL, call_policy_on_another_thread, probe) == 0) pthread_join(thread, NULL);
    /* Another policy is free to use. */
    score_policy *other = make_policy(25);
    probe->other_policy = score_policy_get_info(other, &info);
    score_policy_free(other);
    return SCORE_OK;
}

/* A handle serves one call at a time: a second trainer on a policy, a callback calling into the
   trainer or policy whose call runs it, and another thread during a call all get SCORE_ERR_STATE;
   the running call is not disturbed. */
static void test_exclusive_use(void) {
    score_policy *policy = make_policy(24);
    score_trainer_options options = small_trainer_options();
    score_trainer *trainer = make_trainer(policy, &options);
    score_trainer *second = NULL;
    EXPECT_MSG(score_trainer_create(policy, &options, &second), SCORE_ERR_STATE, "already has a trainer");
    CHECK(second == NULL, "a refused trainer was returned");
    const char *state = scratch_path("exclusive-state");
    EXPECT(score_trainer_save(trainer, state), SCORE_OK);
    EXPECT_MSG(score_trainer_resume(policy, state, &second), SCORE_ERR_STATE, "already has a trainer");

    reentry_probe probe = {.trainer = trainer, .policy = policy};
    EXPECT(score_trainer_set_verifier(trainer, reentrant_verifier, &probe), SCORE_OK);
    score_step_stats stats = {.struct_size = sizeof stats};
    EXPECT(score_trainer_step(trainer, prompts_a, references_a, 2, &stats), SCORE_OK);
    CHECK(probe.nested_step == SCORE_ERR_STATE && probe.nested_policy == SCORE_ERR_STATE &&
              probe.other_thread == SCORE_ERR_STATE && probe.other_policy == SCORE_OK,
          "inside a step: nested step %d, policy call %d, another thread %d (expected %d), another policy %d",
          probe.nested_step, probe.nested_policy, probe.other_thread, SCORE_ERR_STATE, probe.other_policy);
    CHECK(completed_steps(trainer) == 1 && stats.step == 1, "the step count is %lld, expected 1",
          (long long)completed_steps(trainer));
    /* Once the call returned, the handles serve calls again; a freed trainer frees the policy for another. */
    score_policy_info info = {.struct_size = sizeof info};
    EXPECT(score_policy_get_info(policy, &info), SCORE_OK);
    score_trainer_free(trainer);
    EXPECT(score_trainer_resume(policy, state, &second), SCORE_OK);
    score_trainer_free(second);
    second = make_trainer(policy, &options);
    score_trainer_free(second);
    score_policy_free(policy);
}

int main(void) {
    /* Before anything failed, the message is empty. */
    const char *first_message = score_last_error();
    CHECK(first_message && first_message[0] == '\0', "score_last_error() is \"%s\" before any failure",
          first_message ? first_message : "(NULL)");

    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/score-api-test-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(scratch)) {
        perror("mkdtemp");
        return 2;
    }
    snprintf(primer_path, sizeof primer_path, "%s/stale-message-check-folder", scratch);
    prime_last_error();
    primer_usable = strstr(primer_message, "stale-message-check-folder") != NULL;
    if (!primer_usable)
        printf("  note: the missing-folder message does not name the path (\"%s\"); stale messages go unchecked\n",
               primer_message);
    memset(long_prompt, '9', sizeof long_prompt - 1);

    score_policy *policy = make_policy(2);
    RUN(test_version_and_status());
    RUN(test_free_functions_accept_null());
    RUN(test_defaults());
    RUN(test_logging());
    RUN(test_policy_create_errors());
    RUN(test_policy_info(policy));
    RUN(test_tokenize(policy));
    RUN(test_detokenize(policy));
    RUN(test_logits(policy));
    RUN(test_generate(policy));
    RUN(test_self_correct(policy));
    RUN(test_more_attempts());
    RUN(test_majority_vote(policy));
    RUN(test_policy_files(policy));
    RUN(test_model_folders_and_chat_templates());
    RUN(test_gguf());
    RUN(test_trainer_create());
    RUN(test_trainer_step());
    RUN(test_callback_failures());
    RUN(test_gradients());
    RUN(test_data_parallel());
    RUN(test_sft());
    RUN(test_evaluate());
    RUN(test_save_resume());
    RUN(test_lora());
    RUN(test_memory_refusal());
    RUN(test_second_attempts());
    RUN(test_training_attempts());
    RUN(test_exclusive_use());
    RUN(test_handles());
    score_policy_free(policy);
    RUN(test_absurd_shapes());
    RUN(test_huge_counts_and_stale_handles());

    remove_tree(scratch);
    printf("%d checks, %d failed\n", checks_run, checks_failed);
    return checks_failed == 0 ? 0 : 1;
}
