import sys

if sys.argv[1:2] == ["hook-impl"]:  # the git hooks: no CLI import (typer), one bare Python start
    from gitcfg.hook_impl import main as hook_main

    sys.exit(hook_main(sys.argv[2:]))

from gitcfg.cli import main

main()
