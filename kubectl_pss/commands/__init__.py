"""One module per subcommand, each in kubectl's Complete/Validate/Run shape.

Every module defines ``add_arguments(parser)``, ``complete(args) -> Options``,
``validate(options)`` (raises UsageError: exit 2) and ``run(options) -> exit code``.
"""
