"""gunicorn settings for AML Salvage: `gunicorn -c gunicorn.conf.py` (see README, Deploying).

One knowledge base per deployment. The master imports the application before forking (``preload_app``):
aml_salvage/wsgi.py loads and validates the knowledge base there, once, and every worker inherits that
copy. A worker respawned later (a crash, ``max_requests``, a kill) is forked from the master with the same
knowledge base and never reads the files, so a file changed under a running server can neither take the
service down nor make two workers serve different versions.

A deliberate reload: SIGHUP to the master (``systemctl reload``). ``on_reload`` below validates the files
as they are now; valid, they replace the pinned knowledge base and the new workers serve them; invalid,
the reload is refused and logged, and the new workers serve the knowledge base that was already loaded.

Several instances on one host (one per release during an upgrade, or one per port): each sets
AML_SALVAGE_INSTANCE (its name: process title, pid file, control socket) and AML_SALVAGE_BIND, and they
share nothing on disk. Pid file and control socket live in the run directory (systemd's
RuntimeDirectory=, i.e. $RUNTIME_DIRECTORY, or AML_SALVAGE_RUN_DIR); without one there is neither, so two
instances cannot collide on gunicorn's default control socket path ($XDG_RUNTIME_DIR/gunicorn.ctl).

Orphaned workers: a sync worker notices that its master died only when it finds no connection waiting, so
under load it would go on serving without a master. ``post_fork`` asks Linux to send each worker SIGTERM
when its master dies (PR_SET_PDEATHSIG): it finishes the request in hand and exits.

Environment (all optional): AML_SALVAGE_BIND (127.0.0.1:8000), AML_SALVAGE_WORKERS (CPU cores + 1),
AML_SALVAGE_INSTANCE (aml-salvage), AML_SALVAGE_RUN_DIR. Command-line options override these.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import re
import signal
import sys

_INSTANCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _refuse(message: str) -> None:
    # SystemExit with a text: gunicorn prints it and stops, without a traceback.
    raise SystemExit(f"gunicorn.conf.py: {message}")


# --- this instance ------------------------------------------------------------------------------------------
instance = _env("AML_SALVAGE_INSTANCE", "aml-salvage")
if not _INSTANCE.fullmatch(instance):
    _refuse(f"AML_SALVAGE_INSTANCE must be letters, digits, '.', '_' or '-' (at most 64), not {instance!r}")
proc_name = instance

wsgi_app = "aml_salvage.wsgi:application"
bind = [_env("AML_SALVAGE_BIND", "127.0.0.1:8000")]
try:
    workers = int(_env("AML_SALVAGE_WORKERS", str(multiprocessing.cpu_count() + 1)))
except ValueError:
    _refuse(f"AML_SALVAGE_WORKERS must be a whole number, not {os.environ['AML_SALVAGE_WORKERS']!r}")
if workers < 1:
    _refuse("AML_SALVAGE_WORKERS must be at least 1")

run_dir = os.environ.get("AML_SALVAGE_RUN_DIR") or os.environ.get("RUNTIME_DIRECTORY") or ""
if run_dir:
    run_dir = os.path.abspath(run_dir.split(":")[0])  # systemd lists several directories with ':'
    os.makedirs(run_dir, mode=0o700, exist_ok=True)
    pidfile = os.path.join(run_dir, f"{instance}.pid")
    control_socket = os.path.join(run_dir, f"{instance}.ctl")
else:
    pidfile = None
    control_socket_disable = True

# Heartbeat files in memory (not on a disk that may stall), each worker its own file.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None

# --- one knowledge base per deployment ----------------------------------------------------------------------
preload_app = True

# --- logging: the access log never holds query strings (%(U)s is the path alone) -----------------------------
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


# --- hooks --------------------------------------------------------------------------------------------------
def on_reload(server) -> None:
    """SIGHUP, in the master, before the new workers are forked: validate the knowledge-base files and
    switch only when they are valid (services.knowledge_reload logs either way)."""
    from aml_salvage import services

    try:
        stamp = services.knowledge_reload()
    except services.KnowledgeError:
        server.log.error("Knowledge base reload refused: still serving %s", services.knowledge_stamp())
    else:
        server.log.info("Knowledge base %s: new workers serve it", stamp)


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def post_fork(server, worker) -> None:
    """In the new worker: SIGTERM when the master dies, so that no orphan keeps serving."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            server.log.warning("prctl(PR_SET_PDEATHSIG) failed (errno %d): an orphaned worker stops only when "
                               "idle", ctypes.get_errno())
    if os.getppid() != worker.ppid:  # the master died before the line above took effect
        os._exit(0)
