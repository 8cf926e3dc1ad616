"""`gitcfg ui` and `gitcfg report`: the runs as a page (docs/ui.md).

`data.py` builds the JSON documents (one function per endpoint) from the Api, `server.py` serves
them and the page (standard library only, read-only, local), `page.py` holds the page's files and
the escaped data tag, `report.py` writes the page as one self-contained file. The page itself is
`static/` (HTML, vanilla JavaScript, the vendored chart library). No typer or rich here: the
commands are in cli/ui.py.
"""
