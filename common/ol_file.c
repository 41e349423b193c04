/* ol_file — see ol_file.h. */
#include "ol_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void ol_dirname(const char *path, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", path);
    char *slash = strrchr(out, '/');
    if (!slash)
        snprintf(out, outlen, ".");
    else if (slash == out)
        out[1] = '\0';
    else
        *slash = '\0';
}

FILE *ol_fopen_private(const char *path, const char *mode)
{
    struct stat sb;
    /* not O_TRUNC: the mode is made private before anything is cut, so a
     * file this user may write but not chmod is refused, not emptied */
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return NULL;
    FILE *f = NULL;
    /* a regular file that was there before keeps its mode otherwise; a
     * device or a pipe (--out /dev/stdout) is left as it is */
    if (fstat(fd, &sb) == 0 &&
        (!S_ISREG(sb.st_mode) || (fchmod(fd, 0600) == 0 && ftruncate(fd, 0) == 0)))
        f = fdopen(fd, mode);
    if (!f) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return f;
}
