"""A small audit volume of its own for the tests that fill one: a tmpfs
owned by the run-time user, mounted by the test (as root) and unmounted
whatever happens (lazily, should httpd still hold it)."""

import contextlib
import errno
import os
import subprocess
import tempfile

from .env import RUN_USER


@contextlib.contextmanager
def small_volume(size="256k"):
    """A tmpfs of @size owned by the run-time user (mode 0750), as an
    audit directory on its own volume; unmounted and removed after."""
    mnt = tempfile.mkdtemp(prefix="mod_verify-vol-")
    os.chmod(mnt, 0o755)
    uid = subprocess.run(["id", "-u", RUN_USER], check=True,
                         capture_output=True, text=True).stdout.strip()
    subprocess.run(["mount", "-t", "tmpfs", "-o",
                    "size=%s,mode=0750,uid=%s,gid=%s" % (size, uid, uid),
                    "tmpfs", mnt], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", mnt])
        os.rmdir(mnt)


def fill(mnt):
    """Take every free block of the volume (root has no reserve on
    tmpfs): big writes, then small ones for the last blocks; returns the
    filler's path."""
    path = os.path.join(mnt, "filler")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        for chunk in (65536, 512):
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
    finally:
        os.close(fd)
    return path
