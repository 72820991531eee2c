"""socat's lock files (xiolockfile.c): -L/-W on the command line and the
lockfile=/waitlock= address options take a lock the same way."""
import os

from .errors import SocatError
from .log import LOG


def getlock(path: str) -> bool:
    """xiogetlock(): a private file with the pid, linked to the lock name.

    True when the lock was taken, False when the name exists already."""
    import tempfile
    from .versions import ACTIVE
    if os.path.lexists(path):
        return False
    text, mode = ACTIVE.lockfile_contents
    try:
        fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".",
                                   dir=os.path.dirname(path) or ".")
    except OSError as e:
        raise SocatError(f'mkstemp("{path}.XXXXXX"): {e.strerror}') from None
    try:
        os.write(fd, text.format(pid=os.getpid()).encode())
        os.fchmod(fd, mode)
        os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError as e:
            raise SocatError(f'link("{tmp}", "{path}"): {e.strerror}') from None
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass
    return True


def take(path: str, wait: bool) -> None:
    """xiolock(): take the lock, or fail (-L, lockfile=), or wait for it a
    second at a time (-W, waitlock=: the first wait a notice, then info)."""
    import time
    from .log import INFO, NOTICE
    level = NOTICE
    while not getlock(path):
        if not wait:
            raise SocatError(f'could not obtain lock "{path}"')
        LOG.msg(level, f'waiting for lock "{path}"')
        level = INFO
        time.sleep(1.0)
    LOG.info(f'obtained lock "{path}"')
