#!/usr/bin/python3
"""sandbox_exec.py UNIT COMMAND [ARG...]: runs COMMAND under what the systemd
unit UNIT's MemoryDenyWriteExecute= and SystemCallFilter= enforce, for a test
where no systemd runs (test_deb_package.sh: the relay through a whole login).

- MemoryDenyWriteExecute=yes: the seccomp rules systemd 252 (Debian 12)
  loads for it (seccomp_memory_deny_write_execute): mmap of memory both
  writable and executable, mprotect/pkey_mprotect adding PROT_EXEC, shmat
  with SHM_EXEC fail with EPERM. A filter of its own, as in systemd; the
  kernel applies the stricter answer of the two.
- SystemCallFilter=: the allow list (the groups expanded by
  `systemd-analyze syscall-filter`, the way systemd expands them) minus every
  `~` line, SystemCallErrorNumber= for the rest; loaded with libseccomp.

The caller has set no_new_privs (setpriv --no-new-privs), as the unit's
NoNewPrivileges= does, and switched to the service's user already."""
import errno
import os
import subprocess
import sys

import seccomp

PROT_WRITE, PROT_EXEC = 0x2, 0x4
SHM_EXEC = 0o100000


def unit_settings(path):
    allow, deny, err_name, mdwe = None, set(), None, False
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("SystemCallFilter="):
                value = line.split("=", 1)[1].strip()
                if value.startswith("~"):
                    deny.update(value[1:].split())
                else:
                    allow = (allow or set()) | set(value.split())
            elif line.startswith("SystemCallErrorNumber="):
                err_name = line.split("=", 1)[1].strip()
            elif line.startswith("MemoryDenyWriteExecute="):
                mdwe = line.split("=", 1)[1].strip() in ("yes", "true", "1", "on")
    return allow, deny, err_name, mdwe


def expand(names, seen=None):
    """Syscall names of a list of names and @groups, groups recursively."""
    seen = set() if seen is None else seen
    out = set()
    for name in names:
        if not name.startswith("@"):
            out.add(name)
            continue
        if name in seen:
            continue
        seen.add(name)
        text = subprocess.run(["systemd-analyze", "syscall-filter", name], check=True,
                              capture_output=True, text=True).stdout
        members = [l.strip() for l in text.splitlines()[1:] if l.strip() and not l.strip().startswith("#")]
        out |= expand(members, seen)
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: sandbox_exec.py UNIT COMMAND [ARG...]")
    allow, deny, err_name, mdwe = unit_settings(sys.argv[1])
    if mdwe:
        f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        wx = PROT_WRITE | PROT_EXEC
        f.add_rule(seccomp.ERRNO(errno.EPERM), "mmap", seccomp.Arg(2, seccomp.MASKED_EQ, wx, wx))
        for name in ("mprotect", "pkey_mprotect"):
            f.add_rule(seccomp.ERRNO(errno.EPERM), name, seccomp.Arg(2, seccomp.MASKED_EQ, PROT_EXEC, PROT_EXEC))
        f.add_rule(seccomp.ERRNO(errno.EPERM), "shmat", seccomp.Arg(2, seccomp.MASKED_EQ, SHM_EXEC, SHM_EXEC))
        f.load()
    if allow is not None:
        action = seccomp.ERRNO(getattr(errno, err_name)) if err_name else seccomp.KILL_PROCESS
        f = seccomp.SyscallFilter(defaction=action)
        for name in sorted(expand(allow) - expand(deny)):
            try:
                f.add_rule(seccomp.ALLOW, name)
            except (RuntimeError, ValueError):
                pass  # not a system call on this architecture (systemd skips it too)
        f.load()
    os.execvp(sys.argv[2], sys.argv[2:])


main()
