// The header must compile as C++ too (and link: every declared function exists).
#include "hardstore.h"

#include <cstdio>

int main() {
  hardstore_options *o = nullptr;
  if (hardstore_options_new(&o) != HARDSTORE_OK) return 1;
  hardstore_options_free(o);
  std::printf("header_check: ok (hardstore %s)\n", hardstore_version());
  return 0;
}
