/*
 * Launcher of {{ cookiecutter.formal_name }} as a Linux system package.
 *
 * It does not embed Python: it replaces itself (execv, same PID, so signals
 * reach the app directly) with the system interpreter APP_PYTHON running in
 * isolated mode (-I: no PYTHON* variables, no user site; -S: no system
 * dist-packages) on <prefix>/lib/APP_NAME/boot.py, which puts the bundled app
 * and its packages on sys.path. <prefix> is found from /proc/self/exe, so an
 * unpacked package (dpkg-deb -x) runs from wherever it was unpacked.
 * sys.executable stays a real Python, which the app relies on to start its
 * watchdog helper (`python -I -S -c ...`).
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef APP_NAME
#error "APP_NAME must be defined"
#endif
#ifndef APP_PYTHON
#error "APP_PYTHON must be defined"
#endif

int main(int argc, char *argv[]) {
    char exe[PATH_MAX];
    char boot[PATH_MAX];
    if (realpath("/proc/self/exe", exe) == NULL) {
        fprintf(stderr, "%s: cannot find its own location: %s\n", APP_NAME, strerror(errno));
        return 127;
    }
    /* exe = <prefix>/bin/APP_NAME -> <prefix> */
    char *prefix = dirname(dirname(exe));
    int n = snprintf(boot, sizeof boot, "%s/lib/%s/boot.py", prefix, APP_NAME);
    if (n < 0 || (size_t)n >= sizeof boot) {
        fprintf(stderr, "%s: install path is too long: %s\n", APP_NAME, prefix);
        return 127;
    }

    char **args = calloc((size_t)argc + 4, sizeof *args);
    if (args == NULL) {
        fprintf(stderr, "%s: out of memory\n", APP_NAME);
        return 127;
    }
    int i = 0;
    args[i++] = APP_PYTHON;
    args[i++] = "-I";
    args[i++] = "-S";
    args[i++] = boot;
    for (int a = 1; a < argc; a++) {
        args[i++] = argv[a];
    }
    args[i] = NULL;

    execv(APP_PYTHON, args);
    fprintf(stderr,
            "%s: cannot start %s: %s\n"
            "hint: the package needs the system Python it was built for; "
            "reinstall it or run 'apt install %s'.\n",
            APP_NAME, APP_PYTHON, strerror(errno), strrchr(APP_PYTHON, '/') + 1);
    return 127;
}
