/* ol_file — files opsledger writes for a person to keep (an archive export,
 * a replay's emitted events, a report written with --out): created owner-only
 * whatever the umask, as the state files are (SPEC 4: they hold the same
 * names, costs and amounts). */
#ifndef OL_FILE_H
#define OL_FILE_H

#include <stdio.h>

/* fopen(path, mode) for writing ("w" or "wb"): the file created or truncated
 * with mode 0600, an existing regular file's mode set to 0600 (a device or a
 * pipe, such as /dev/stdout, is left alone). NULL with errno set on failure.
 * The caller fcloses it. */
FILE *ol_fopen_private(const char *path, const char *mode);

/* the directory part of path into out ("." without a slash, "/" for a file
 * at the root) */
void ol_dirname(const char *path, char *out, size_t outlen);

#endif
