#include "build_info.h"

#ifndef LSTMKIT_REVISION
#define LSTMKIT_REVISION "source build"
#endif

const char *lstmkit_build_revision(void) { return LSTMKIT_REVISION; }
