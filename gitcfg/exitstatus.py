"""The status the interpreter exits with, which atexit handlers are not told.

After an uncaught SystemExit, Python runs the atexit handlers without the exit status, so a run
finished at exit would take `raise SystemExit(3)` for a clean exit. `install()` makes the
SystemExit that Python code raises an instance of `SystemExit` subclass (named `SystemExit`, so
`except SystemExit`, isinstance, tracebacks and pickles behave as before) whose `code` attribute
notes when the interpreter itself reads it to exit. CPython's exit handling (_Py_HandleSystemExit,
the same in 3.10 to 3.13) reads `code` with no Python frame left on the stack, which no script or
library can do; a SystemExit that the script catches and survives is never read that way, so it
is never taken for the exit status (even when the script reads `e.code`).

`import gitcfg` installs it, not track(): `raise SystemExit(main())` looks the name up before
main() starts a run. install() puts the subclass in:
- builtins.SystemExit: `raise SystemExit(n)` anywhere, and exit()/quit() (site's Quitter raises
  through the builtins name);
- sys.exit, every module's `exit` that is the interpreter's sys.exit (`from sys import exit`
  above `import gitcfg`), and any other name for it in the script (`from sys import exit as die`);
- the bases of the SystemExit subclasses defined before (`class Stop(SystemExit)`).

What stays the interpreter's own SystemExit: one raised by C code (an extension module,
_thread.exit()), through the interpreter's sys.exit kept before `import gitcfg` in another module
under another name than `exit`, in a container, a closure or a default argument, or through the
class kept under another name before `import gitcfg` (`Exit = SystemExit`). Its exit is not seen (the run is recorded as finished, exit 0), and an
`except SystemExit` that runs after `import gitcfg` does not catch it (the name means the
subclass there), nor does pickle take it.
"""

from __future__ import annotations

import builtins
import os
import sys
import types
from typing import Any, NoReturn

# The interpreter's class, also if this module is imported again after install().
_SYSTEM_EXIT: type[BaseException] = builtins.SystemExit.__mro__[-3]
_CODE = _SYSTEM_EXIT.__dict__["code"]  # the C member holding SystemExit.code
_INTERPRETER_EXIT = sys.exit if isinstance(sys.exit, types.BuiltinFunctionType) else None
_HEAP_TYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class defined in Python, whose bases can change

_exiting: list[BaseException] = []  # the SystemExit whose code the interpreter read to exit


class RecordedSystemExit(SystemExit):
    """SystemExit, noting when the interpreter reads `code` to exit (see the module docstring)."""

    __slots__ = ()

    @property
    def code(self) -> Any:
        code = _CODE.__get__(self, type(self))
        try:
            sys._getframe(1)
        except ValueError:  # no Python caller: the interpreter is exiting with this code
            _exiting.append(self)
        return code

    @code.setter
    def code(self, value: Any) -> None:
        _CODE.__set__(self, value)


RecordedSystemExit.__name__ = RecordedSystemExit.__qualname__ = "SystemExit"
RecordedSystemExit.__module__ = "builtins"  # pickles and prints as builtins.SystemExit


def exiting_with() -> BaseException | None:
    """The SystemExit the interpreter is exiting with, once it has read its code (in atexit)."""
    return _exiting[-1] if _exiting else None


def install() -> None:
    """Make the SystemExit raised from Python code report the exit status; safe to call again.

    `GITCFG_EXIT_STATUS=0` in the environment opts out: nothing is replaced, and a run finished at
    interpreter exit after `raise SystemExit(n)` is then recorded as exit 0.
    """
    if os.environ.get("GITCFG_EXIT_STATUS", "").strip().lower() in ("0", "false", "no", "off"):
        return
    if builtins.SystemExit is not RecordedSystemExit:
        builtins.SystemExit = RecordedSystemExit  # type: ignore[misc]
        sys.exit = _exit_through(sys.exit)
    if _INTERPRETER_EXIT is not None:
        for name, module in list(sys.modules.items()):
            if isinstance(module, types.ModuleType) and module is not sys:
                _rebind_exit(module.__dict__, every_name=name in ("__main__", "__mp_main__"))
    for cls in _SYSTEM_EXIT.__subclasses__():
        if cls is RecordedSystemExit or not cls.__flags__ & _HEAP_TYPE:
            continue
        try:
            cls.__bases__ = tuple(
                RecordedSystemExit if b is _SYSTEM_EXIT else b for b in cls.__bases__
            )
        except TypeError:  # a layout the subclass cannot take: it stays the interpreter's
            pass


def _rebind_exit(namespace: dict[str, Any], every_name: bool) -> None:
    """Point names bound to the interpreter's sys.exit at ours: `exit` (`from sys import exit`),
    or in the script every name (`from sys import exit as die`; ~0.1 ms for all modules' `exit`,
    ~10 ms for every name of every module, so other modules' aliases are left alone)."""
    if not every_name:
        if namespace.get("exit") is _INTERPRETER_EXIT:
            namespace["exit"] = sys.exit
        return
    for key, value in list(namespace.items()):
        if value is _INTERPRETER_EXIT:
            namespace[key] = sys.exit


def _exit_through(previous: Any) -> Any:
    def exit(status: object = None, /) -> NoReturn:
        """Exit from Python by raising SystemExit(status) (sys.exit, as installed by gitcfg)."""
        try:
            previous(status)  # the interpreter's sys.exit, or a wrapper installed before ours
        except _SYSTEM_EXIT as e:
            if isinstance(e, RecordedSystemExit):
                raise
            error = RecordedSystemExit(*e.args)
        else:
            error = RecordedSystemExit(status)
        raise error

    return exit
