// score.h must compile cleanly as C++17 too (built with -Wall -Wextra -Werror by Tests/run.sh).
#include "score.h"

int main() { return score_version_number() > 0 ? 0 : 1; }
