#!/bin/sh
# The image's ENTRYPOINT: runs the command (gunicorn, or `recommender ...`) as a non-root user.
#
# - Started as a non-root user (the image's default USER 10001, or `--user "$(id -u):$(id -g)"`
#   for a host directory): runs the command as is, after a warning if the models directory
#   is not writable (training, the events database and the impression secret need it).
# - Started as root (`--user 0`, or a runtime overriding USER): makes the models directory
#   usable, then drops privileges with setpriv (util-linux) and runs the command:
#     * owned by root and empty (a directory Docker just created for a bind mount, a fresh
#       volume from some drivers): chown it to 10001:10001;
#     * owned by root and not empty (written by an earlier run as root): chown -R it to
#       10001:10001, since nothing but root could use it otherwise;
#     * owned by 10001: nothing to do;
#     * owned by anyone else (a host user's own directory): left alone, and the command runs
#       as that owner (uid and gid of the directory), so the files stay the user's instead of
#       being taken over by 10001.
#   A read-only mount is never chowned.
# `exec` all the way down: gunicorn ends up as PID 1 and gets `docker stop`'s SIGTERM.
set -eu

APP_UID=10001
APP_GID=10001
models="${RECOMMENDER_MODELS_DIR:-/models}"

say() { echo "recommender-entrypoint: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
  if [ -d "$models" ] && [ ! -w "$models" ]; then
    say "warning: $models (owner uid $(stat -c %u "$models")) is not writable by uid $(id -u);" \
        "for a host directory run with --user \"\$(id -u):\$(id -g)\" (README, Container)"
  fi
  exec "$@"
fi

uid=$APP_UID
gid=$APP_GID
if [ -d "$models" ]; then
  owner=$(stat -c %u "$models")
  if [ "$owner" = 0 ]; then
    if [ ! -w "$models" ]; then
      say "warning: $models is owned by root and read-only; running as $uid:$gid anyway"
    elif [ -z "$(ls -A "$models")" ]; then
      chown "$uid:$gid" "$models"
    else
      say "$models is owned by root: chown -R $uid:$gid"
      chown -R "$uid:$gid" "$models"
    fi
  elif [ "$owner" != "$APP_UID" ]; then
    uid=$owner
    gid=$(stat -c %g "$models")
    say "$models belongs to uid $uid: running as $uid:$gid"
  fi
fi

if [ "$uid" = "$APP_UID" ]; then
  HOME=/app
else
  HOME=/
fi
export HOME
exec setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"
