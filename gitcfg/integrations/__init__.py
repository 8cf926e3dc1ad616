"""Framework integrations: one module per framework, each imported only when the user names it.

`import gitcfg` never imports this package's modules (nor their frameworks):
`from gitcfg.integrations.lightning import GitcfgLogger` is the first import of Lightning's side.
Each module uses only the public `gitcfg` API (`track`, `Run`), so a framework's loop records what a
script calling `gitcfg.track()` itself would. The reference for each framework's hooks and their call
order is docs/integrations.md.
"""
