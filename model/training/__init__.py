"""One training run, in three modules: what it is asked to do (:mod:`.config`), the loop
that does it (:mod:`.loop`) and what it reports (:mod:`.result`).

:mod:`model.train` is the public entry and re-exports their names.
"""
