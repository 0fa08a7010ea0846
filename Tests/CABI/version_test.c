/* Links libscore.so through score.h and checks the version query agrees with the header. */
#include "score.h"

#include <stdio.h>
#include <string.h>

int main(void) {
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", SCORE_VERSION_MAJOR, SCORE_VERSION_MINOR, SCORE_VERSION_PATCH);
    const char *version = score_version_string();
    if (version == NULL || strcmp(version, expected) != 0) {
        fprintf(stderr, "score_version_string: got %s, header says %s\n", version ? version : "(null)", expected);
        return 1;
    }
    if (score_version_number() != SCORE_VERSION_NUMBER) {
        fprintf(stderr, "score_version_number: got %d, header says %d\n", score_version_number(), SCORE_VERSION_NUMBER);
        return 1;
    }
    printf("libscore %s\n", version);
    return 0;
}
