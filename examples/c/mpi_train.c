/*
 * mpi_train.c — data-parallel SCoRe over MPI: every rank holds a replica of one trainer, samples
 * and scores its own share of each step's prompts with its own verifier, and the ranks average
 * their gradients with one in-place allreduce, so that every replica takes the same update.
 *
 *   mpirun -n 2 ./mpi_train [--steps N] [--prompts P] [--threads T] [--seed S]
 *                           [--save DIR] [--resume DIR] [--fail-rank R --fail-step S]
 *                           [--other-shape-rank R] [--shape tiny]
 *
 * A tiny policy (the same on every rank) is warmed up on correct sums, rank 0's values are
 * broadcast and the replicas' checksums compared, then N steps of SCoRe (Stage I, then Stage II)
 * run on P prompts per step (P / ranks per rank: P must be a multiple of the rank count). Rank 0
 * prints each global step (statistics combined over the ranks); at the end every rank prints
 *   rank R step S checksum HEX
 * with its replica's checksum, equal on every rank. --save DIR: rank 0 saves the trainer at the
 * end; --resume DIR: every rank resumes from DIR (no warm-up) and continues. --fail-rank and
 * --fail-step make that rank's verifier fail at that step (every rank then stops cleanly with an
 * error). --other-shape-rank R gives that rank a model of another shape: the ranks refuse to
 * start. --shape tiny uses the benchmarks' "tiny" shape (BENCHMARKS.md's data-parallel figure).
 * The recipe is score.h's "Data-parallel training".
 *
 * Build: make -C examples/c mpi_train   (mpicc, against the repository's build of libscore)
 */
#include "score.h"

#include <mpi.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TRAIN_PROBLEMS = 96, SFT_STEPS = 60, SFT_BATCH = 16, MAX_PROMPTS = 1024 };

typedef struct problem {
    char prompt[16];
    char reference[8];
} problem;

static problem train[TRAIN_PROBLEMS];
static int rank = 0, ranks = 1;

/* Shared by every rank (same seed): the problems, the warm-up batches and each step's prompts. */
static uint64_t rng_state = 0x5C0E2024u;
static uint32_t next_random(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

static void make_problems(void) {
    for (int i = 0; i < TRAIN_PROBLEMS; i++) {
        int a = (int)(next_random() % 50), b = (int)(next_random() % 50);
        snprintf(train[i].prompt, sizeof train[i].prompt, "%d+%d=", a, b);
        snprintf(train[i].reference, sizeof train[i].reference, "%d", a + b);
    }
}

/* The rank's verifier: reward 1 when the response is the reference integer. It fails on purpose
   at --fail-step on --fail-rank, to show how every rank learns of one rank's failure. */
typedef struct verifier_state {
    long scored;
    int64_t step, fail_step;
    bool fail_here;
} verifier_state;

static bool parse_integer(const char *text, long *value) {
    char *end;
    errno = 0;
    long parsed = strtol(text, &end, 10);
    if (end == text || errno != 0 || *end != '\0') return false;
    *value = parsed;
    return true;
}

static score_status integer_verifier(const score_verify_item *items, size_t count, float *rewards, void *user_data) {
    verifier_state *state = user_data;
    if (state->fail_here && state->step == state->fail_step) return SCORE_ERR_CALLBACK;
    for (size_t i = 0; i < count; i++) {
        long got, expected;
        rewards[i] = parse_integer(items[i].response, &got) && parse_integer(items[i].reference, &expected) &&
                             got == expected
                         ? 1.0f
                         : 0.0f;
    }
    state->scored += (long)count;
    return SCORE_OK;
}

static bool ok(score_status status, const char *call) {
    if (status == SCORE_OK) return true;
    const char *name = score_status_string(status);
    fprintf(stderr, "rank %d: %s failed: %s: %s\n", rank, call, name, score_last_error());
    return false;
}

/* Whether `local` holds on every rank (a collective: every rank must call it at the same point). */
static bool all_ranks(bool local) {
    int mine = local ? 1 : 0, every = 0;
    MPI_Allreduce(&mine, &every, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return every == 1;
}

/* Rank 0's trained values into every replica, then the checksums compared on all ranks. */
static bool broadcast_values(score_trainer *trainer) {
    float *values = NULL;
    size_t count = 0;
    bool got = ok(score_trainer_parameters(trainer, &values, &count), "score_trainer_parameters");
    /* Replicas of different shapes would broadcast garbage: compare the counts first. */
    unsigned long long mine = got ? (unsigned long long)count : 0, low = 0, high = 0;
    MPI_Allreduce(&mine, &low, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&mine, &high, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, MPI_COMM_WORLD);
    if (low != high || low == 0) {
        if (rank == 0) fprintf(stderr, "replicas differ in shape: %llu to %llu trained values\n", low, high);
        return false;
    }
    for (size_t start = 0; start < count; start += 1u << 28) { /* MPI counts are ints */
        size_t n = count - start < (1u << 28) ? count - start : (1u << 28);
        MPI_Bcast(values + start, (int)n, MPI_FLOAT, 0, MPI_COMM_WORLD);
    }
    uint64_t checksum = 0, first = 0;
    bool summed = ok(score_trainer_checksum(trainer, &checksum), "score_trainer_checksum");
    first = checksum;
    MPI_Bcast(&first, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    return all_ranks(summed && checksum == first);
}

/* Averages the gradient buffer over the ranks in place: a sum, then the host's division. */
static bool average_gradients(score_trainer *trainer) {
    float *gradients = NULL;
    size_t count = 0;
    if (!ok(score_trainer_gradients(trainer, &gradients, &count), "score_trainer_gradients")) return false;
    for (size_t start = 0; start < count; start += 1u << 28) {
        size_t n = count - start < (1u << 28) ? count - start : (1u << 28);
        MPI_Allreduce(MPI_IN_PLACE, gradients + start, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    }
    float scale = 1.0f / (float)ranks;
    for (size_t i = 0; i < count; i++) gradients[i] *= scale;
    return true;
}

/* Rank 0 prints the step's statistics, combined over every rank's episodes. */
static void report(const score_step_stats *mine, double grad_norm) {
    score_step_stats *parts = rank == 0 ? malloc((size_t)ranks * sizeof *parts) : NULL;
    MPI_Gather(mine, (int)sizeof *mine, MPI_BYTE, parts, (int)sizeof *mine, MPI_BYTE, 0, MPI_COMM_WORLD);
    if (rank != 0) return;
    score_step_stats total = {.struct_size = sizeof total};
    if (parts && ok(score_step_stats_combine(parts, (size_t)ranks, &total), "score_step_stats_combine"))
        printf("step %3lld  %-8s  episodes %3d  Acc@t1 %5.1f%%  Acc@t2 %5.1f%%  reward t2 %.3f  grad norm %.4f  %6.3fs\n",
               (long long)total.step, total.stage == SCORE_STAGE_I ? "Stage I" : "Stage II", total.episodes,
               total.acc_t1_pct, total.acc_t2_pct, total.reward_mean_t2, grad_norm, total.seconds);
    free(parts);
}

typedef struct settings {
    int steps, prompts, threads, fail_rank, other_shape_rank;
    bool bench_shape; /* the benchmarks' "tiny" shape instead of the example's smaller one */
    int64_t fail_step;
    uint64_t seed;
    const char *save, *resume;
} settings;

static bool warm_up(score_trainer *trainer) {
    score_sft_example batch[SFT_BATCH];
    float loss = 0;
    for (int step = 1; step <= SFT_STEPS; step++) {
        for (int i = 0; i < SFT_BATCH; i++) {
            const problem *p = &train[next_random() % TRAIN_PROBLEMS];
            batch[i] = (score_sft_example){p->prompt, p->reference, NULL};
        }
        if (!ok(score_trainer_sft_step(trainer, batch, SFT_BATCH, 3e-3f, &loss), "score_trainer_sft_step")) return false;
    }
    if (rank == 0) printf("warm-up: %d supervised steps, loss %.3f\n", SFT_STEPS, loss);
    return true;
}

static int train_steps(score_trainer *trainer, const settings *s, verifier_state *verifier) {
    int per_rank = s->prompts / ranks;
    const char *prompts[MAX_PROMPTS], *references[MAX_PROMPTS];
    double began = MPI_Wtime();
    for (int n = 0; n < s->steps; n++) {
        /* Every rank draws the same global batch and keeps its own slice of it. */
        for (int i = 0; i < s->prompts; i++) {
            const problem *p = &train[next_random() % TRAIN_PROBLEMS];
            prompts[i] = p->prompt;
            references[i] = p->reference;
        }
        int64_t done = 0;
        if (!ok(score_trainer_progress(trainer, NULL, &done), "score_trainer_progress")) return 1;
        verifier->step = done + 1;
        score_step_stats stats = {.struct_size = sizeof stats};
        bool computed = ok(score_trainer_compute_gradients(trainer, prompts + rank * per_rank,
                                                           references + rank * per_rank, (size_t)per_rank, &stats),
                           "score_trainer_compute_gradients");
        /* One rank's failure reaches every rank here, before anyone waits in the gradient allreduce. */
        if (!all_ranks(computed)) {
            if (rank == 0) fprintf(stderr, "step %lld failed on at least one rank: every rank stops\n", (long long)done + 1);
            return 1;
        }
        if (!all_ranks(average_gradients(trainer))) return 1;
        double grad_norm = 0;
        if (!all_ranks(ok(score_trainer_apply_gradients(trainer, &grad_norm), "score_trainer_apply_gradients")))
            return 1;
        stats.grad_norm = grad_norm;
        report(&stats, grad_norm);
    }
    if (rank == 0 && s->steps > 0)
        printf("%d steps of %d prompts on %d ranks: %.3f steps/s\n", s->steps, s->prompts, ranks,
               s->steps / (MPI_Wtime() - began));
    return 0;
}

static bool parse_arguments(int argc, char **argv, settings *s) {
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (!value) return false;
        if (!strcmp(arg, "--steps")) s->steps = atoi(value);
        else if (!strcmp(arg, "--prompts")) s->prompts = atoi(value);
        else if (!strcmp(arg, "--threads")) s->threads = atoi(value);
        else if (!strcmp(arg, "--seed")) s->seed = strtoull(value, NULL, 10);
        else if (!strcmp(arg, "--fail-rank")) s->fail_rank = atoi(value);
        else if (!strcmp(arg, "--fail-step")) s->fail_step = atoll(value);
        else if (!strcmp(arg, "--other-shape-rank")) s->other_shape_rank = atoi(value);
        else if (!strcmp(arg, "--shape") && !strcmp(value, "tiny")) s->bench_shape = true;
        else if (!strcmp(arg, "--save")) s->save = value;
        else if (!strcmp(arg, "--resume")) s->resume = value;
        else return false;
        i++;
    }
    return s->steps >= 0 && s->prompts >= 1 && s->prompts <= MAX_PROMPTS && s->threads >= 1;
}

static int run(const settings *s) {
    if (s->prompts % ranks != 0) {
        if (rank == 0) fprintf(stderr, "--prompts %d is not a multiple of the %d ranks\n", s->prompts, ranks);
        return 2;
    }
    make_problems();
    score_model_config config;
    score_model_config_init(&config);
    config.hidden_size = s->bench_shape ? 128 : 64;
    config.num_layers = s->bench_shape ? 4 : 2;
    config.num_heads = 4;
    config.num_kv_heads = 2;
    config.intermediate_size = s->bench_shape ? 384 : 192;
    if (rank == s->other_shape_rank) config.intermediate_size /= 2; /* a misconfigured replica */
    score_policy_options policy_options;
    score_policy_options_init(&policy_options);
    policy_options.threads = s->threads;
    policy_options.instruction = "Check the sum and answer again.";
    score_policy *policy = NULL;
    if (!all_ranks(ok(score_policy_create(&config, 7, &policy_options, &policy), "score_policy_create"))) {
        score_policy_free(policy);
        return 1;
    }
    score_trainer *trainer = NULL;
    bool made;
    if (s->resume) {
        made = ok(score_trainer_resume(policy, s->resume, &trainer), "score_trainer_resume");
    } else {
        score_trainer_options options;
        score_trainer_options_init(&options);
        options.stage_i_steps = s->steps / 2 > 0 ? s->steps / 2 : 1;
        options.stage_ii_steps = 1000; /* the run decides how many steps it takes */
        options.samples_per_prompt = 4;
        options.max_new_tokens = 6;
        options.learning_rate = 1e-4f;
        options.seed = s->seed + (uint64_t)rank; /* each rank its own episodes */
        made = ok(score_trainer_create(policy, &options, &trainer), "score_trainer_create");
    }
    int status = 1;
    verifier_state verifier = {.fail_step = s->fail_step, .fail_here = rank == s->fail_rank};
    if (!all_ranks(made && ok(score_trainer_set_verifier(trainer, integer_verifier, &verifier),
                              "score_trainer_set_verifier")))
        goto done;
    int64_t completed = 0;
    if (!ok(score_trainer_progress(trainer, NULL, &completed), "score_trainer_progress")) goto done;
    if (s->resume) {
        /* The saved sampling stream is rank 0's: give each rank its own again. */
        uint64_t seed = s->seed + (uint64_t)rank + 1000003u * (uint64_t)completed;
        if (!all_ranks(ok(score_trainer_set_sampling_seed(trainer, seed), "score_trainer_set_sampling_seed"))) goto done;
        /* The shared stream where the saved run left it: its warm-up, then its steps' batches. */
        for (int64_t i = 0; i < (int64_t)SFT_STEPS * SFT_BATCH + completed * s->prompts; i++) next_random();
    } else if (!all_ranks(warm_up(trainer) && ok(score_trainer_reset_reference(trainer), "score_trainer_reset_reference"))) {
        goto done;
    }
    if (!broadcast_values(trainer)) {
        if (rank == 0) fprintf(stderr, "the replicas do not hold the same values\n");
        goto done;
    }
    status = train_steps(trainer, s, &verifier);
    if (status == 0 && s->save && rank == 0 && !ok(score_trainer_save(trainer, s->save), "score_trainer_save")) status = 1;
    if (!all_ranks(status == 0)) status = status ? status : 1;
    if (status == 0) {
        uint64_t checksum = 0;
        ok(score_trainer_checksum(trainer, &checksum), "score_trainer_checksum");
        ok(score_trainer_progress(trainer, NULL, &completed), "score_trainer_progress");
        printf("rank %d step %lld checksum %016llx\n", rank, (long long)completed, (unsigned long long)checksum);
    }
done:
    score_trainer_free(trainer);
    score_policy_free(policy);
    return status;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* whole lines, so that mpirun does not interleave ranks mid-line */
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    settings s = {.steps = 6, .prompts = 8, .threads = 1, .fail_rank = -1, .fail_step = -1, .seed = 1,
                  .other_shape_rank = -1};
    int status;
    if (!parse_arguments(argc, argv, &s)) {
        if (rank == 0) fprintf(stderr, "usage: mpi_train [--steps N] [--prompts P] [--threads T] [--seed S] "
                                       "[--save DIR] [--resume DIR] [--fail-rank R --fail-step S] "
                                       "[--other-shape-rank R] [--shape tiny]\n");
        status = 2;
    } else {
        status = run(&s);
    }
    MPI_Finalize();
    return status;
}
