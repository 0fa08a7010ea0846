/* The tiny model of the C tests: vocab 320, width 32, 2 layers, 2 heads over 1 key/value head,
   MLP 64. The context of 96 tokens fits a short prompt, the default instruction and two attempts
   of the default 16. */
#ifndef SCORE_TESTS_TINY_CONFIG_H
#define SCORE_TESTS_TINY_CONFIG_H

#include "score.h"

static score_model_config tiny_config(void) {
    score_model_config config;
    score_model_config_init(&config);
    config.vocab_size = 320;
    config.hidden_size = 32;
    config.num_layers = 2;
    config.num_heads = 2;
    config.num_kv_heads = 1;
    config.intermediate_size = 64;
    config.max_seq_len = 96;
    return config;
}

#endif
