/* ns_preload.c: runs a program as uid/gid 65534 in a private mount namespace whose /etc/ld.so.preload names given libraries. */
/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Setup that cannot be done here is not a failure of the code under test: the
 * test skips, and says why. */
static int skip(const char *what)
{
    printf("skip: %s: %s\n", what, strerror(errno));
    fflush(stdout);
    return 77;
}

/* /etc/ld.so.preload in this namespace only: a file bound over the real one, or,
 * where there is none to bind over, an overlay on /etc whose upper layer is a
 * tmpfs at scratch, so that the new file lands there. The real /etc is never
 * written. */
static int preload_file(const char *scratch, const char *libs)
{
    char upper[512], work[512], file[512], opts[1600];
    if (mount("tmpfs", scratch, "tmpfs", 0, "mode=0755") != 0)
        return skip("mount a tmpfs");
    snprintf(upper, sizeof upper, "%s/upper", scratch);
    snprintf(work, sizeof work, "%s/work", scratch);
    snprintf(file, sizeof file, "%s/ld.so.preload", scratch);
    if (access("/etc/ld.so.preload", F_OK) == 0) {
        int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || write(fd, libs, strlen(libs)) < 0 || close(fd) != 0)
            return skip("write the preload file");
        if (mount(file, "/etc/ld.so.preload", NULL, MS_BIND, NULL) != 0)
            return skip("bind-mount over /etc/ld.so.preload");
        return 0;
    }
    snprintf(opts, sizeof opts, "lowerdir=/etc,upperdir=%s,workdir=%s", upper, work);
    if (mkdir(upper, 0755) != 0 || mkdir(work, 0755) != 0)
        return skip("make the overlay's directories");
    if (mount("overlay", "/etc", "overlay", 0, opts) != 0)
        return skip("mount an overlay on /etc (there is no /etc/ld.so.preload to bind over)");
    int fd = open("/etc/ld.so.preload", O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0 || write(fd, libs, strlen(libs)) < 0 || close(fd) != 0)
        return skip("write /etc/ld.so.preload in the overlay");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: ns_preload SCRATCH_DIR LIBRARIES PROGRAM [ARG...]\n");
        return 2;
    }
    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1) {
        errno = EPERM;
        return skip("no_new_privs is set, so no setgid program gains a group here");
    }
    if (unshare(CLONE_NEWNS) != 0)
        return skip("unshare(CLONE_NEWNS)");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return skip("make the mounts private");
    int r = preload_file(argv[1], argv[2]);
    if (r != 0)
        return r;
    if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
        return skip("become uid and gid 65534");
    execv(argv[3], argv + 3);
    perror("execv");
    return 127;
}
