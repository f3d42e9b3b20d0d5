/* What every C test shares: a failure counter and the CHECK / EXPECT / OK macros,
 * which report the file, the line and this thread's last error message. */
#ifndef HARDSTORE_TEST_CHECK_H
#define HARDSTORE_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

#include "hardstore.h"

static int failures = 0;

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                            \
    }                                                                        \
  } while (0)

#define EXPECT(call, code)                                                   \
  do {                                                                       \
    hardstore_result r_ = (call);                                            \
    if (r_ != (code)) {                                                      \
      char msg_[512];                                                        \
      size_t n_ = 0;                                                         \
      hardstore_last_error_message(msg_, sizeof msg_, &n_);                  \
      fprintf(stderr, "%s:%d: %s gave %s, expected %s (%s)\n", __FILE__,     \
              __LINE__, #call, hardstore_result_name(r_),                    \
              hardstore_result_name(code), msg_);                            \
      failures++;                                                            \
    }                                                                        \
  } while (0)

#define OK(call) EXPECT(call, HARDSTORE_OK)
#define S(lit) (const uint8_t *)(lit), strlen(lit)

#endif
