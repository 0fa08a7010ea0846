/*
 * score.h — the C interface of libscore (SCoRe self-correction training on a CPU).
 *
 * This header is the stable contract of libscore.so. It depends only on the C standard headers
 * below. Every symbol starts with score_ / SCORE_.
 *
 * Status: the version query is exported; handles, training and verifier callbacks arrive with
 * the C API work and will be documented here.
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

#define SCORE_VERSION_MAJOR 0
#define SCORE_VERSION_MINOR 1
#define SCORE_VERSION_PATCH 0
/* MAJOR * 10000 + MINOR * 100 + PATCH, as score_version_number() returns it. */
#define SCORE_VERSION_NUMBER (SCORE_VERSION_MAJOR * 10000 + SCORE_VERSION_MINOR * 100 + SCORE_VERSION_PATCH)

/* The library's version as "MAJOR.MINOR.PATCH"; a static string owned by the library, never NULL. */
SCORE_API const char *score_version_string(void);

/* The library's version as MAJOR * 10000 + MINOR * 100 + PATCH; compare with SCORE_VERSION_NUMBER. */
SCORE_API int32_t score_version_number(void);

#ifdef __cplusplus
}
#endif

#endif /* SCORE_H */
