/*
 * self_correct.c — the shortest complete libscore program: a policy answers a prompt, reads the
 * self-correction instruction, and answers again.
 *
 *   self_correct [policy-folder] [prompt]
 *
 * With a folder (one written by score_policy_save or the score CLI) the policy is loaded from it;
 * without one (or with "-") a small policy with random weights is created, which answers
 * gibberish but shows the calls. The prompt defaults to "12+34=".
 *
 * Build from the repository root (LIB_DIR is the folder holding libscore.so):
 *   cc -std=c99 -Wall -Wextra -Iinclude examples/c/self_correct.c -L"$LIB_DIR" -lscore \
 *      -Wl,-rpath,"$LIB_DIR" -o self_correct
 */
#include "score.h"

#include <stdio.h>
#include <string.h>

/* Prints why a call failed. The status name is fetched first: score_last_error()'s text is only
   valid until the next score_* call. */
static int fail(const char *call, score_status status) {
    const char *name = score_status_string(status);
    fprintf(stderr, "%s failed: %s: %s\n", call, name, score_last_error());
    return 1;
}

/* Prints text in quotes, with control bytes escaped (an untrained model emits any byte). */
static void print_text(const char *label, const char *text) {
    printf("%-12s \"", label);
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c < 0x20 || *c == 0x7f || *c == '"' || *c == '\\') printf("\\x%02x", *c);
        else putchar(*c);
    }
    printf("\"\n");
}

int main(int argc, char **argv) {
    const char *folder = argc > 1 && strcmp(argv[1], "-") != 0 ? argv[1] : NULL;
    const char *prompt = argc > 2 ? argv[2] : "12+34=";

    /* A policy: loaded, or created with the default (tiny) shape from seed 42. */
    score_policy *policy = NULL;
    score_status status;
    if (folder) {
        status = score_policy_load(folder, NULL, &policy);
        if (status != SCORE_OK) return fail("score_policy_load", status);
    } else {
        score_model_config config;
        score_model_config_init(&config);
        status = score_policy_create(&config, 42, NULL, &policy);
        if (status != SCORE_OK) return fail("score_policy_create", status);
    }

    /* Two greedy attempts of at most 16 tokens each. */
    score_correct_options options;
    score_correct_options_init(&options);
    options.max_new_tokens = 16;
    score_correction *correction = NULL;
    status = score_self_correct(policy, prompt, &options, &correction);
    if (status != SCORE_OK) {
        fail("score_self_correct", status);
        score_policy_free(policy);
        return 1;
    }

    print_text("prompt", prompt);
    print_text("attempt 1", correction->attempt1);
    printf("%-12s %.4f\n", "confidence", correction->confidence);
    if (correction->revised) print_text("attempt 2", correction->attempt2);
    else printf("%-12s (not generated)\n", "attempt 2");
    printf("%-12s %s\n", "revised", !correction->revised ? "no"
                                    : strcmp(correction->attempt1, correction->attempt2) != 0 ? "yes, the answer changed"
                                                                                                : "yes, same answer");

    score_correction_free(correction);
    score_policy_free(policy);
    return 0;
}
