/* Prints the size of every public struct of score.h, one "struct NAME SIZE" line each, for the
   ABI check (Tests/CABI/abi_check.sh). */
#include <stdio.h>

#include "score.h"

#define SIZE(name) printf("struct %s %zu\n", #name, sizeof(name))

int main(void) {
    SIZE(score_model_config);
    SIZE(score_chat_template);
    SIZE(score_policy_options);
    SIZE(score_policy_info);
    SIZE(score_sampling_options);
    SIZE(score_correct_options);
    SIZE(score_correction);
    SIZE(score_verify_item);
    SIZE(score_trainer_options);
    SIZE(score_step_stats);
    SIZE(score_eval_result);
    SIZE(score_sft_example);
    return 0;
}
