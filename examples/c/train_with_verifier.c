/*
 * train_with_verifier.c — SCoRe with the host's own reward: a C function checks each answer.
 *
 * A tiny policy learns two-digit addition ("12+34=" -> "46"): a short supervised warm-up on
 * correct answers (and a few wrong-then-right exchanges), then SCoRe's Stage I and Stage II
 * steps scored by integer_verifier below, then a greedy two-attempt evaluation on held-out
 * problems. It runs in a few seconds; the numbers show the mechanics, not a trained model.
 *
 * Build from the repository root (LIB_DIR is the folder holding libscore.so):
 *   cc -std=c99 -Wall -Wextra -Iinclude examples/c/train_with_verifier.c -L"$LIB_DIR" -lscore \
 *      -Wl,-rpath,"$LIB_DIR" -o train_with_verifier
 */
#include "score.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

enum { TRAIN_PROBLEMS = 96, EVAL_PROBLEMS = 24, SFT_STEPS = 100, SFT_BATCH = 16, RL_BATCH = 8 };

typedef struct problem {
    char prompt[16];    /* "12+34=" */
    char reference[8];  /* "46" */
    char wrong[8];      /* a near miss, for the wrong-then-right warm-up examples */
} problem;

static problem train[TRAIN_PROBLEMS], test[EVAL_PROBLEMS];

/* A fixed-seed generator (xorshift64*), so every run sees the same problems. */
static uint64_t rng_state = 0x5C0E2024u;
static uint32_t next_random(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

/* Operands below 50; a pair whose (a + 3b) is a multiple of 5 is a test problem, else a training
   one, so the two sets never share a problem. */
static void make_problems(void) {
    int n_train = 0, n_test = 0;
    while (n_train < TRAIN_PROBLEMS || n_test < EVAL_PROBLEMS) {
        int a = (int)(next_random() % 50), b = (int)(next_random() % 50);
        bool is_test = (a + 3 * b) % 5 == 0;
        problem *p = is_test ? (n_test < EVAL_PROBLEMS ? &test[n_test++] : NULL)
                             : (n_train < TRAIN_PROBLEMS ? &train[n_train++] : NULL);
        if (!p) continue;
        snprintf(p->prompt, sizeof p->prompt, "%d+%d=", a, b);
        snprintf(p->reference, sizeof p->reference, "%d", a + b);
        snprintf(p->wrong, sizeof p->wrong, "%d", a + b + 1 + (int)(next_random() % 9));
    }
}

/* Reads a whole response as one integer (spaces around it allowed). */
static bool parse_integer(const char *text, long *value) {
    char *end;
    errno = 0;
    long parsed = strtol(text, &end, 10);
    if (end == text || errno != 0) return false;
    while (*end == ' ' || *end == '\n') end++;
    if (*end != '\0') return false;
    *value = parsed;
    return true;
}

/* The host's verifier: reward 1 when the response is the reference integer, else 0. It is called
   with a batch of attempts (both turns) and could as well run unit tests or ask a service. */
static score_status integer_verifier(const score_verify_item *items, size_t count, float *rewards, void *user_data) {
    long *scored = user_data;
    for (size_t i = 0; i < count; i++) {
        long got, expected;
        bool correct = parse_integer(items[i].response, &got) && parse_integer(items[i].reference, &expected) &&
                       got == expected;
        rewards[i] = correct ? 1.0f : 0.0f;
    }
    *scored += (long)count;
    return SCORE_OK;
}

/* Prints why a call failed (status name first: the message is valid until the next score_* call). */
static bool ok(score_status status, const char *call) {
    if (status == SCORE_OK) return true;
    const char *name = score_status_string(status);
    fprintf(stderr, "%s failed: %s: %s\n", call, name, score_last_error());
    return false;
}

static void print_evaluation(const char *label, const score_eval_result *r) {
    printf("%-22s Acc@t1 %5.1f%%  Acc@t2 %5.1f%%  delta %+5.1f  i->c %4.1f%%  c->i %4.1f%%  (%lld problems)\n", label,
           r->acc_t1_pct, r->acc_t2_pct, r->delta_pct, r->delta_i_to_c_pct, r->delta_c_to_i_pct, (long long)r->count);
}

static bool evaluate(score_trainer *trainer, const char *label) {
    const char *prompts[EVAL_PROBLEMS], *references[EVAL_PROBLEMS];
    for (int i = 0; i < EVAL_PROBLEMS; i++) {
        prompts[i] = test[i].prompt;
        references[i] = test[i].reference;
    }
    score_eval_result result = {.struct_size = sizeof result};
    if (!ok(score_trainer_evaluate(trainer, prompts, references, EVAL_PROBLEMS, SCORE_EVAL_GREEDY, 0, &result),
            "score_trainer_evaluate"))
        return false;
    print_evaluation(label, &result);
    return true;
}

static bool run(score_trainer *trainer) {
    /* Warm-up: supervised steps on correct answers; every fourth example is a two-attempt
       exchange whose first answer is wrong and whose second is right. */
    score_sft_example batch[SFT_BATCH];
    float loss = 0;
    for (int step = 1; step <= SFT_STEPS; step++) {
        for (int i = 0; i < SFT_BATCH; i++) {
            const problem *p = &train[next_random() % TRAIN_PROBLEMS];
            bool pair = i % 4 == 3;
            batch[i] = (score_sft_example){p->prompt, pair ? p->wrong : p->reference, pair ? p->reference : NULL};
        }
        if (!ok(score_trainer_sft_step(trainer, batch, SFT_BATCH, 3e-3f, &loss), "score_trainer_sft_step"))
            return false;
        if (step % 25 == 0) printf("warm-up step %3d        loss %.3f\n", step, loss);
    }
    /* RL starts from the warmed-up policy: it becomes the KL reference. */
    if (!ok(score_trainer_reset_reference(trainer), "score_trainer_reset_reference")) return false;
    if (!evaluate(trainer, "after warm-up")) return false;

    /* SCoRe: the plan runs Stage I (stage_i_steps), then Stage II (stage_ii_steps). */
    printf("step  stage     Acc@t1  Acc@t2   delta   KL t1    KL t2    seconds\n");
    int64_t total = 6;
    for (int64_t n = 0; n < total; n++) {
        const char *prompts[RL_BATCH], *references[RL_BATCH];
        for (int i = 0; i < RL_BATCH; i++) {
            const problem *p = &train[next_random() % TRAIN_PROBLEMS];
            prompts[i] = p->prompt;
            references[i] = p->reference;
        }
        score_step_stats s = {.struct_size = sizeof s};
        if (!ok(score_trainer_step(trainer, prompts, references, RL_BATCH, &s), "score_trainer_step")) return false;
        printf("%4lld  %-8s  %5.1f%%  %5.1f%%  %+6.1f  %.5f  %.5f  %6.3f\n", (long long)s.step,
               s.stage == SCORE_STAGE_I ? "Stage I" : s.stage == SCORE_STAGE_II ? "Stage II" : "other", s.acc_t1_pct,
               s.acc_t2_pct, s.delta_pct, s.kl_t1, s.kl_t2, s.seconds);
    }
    return evaluate(trainer, "after SCoRe");
}

int main(void) {
    make_problems();

    /* A tiny model with a short self-correction instruction (short sequences train faster). */
    score_model_config config;
    score_model_config_init(&config);
    config.hidden_size = 64;
    config.num_layers = 2;
    config.num_heads = 4;
    config.num_kv_heads = 2;
    config.intermediate_size = 192;
    score_policy_options policy_options;
    score_policy_options_init(&policy_options);
    policy_options.instruction = "Check the sum and answer again.";
    score_policy *policy = NULL;
    if (!ok(score_policy_create(&config, 7, &policy_options, &policy), "score_policy_create")) return 1;

    score_trainer_options options;
    score_trainer_options_init(&options);
    options.stage_i_steps = 3;
    options.stage_ii_steps = 3;
    options.samples_per_prompt = 4;
    options.max_new_tokens = 6; /* a sum of two operands below 50 has at most 2 digits, then the end token */
    options.learning_rate = 1e-4f;
    options.seed = 1;
    score_trainer *trainer = NULL;
    if (!ok(score_trainer_create(policy, &options, &trainer), "score_trainer_create")) {
        score_policy_free(policy);
        return 1;
    }
    long scored = 0;
    bool done = ok(score_trainer_set_verifier(trainer, integer_verifier, &scored), "score_trainer_set_verifier") &&
                run(trainer);
    if (done) printf("the verifier scored %ld attempts\n", scored);

    score_trainer_free(trainer); /* before its policy */
    score_policy_free(policy);
    return done ? 0 : 1;
}
