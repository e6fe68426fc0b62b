#!/bin/sh
# Entrypoint of the redis stand-in (see Dockerfile): the official image's contract, re-written.
set -e
case "${1:-}" in
    -* | *.conf) set -- redis-server "$@" ;;
esac
if [ "${1:-}" = redis-server ]; then
    # No config file given: protected mode off, as in the official build.
    case "${2:-}" in
        *.conf) ;;
        *) case " $* " in *" --protected-mode "*) ;; *) set -- "$@" --protected-mode no ;; esac ;;
    esac
    if [ "$(id -u)" = 0 ]; then
        find . \! -user redis -exec chown redis '{}' +
        exec setpriv --reuid=redis --regid=redis --init-groups "$@"
    fi
fi
exec "$@"
