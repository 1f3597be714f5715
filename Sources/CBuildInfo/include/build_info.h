#ifndef LSTMKIT_BUILD_INFO_H
#define LSTMKIT_BUILD_INFO_H

/// The git revision the binary was built from: `-DLSTMKIT_REVISION="…"` (scripts/package sets it),
/// else "source build".
const char *lstmkit_build_revision(void);

#endif
