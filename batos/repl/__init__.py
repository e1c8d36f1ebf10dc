"""The interactive REPL: ``batos repl``.

* :mod:`batos.repl.app`: the prompt-toolkit session and :func:`run_repl`;
* :mod:`batos.repl.session`: evaluation (one transaction per input), output, pipe mode;
* :mod:`batos.repl.commands`: meta commands and :func:`register_command`;
* :mod:`batos.repl.completer`, :mod:`batos.repl.lexer`, :mod:`batos.repl.render`,
  :mod:`batos.repl.config`, :mod:`batos.repl.history`, :mod:`batos.repl.statements`.

Nothing heavy is imported here, so ``batos.repl.lexer`` loads fast as a pygments plugin.
"""
