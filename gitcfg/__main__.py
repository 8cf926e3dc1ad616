from gitcfg.cli import main

main()
